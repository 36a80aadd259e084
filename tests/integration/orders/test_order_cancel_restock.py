"""A paid order cancelled by staff gives the stock its committed reservation took back to the
catalog, exactly once, through the real catalog, payments and orders services: the catalog's
`RestockReservation` called by orders' stock-release consumer on `OrderCancelled`
(`after_payment`), keyed by the order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from orders_support import TIMEOUT_S, error_of, key, product, ready_cart, stock
from saga_support import (
    Checkout,
    awaiting_payment,
    checkout_world,
    dev_pay,
    order_in,
    own_jetstream,
    place,
    until,
)
from security_support import mint_token, with_token

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.orders.clients import Catalog
from agora.platform.db import ensure_database
from agora.platform.settings import PlatformSettings

STAFF = with_token(mint_token(roles=["staff"], permissions=["orders:refund", "orders:read:any"]))


@pytest.fixture(scope="module")
async def checkout(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Checkout]:
    url = f"{database_url.rpartition('/')[0]}/agora_restock_{uuid.uuid4().hex[:8]}"
    await ensure_database(url)
    with own_jetstream(Path(tmp_path_factory.mktemp("restock")) / "nats") as nats_url:
        platform = PlatformSettings(database_url=url, nats_url=nats_url, discovery=False)
        async with checkout_world(platform) as world:
            yield world


async def reservation(checkout: Checkout, reservation_id: str) -> cpb.Reservation:
    return await checkout.catalog.GetReservation(
        cpb.GetReservationRequest(id=reservation_id), timeout=TIMEOUT_S
    )


async def committed_order(checkout: Checkout, variant: tuple[str, str], quantity: int) -> pb.Order:
    """A paid order of `quantity` units whose reservation the saga has committed."""
    cart = await ready_cart(checkout.orders, *variant, quantity)
    placed = await place(checkout.orders, cart)
    waiting = await awaiting_payment(checkout.orders, placed.id)
    await dev_pay(checkout.payments, waiting.invoice_id, ppb.DEV_PAY_ACTION_PAY_FULL)
    paid = await order_in(checkout.orders, placed.id, pb.ORDER_STATUS_PAID)
    await until(
        lambda: reservation(checkout, paid.reservation_id),
        lambda r: r.status == cpb.RESERVATION_STATUS_COMMITTED,
    )
    return paid


async def test_a_paid_order_cancelled_by_staff_puts_its_stock_back_exactly_once(
    checkout: Checkout,
) -> None:
    product_id, variant_id = await product(checkout.catalog, on_hand=10)
    order = await committed_order(checkout, (product_id, variant_id), quantity=3)
    sold = await stock(checkout.catalog, variant_id)
    cancel = pb.CancelPaidOrderRequest(idempotency_key=key(), id=order.id, reason="lost parcel")

    first = await checkout.orders.CancelPaidOrder(cancel, metadata=STAFF, timeout=TIMEOUT_S)
    retried = await checkout.orders.CancelPaidOrder(cancel, metadata=STAFF, timeout=TIMEOUT_S)
    restocked = await until(
        lambda: reservation(checkout, order.reservation_id),
        lambda r: r.status == cpb.RESERVATION_STATUS_RESTOCKED,
    )
    back = await stock(checkout.catalog, variant_id)
    # The consumer's step again (a redelivery), and a restock by anyone else: nothing moves.
    await Catalog(lambda: checkout.catalog).restock(order.id, order.reservation_id)
    again, info = await error_of(
        checkout.catalog.RestockReservation(
            cpb.RestockReservationRequest(idempotency_key=key(), id=order.reservation_id),
            timeout=TIMEOUT_S,
        )
    )
    after = await stock(checkout.catalog, variant_id)

    assert (sold.on_hand, sold.reserved) == (7, 0)
    assert first.order.status == retried.order.status == pb.ORDER_STATUS_CANCELLED
    assert [(x.variant_id, x.quantity) for x in restocked.lines] == [(variant_id, 3)]
    assert (back.on_hand, back.reserved, back.available) == (10, 0, 10)
    assert again == grpc.StatusCode.FAILED_PRECONDITION
    assert info.metadata["status"] == "restocked"
    assert (after.on_hand, after.reserved) == (10, 0)


async def test_an_order_cancelled_before_payment_is_released_not_restocked(
    checkout: Checkout,
) -> None:
    product_id, variant_id = await product(checkout.catalog, on_hand=5)
    cart = await ready_cart(checkout.orders, product_id, variant_id, 2)
    placed = await place(checkout.orders, cart)
    await awaiting_payment(checkout.orders, placed.id)

    await checkout.orders.CancelOrder(
        pb.CancelOrderRequest(idempotency_key=key(), id=placed.id), timeout=TIMEOUT_S
    )
    released = await until(
        lambda: reservation(checkout, placed.reservation_id),
        lambda r: r.status != cpb.RESERVATION_STATUS_ACTIVE,
    )
    left = await stock(checkout.catalog, variant_id)

    assert released.status == cpb.RESERVATION_STATUS_RELEASED
    assert (left.on_hand, left.reserved) == (5, 0)
