"""Crashes in the middle of the checkout saga: orders or payments, running as real processes,
is SIGKILLed mid-flight and started again; every order still ends where it should, with one
invoice each, one `orders.order.paid` event each and its stock committed exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from crash_support import CrashWorld, crash_world, envelopes_on
from orders_support import eventually, product, ready_cart, stock
from saga_support import dev_pay, invoices_of, order_in, place

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.orders.events import ORDER_PAID, STREAM

ORDERS_PER_SCENARIO = 8
SAGA_TIMEOUT_S = 30.0
# An event the killed process had fetched but not acked comes back only after the consumer's
# ack wait (30 s, the EventConsumer default), counted from its delivery before the kill.
REDELIVERY_TIMEOUT_S = 30.0 + 15.0


@pytest.fixture(scope="module")
async def world(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CrashWorld]:
    async with crash_world(database_url, Path(tmp_path_factory.mktemp("crash"))) as running:
        yield running


async def placed_orders(world: CrashWorld, on_hand: int, count: int) -> tuple[str, list[pb.Order]]:
    """`count` orders of one unit each of a new variant with `on_hand` in stock, placed at
    once: (variant, orders)."""
    product_id, variant_id = await product(world.catalog, on_hand=on_hand)
    carts = await asyncio.gather(
        *(ready_cart(world.orders, product_id, variant_id) for _ in range(count))
    )
    return variant_id, list(await asyncio.gather(*(place(world.orders, c) for c in carts)))


async def all_awaiting_payment(
    world: CrashWorld, orders: list[pb.Order], timeout_s: float = SAGA_TIMEOUT_S
) -> list[pb.Order]:
    return list(
        await asyncio.gather(
            *(
                order_in(world.orders, o.id, pb.ORDER_STATUS_AWAITING_PAYMENT, timeout_s)
                for o in orders
            )
        )
    )


async def all_paid(world: CrashWorld, orders: list[pb.Order]) -> list[pb.Order]:
    return list(
        await asyncio.gather(
            *(
                order_in(world.orders, o.id, pb.ORDER_STATUS_PAID, timeout_s=SAGA_TIMEOUT_S)
                for o in orders
            )
        )
    )


async def pay_all(world: CrashWorld, waiting: list[pb.Order]) -> None:
    paid = await asyncio.gather(
        *(dev_pay(world.payments, o.invoice_id, ppb.DEV_PAY_ACTION_PAY_FULL) for o in waiting)
    )
    assert {p.invoice.status for p in paid} == {ppb.INVOICE_STATUS_SETTLED}


async def stock_settles_at(world: CrashWorld, variant_id: str, on_hand: int) -> None:
    async def settled() -> bool:
        current = await stock(world.catalog, variant_id)
        assert current.on_hand >= 0
        assert current.reserved >= 0
        return (current.on_hand, current.reserved) == (on_hand, 0)

    await eventually(settled, timeout_s=SAGA_TIMEOUT_S)


async def test_orders_killed_while_invoicing_gives_every_order_exactly_one_invoice(
    world: CrashWorld,
) -> None:
    variant_id, orders = await placed_orders(world, on_hand=20, count=ORDERS_PER_SCENARIO)
    # Placed (stock reserved, `orders.order.placed` in the outbox), invoices being made: kill.
    await world.orders_process.restart_after_kill()

    waiting = await all_awaiting_payment(world, orders, REDELIVERY_TIMEOUT_S)
    for order in waiting:
        invoices = await invoices_of(world.payments, order.id)
        assert [i.id for i in invoices] == [order.invoice_id], order.id
    held = await stock(world.catalog, variant_id)
    assert (held.on_hand, held.reserved) == (20, ORDERS_PER_SCENARIO)

    await pay_all(world, waiting)
    await all_paid(world, orders)
    await stock_settles_at(world, variant_id, on_hand=20 - ORDERS_PER_SCENARIO)


async def test_payments_killed_before_relaying_settlements_pays_every_order_once(
    world: CrashWorld,
) -> None:
    variant_id, orders = await placed_orders(world, on_hand=20, count=ORDERS_PER_SCENARIO)
    waiting = await all_awaiting_payment(world, orders)
    await pay_all(world, waiting)
    # Settled and committed at payments; `payments.invoice.settled` maybe not yet relayed: kill.
    await world.payments_process.restart_after_kill()

    paid = await all_paid(world, orders)
    assert {o.invoice_id for o in paid} == {o.invoice_id for o in waiting}
    await stock_settles_at(world, variant_id, on_hand=20 - ORDERS_PER_SCENARIO)
    paid_events = Counter(
        e.aggregate_id for e in await envelopes_on(world.nats_url, STREAM, ORDER_PAID)
    )
    assert {o.id: paid_events[o.id] for o in orders} == {o.id: 1 for o in orders}
