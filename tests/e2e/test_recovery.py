"""A shop whose PostgreSQL or NATS is SIGKILLed (and restarted by `agora up`) serves again on its
own, and no checkout is lost: the order awaiting payment before the kill and one placed after it
are both paid, their stock committed, nothing dead-lettered (issue 14). Runs after the other
end-to-end modules, against the same stack."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import httpx
import nats
import pytest
from agora_stack import Stack
from checkout_support import eventually, key, new_variant, order_status, pay, place_order, stock

from agora.platform.bus.dead_letters import list_dead_letters

RECOVERY_TIMEOUT_S = 60


def serving_again_after(stack: Stack, since: float) -> float:
    """Seconds from `since` until the shop takes a new cart again."""
    deadline = since + RECOVERY_TIMEOUT_S
    with stack.client(admin=False) as guest:
        while True:
            try:
                created = guest.post("/v1/carts", json={"currency": "EUR", "idempotencyKey": key()})
                if created.status_code == 200:
                    return time.monotonic() - since
                assert created.status_code == 503, created.text  # retryable, never a 500
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the shop did not serve again"
            time.sleep(0.2)


def paid(http: httpx.Client, order: dict[str, Any]) -> None:
    """Pay the order in full (retrying while the shop still recovers) and see it PAID."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while (answer := pay(http, order, "PAY_FULL")).status_code == 503:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text
    order_status(http, order, "PAID")


def dead_letters(stack: Stack) -> list[Any]:
    async def read() -> list[Any]:
        connection = await nats.connect(f"nats://127.0.0.1:{stack.env['AGORA_NATS_PORT']}")
        try:
            return await list_dead_letters(connection.jetstream())
        finally:
            await connection.close()

    return asyncio.run(read())


@pytest.mark.parametrize("infrastructure", ["postgres", "nats"])
def test_a_killed_infrastructure_process_loses_no_checkout(
    stack: Stack, infrastructure: str, record_property: Any
) -> None:
    with stack.client() as http:
        variant = new_variant(http, on_hand=10)
        before = place_order(http, variant, quantity=1)
        process = stack.process_row(infrastructure)

        os.kill(process["pid"], signal.SIGKILL)
        killed_at = time.monotonic()
        recovered_in = serving_again_after(stack, killed_at)

        record_property(f"{infrastructure}_recovered_in_s", round(recovered_in, 1))
        paid(http, before)
        after = place_order(http, variant, quantity=2)
        paid(http, after)
        # Paid orders commit their stock at the catalog (an event after PAID).
        eventually(lambda: stock(http, variant), lambda level: level["reserved"] == 0)
        assert stock(http, variant) == {"onHand": 7, "reserved": 0}

    restarted = stack.process_row(infrastructure)
    assert restarted["pid"] != process["pid"]
    assert restarted["exit_signal"] == "SIGKILL"
    assert dead_letters(stack) == []
