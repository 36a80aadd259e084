"""Tools of the admin operations' browser tests: accounts with a role of the test's own, a staff
member's 2FA enrolled through the admin sign-in, a product of the test's own, a crypto invoice
credited by payments for a transfer the chain never saw, and a page opened again until it shows
(or stops showing) something."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import pyotp
from agora_stack import Stack
from checkout_support import key, new_variant, ok
from crypto_checkout_support import place_order_paying
from playwright.sync_api import Page, expect
from web_dashboard_support import create_user

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.chain.v1 import events_pb2 as cev
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.relay import MSG_ID
from agora.platform.rpc.timestamps import timestamp

TRANSFER_DETECTED = "chain.transfer.detected"


def account_with_role(stack: Stack, permissions: list[str]) -> tuple[str, str]:
    """A new account whose only role is one of exactly `permissions` (created through the API
    for the test): its email and password."""
    role = f"ops-{uuid.uuid4().hex[:10]}"
    with stack.client() as admin:
        ok(
            admin.post(
                "/v1/auth/roles",
                json={"idempotencyKey": key(), "name": role, "permissions": permissions},
            )
        )
    return create_user(stack, role)


def enrol_staff_2fa(page: Page, email: str, password: str) -> str:
    """A staff account's first admin sign-in, which enrols its TOTP: the secret."""
    page.goto("/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    # The previous step's code (still accepted): the next sign-in may use the current one.
    page.get_by_label("Code from your authenticator app").fill(
        pyotp.TOTP(secret).at(time.time() - 30)
    )
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in is on")
    return secret


def own_product(staff: httpx.Client, title: str) -> dict[str, str]:
    """A published product titled `title`, one variant in stock (through the API): its id and
    slug."""
    variant = new_variant(staff, on_hand=4, title=title)
    return {"id": variant["productId"], "slug": variant["productSlug"]}


def usdt_invoice(stack: Stack) -> dict[str, Any]:
    """A guest's order paying in USDT: its invoice's payment options (deposit address, token,
    amount in base units)."""
    with stack.client() as staff, stack.client(admin=False) as guest:
        order = place_order_paying(guest, new_variant(staff), "USDT", quantity=1)
        options: dict[str, Any] = ok(
            guest.get(f"/v1/chain/invoices/{order['invoiceId']}/payment-options")
        )
    return options


def credit_without_transfer(stack: Stack, options: dict[str, Any]) -> str:
    """payments told, by a `chain.transfer.detected` no watcher sent, of a transfer paying the
    invoice in full that the chain does not hold: the payment's reference."""
    tx_hash = "0x" + uuid.uuid4().hex * 2
    chain_id = int(options["chainId"])
    reference = f"{chain_id}:{tx_hash}:0"
    token = options["token"]
    transfer = cpb.Transfer(
        chain_id=chain_id,
        tx_hash=tx_hash,
        log_index=0,
        block_number=1,
        block_hash="0x" + "00" * 32,
        kind=cpb.TRANSFER_KIND_DEPOSIT,
        token_address=token["address"].lower(),
        symbol=token["symbol"],
        from_address="0x" + "11" * 20,
        to_address=options["depositAddress"].lower(),
        amount=CryptoAmount(
            base_units=options["amount"]["baseUnits"],
            asset=token["symbol"],
            decimals=int(token["decimals"]),
        ),
        invoice_id=options["invoiceId"],
        confirmations=3,
        confirmations_required=2,
        status=cpb.TRANSFER_STATUS_CONFIRMED,
        reference=reference,
    )
    transfer.block_time.CopyFrom(timestamp(datetime.now(UTC)))
    envelope = new_envelope(
        producer="chain",
        subject=TRANSFER_DETECTED,
        event=cev.TransferDetected(transfer=transfer),
        aggregate_id=reference,
    )

    async def publish() -> None:
        client = await nats.connect(f"nats://127.0.0.1:{stack.env['AGORA_NATS_PORT']}")
        try:
            await client.jetstream().publish(
                TRANSFER_DETECTED,
                envelope.SerializeToString(),
                headers={MSG_ID: envelope.event_id},
            )
        finally:
            await client.close()

    # Playwright's sync API holds this thread's event loop: the publish runs on its own thread.
    failure: list[BaseException] = []
    worker = threading.Thread(target=lambda: _run(publish, failure))
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the publish did not finish"
    assert not failure, failure
    return reference


def _run(coroutine: Callable[[], Any], failure: list[BaseException]) -> None:
    try:
        asyncio.run(coroutine())
    except BaseException as error:  # handed to the test's thread
        failure.append(error)


def credited(stack: Stack, invoice_id: str, reference: str, timeout_s: float = 20.0) -> None:
    """Wait until payments lists the payment `reference` on the invoice as credited."""
    deadline = time.monotonic() + timeout_s
    with stack.client() as staff:
        while True:
            invoice = ok(staff.get(f"/v1/invoices/{invoice_id}"))
            payments = {p.get("reference"): p for p in invoice.get("payments", [])}
            if reference in payments:
                assert payments[reference].get("status") != "PAYMENT_STATUS_FLAGGED", invoice
                return
            assert time.monotonic() < deadline, f"not credited: {invoice}"
            time.sleep(0.2)


def reload_until(
    page: Page, path: str, shows: Callable[[Page], bool], timeout_s: float = 30.0
) -> None:
    """Open `path` again until `shows(page)`: what it shows comes from reads that catch up
    (the storefront's caches, the search index, the analytics)."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.goto(path)
        if shows(page):
            return
        assert time.monotonic() < deadline, f"{path} never showed it"
