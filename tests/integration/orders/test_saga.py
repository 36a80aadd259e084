"""The checkout saga end to end over real services: place an order, the invoice appears at
payments, the dev provider pays (or not), and the order ends paid with its stock committed, or
expired/cancelled with its stock released."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from orders_support import TIMEOUT_S, eventually, key, product, ready_cart, stock
from saga_support import (
    Checkout,
    awaiting_payment,
    checkout_world,
    dev_pay,
    invoice,
    invoices_of,
    is_insufficient,
    order,
    order_in,
    own_jetstream,
    place,
    until,
)

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.platform.db import ensure_database
from agora.platform.settings import PlatformSettings


@pytest.fixture(scope="module")
async def checkout(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Checkout]:
    saga_database = f"{database_url.rpartition('/')[0]}/agora_saga_{uuid.uuid4().hex[:8]}"
    await ensure_database(saga_database)
    with own_jetstream(Path(tmp_path_factory.mktemp("saga")) / "nats") as nats_url:
        platform = PlatformSettings(database_url=saga_database, nats_url=nats_url, discovery=False)
        async with checkout_world(platform) as world:
            yield world


async def placed_order(checkout: Checkout, *, on_hand: int, quantity: int) -> tuple[str, pb.Order]:
    """A variant with `on_hand` in stock and an order of `quantity` of it: (variant, order)."""
    product_id, variant_id = await product(checkout.catalog, on_hand=on_hand)
    cart = await ready_cart(checkout.orders, product_id, variant_id, quantity)
    return variant_id, await place(checkout.orders, cart)


async def stock_is(checkout: Checkout, variant_id: str, on_hand: int, reserved: int) -> None:
    async def settled() -> bool:
        current = await stock(checkout.catalog, variant_id)
        return (current.on_hand, current.reserved) == (on_hand, reserved)

    await eventually(settled, timeout_s=15)


async def test_a_placed_order_gets_one_invoice_for_its_total(checkout: Checkout) -> None:
    _, placed = await placed_order(checkout, on_hand=10, quantity=2)
    waiting = await awaiting_payment(checkout.orders, placed.id)
    made = await invoice(checkout.payments, waiting.invoice_id)
    assert (made.reference, made.status) == (placed.id, ppb.INVOICE_STATUS_NEW)
    assert (made.price.amount_minor, made.price.currency) == (
        placed.totals.total.amount_minor,
        "EUR",
    )
    assert [i.id for i in await invoices_of(checkout.payments, placed.id)] == [made.id]


async def test_a_paid_order_commits_its_stock(checkout: Checkout) -> None:
    variant_id, placed = await placed_order(checkout, on_hand=10, quantity=3)
    waiting = await awaiting_payment(checkout.orders, placed.id)
    await dev_pay(checkout.payments, waiting.invoice_id, ppb.DEV_PAY_ACTION_PAY_FULL)
    paid = await order_in(checkout.orders, placed.id, pb.ORDER_STATUS_PAID)
    assert (paid.invoice_id, paid.version) == (waiting.invoice_id, 3)
    await stock_is(checkout, variant_id, on_hand=7, reserved=0)


async def test_a_partly_paid_order_is_paid_once_the_rest_arrives(checkout: Checkout) -> None:
    variant_id, placed = await placed_order(checkout, on_hand=10, quantity=1)
    waiting = await awaiting_payment(checkout.orders, placed.id)
    partly = await dev_pay(checkout.payments, waiting.invoice_id, ppb.DEV_PAY_ACTION_PAY_PARTIAL)
    assert partly.invoice.status == ppb.INVOICE_STATUS_PROCESSING
    assert 0 < int(partly.invoice.paid.base_units) < int(partly.invoice.due.base_units)
    assert (await order(checkout.orders, placed.id)).status == pb.ORDER_STATUS_AWAITING_PAYMENT
    rest = await dev_pay(checkout.payments, waiting.invoice_id, ppb.DEV_PAY_ACTION_PAY_FULL)
    assert rest.invoice.status == ppb.INVOICE_STATUS_SETTLED
    await order_in(checkout.orders, placed.id, pb.ORDER_STATUS_PAID)
    await stock_is(checkout, variant_id, on_hand=9, reserved=0)


async def test_an_unpaid_order_expires_and_releases_its_stock(checkout: Checkout) -> None:
    variant_id, placed = await placed_order(checkout, on_hand=5, quantity=2)
    waiting = await awaiting_payment(checkout.orders, placed.id)
    expired = await order_in(checkout.orders, placed.id, pb.ORDER_STATUS_EXPIRED)
    assert expired.closing_reason == "the invoice expired unpaid"
    assert (await invoice(checkout.payments, waiting.invoice_id)).status == (
        ppb.INVOICE_STATUS_EXPIRED
    )
    await stock_is(checkout, variant_id, on_hand=5, reserved=0)


async def test_a_declined_payment_leaves_the_order_waiting_until_it_expires(
    checkout: Checkout,
) -> None:
    variant_id, placed = await placed_order(checkout, on_hand=5, quantity=1)
    waiting = await awaiting_payment(checkout.orders, placed.id)
    declined = await dev_pay(checkout.payments, waiting.invoice_id, ppb.DEV_PAY_ACTION_DECLINE)
    assert (declined.declined, declined.invoice.status) == (True, ppb.INVOICE_STATUS_NEW)
    still = await order(checkout.orders, placed.id)
    assert (still.status, still.version) == (pb.ORDER_STATUS_AWAITING_PAYMENT, 2)
    await order_in(checkout.orders, placed.id, pb.ORDER_STATUS_EXPIRED)
    await stock_is(checkout, variant_id, on_hand=5, reserved=0)


async def test_a_payment_after_expiry_leaves_the_order_expired_for_a_refund(
    checkout: Checkout,
) -> None:
    variant_id, placed = await placed_order(checkout, on_hand=5, quantity=1)
    waiting = await awaiting_payment(checkout.orders, placed.id)
    expired = await order_in(checkout.orders, placed.id, pb.ORDER_STATUS_EXPIRED)
    await stock_is(checkout, variant_id, on_hand=5, reserved=0)
    late = await dev_pay(checkout.payments, waiting.invoice_id, ppb.DEV_PAY_ACTION_PAY_LATE)
    assert (late.invoice.status, late.invoice.paid_late) == (ppb.INVOICE_STATUS_EXPIRED, True)
    await asyncio.sleep(1.0)  # time enough for any event of the late payment to reach orders
    after = await order(checkout.orders, placed.id)
    assert (after.status, after.version) == (pb.ORDER_STATUS_EXPIRED, expired.version)
    await stock_is(checkout, variant_id, on_hand=5, reserved=0)


async def test_cancelling_a_waiting_order_cancels_its_invoice_and_releases_its_stock(
    checkout: Checkout,
) -> None:
    variant_id, placed = await placed_order(checkout, on_hand=5, quantity=2)
    waiting = await awaiting_payment(checkout.orders, placed.id)
    await checkout.orders.CancelOrder(
        pb.CancelOrderRequest(idempotency_key=key(), id=placed.id, reason="changed my mind"),
        timeout=TIMEOUT_S,
    )
    cancelled = await until(
        lambda: invoice(checkout.payments, waiting.invoice_id),
        lambda i: i.status == ppb.INVOICE_STATUS_INVALID,
    )
    assert cancelled.id == waiting.invoice_id
    await stock_is(checkout, variant_id, on_hand=5, reserved=0)


async def test_20_clients_racing_for_the_last_4_units_pay_exactly_4_orders(
    checkout: Checkout,
) -> None:
    product_id, variant_id = await product(checkout.catalog, on_hand=4)
    carts = [await ready_cart(checkout.orders, product_id, variant_id) for _ in range(20)]

    async def checkout_and_pay(cart: pb.Cart) -> str:
        try:
            placed = await place(checkout.orders, cart)
        except grpc.aio.AioRpcError as error:
            return "INSUFFICIENT" if is_insufficient(error) else error.code().name
        waiting = await awaiting_payment(checkout.orders, placed.id)
        await dev_pay(checkout.payments, waiting.invoice_id, ppb.DEV_PAY_ACTION_PAY_FULL)
        paid = await order_in(checkout.orders, placed.id, pb.ORDER_STATUS_PAID)
        return pb.OrderStatus.Name(paid.status)

    outcomes = await asyncio.gather(*(checkout_and_pay(cart) for cart in carts))
    assert sorted(outcomes) == ["INSUFFICIENT"] * 16 + ["ORDER_STATUS_PAID"] * 4
    await stock_is(checkout, variant_id, on_hand=0, reserved=0)
    assert (await stock(checkout.catalog, variant_id)).available == 0
