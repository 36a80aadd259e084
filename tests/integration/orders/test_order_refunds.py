"""Refunds of paid orders through the real payments service: partial then full, a paid order
cancelled by staff (refunded in full, its stock given back when not yet committed), a return
approved with a refund, and what payments refuses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from orders_support import TIMEOUT_S, error_of, key, product, ready_cart
from saga_support import (
    Checkout,
    awaiting_payment,
    checkout_world,
    dev_pay,
    invoice,
    order_in,
    own_jetstream,
    place,
)
from security_support import mint_token, with_token
from shop_orders_support import advance_order

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.orders.aggregate import OrderStatus
from agora.platform.db import create_engine, ensure_database
from agora.platform.settings import PlatformSettings

STAFF = with_token(
    mint_token(
        roles=["staff"],
        permissions=["orders:refund", "orders:returns:write", "orders:read:any"],
    )
)


@pytest.fixture(scope="module")
async def world(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Checkout, str]]:
    """The checkout world (catalog, payments, orders) and its database's URL."""
    url = f"{database_url.rpartition('/')[0]}/agora_refunds_{uuid.uuid4().hex[:8]}"
    await ensure_database(url)
    with own_jetstream(Path(tmp_path_factory.mktemp("refunds")) / "nats") as nats_url:
        platform = PlatformSettings(database_url=url, nats_url=nats_url, discovery=False)
        async with checkout_world(platform) as checkout:
            yield checkout, url


async def paid_order(checkout: Checkout, quantity: int = 2) -> pb.Order:
    product_id, variant_id = await product(checkout.catalog, on_hand=10)
    cart = await ready_cart(checkout.orders, product_id, variant_id, quantity)
    placed = await place(checkout.orders, cart)
    waiting = await awaiting_payment(checkout.orders, placed.id)
    await dev_pay(checkout.payments, waiting.invoice_id, ppb.DEV_PAY_ACTION_PAY_FULL)
    return await order_in(checkout.orders, placed.id, pb.ORDER_STATUS_PAID)


def refund(checkout: Checkout, order: pb.Order, amount: int, currency: str = "EUR") -> Any:
    request = pb.RefundOrderRequest(
        idempotency_key=key(),
        id=order.id,
        amount=Money(amount_minor=amount, currency=currency),
        reason="goodwill",
    )
    return checkout.orders.RefundOrder(request, metadata=STAFF, timeout=TIMEOUT_S)


async def test_a_partial_then_the_full_refund_go_through_payments(
    world: tuple[Checkout, str],
) -> None:
    checkout, _ = world
    order = await paid_order(checkout)
    total = order.totals.total.amount_minor

    part = await refund(checkout, order, 500)
    rest = await refund(checkout, order, total - 500)

    assert (part.order.status, part.order.refunded.amount_minor) == (pb.ORDER_STATUS_PAID, 500)
    assert (part.refund.full, part.refund.pay_amount.base_units) == (False, "500")
    assert (rest.order.status, rest.order.refunded.amount_minor) == (
        pb.ORDER_STATUS_REFUNDED,
        total,
    )
    assert rest.refund.full
    paid = await invoice(checkout.payments, order.invoice_id)
    assert [(r.id, r.amount.base_units) for r in paid.refunds] == [
        (part.refund.id, "500"),
        (rest.refund.id, str(total - 500)),
    ]


async def test_more_than_is_left_another_currency_or_a_refunded_order_are_refused(
    world: tuple[Checkout, str],
) -> None:
    checkout, _ = world
    order = await paid_order(checkout)
    total = order.totals.total.amount_minor

    too_much, too_much_info = await error_of(refund(checkout, order, total + 1))
    dollars, dollars_info = await error_of(refund(checkout, order, 100, "USD"))
    await refund(checkout, order, total)
    again, again_info = await error_of(refund(checkout, order, 1))
    unknown, _ = await error_of(refund(checkout, pb.Order(id=str(uuid.uuid4())), 1))

    assert too_much == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in too_much_info.violations] == ["amount.amountMinor"]
    assert dollars == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in dollars_info.violations] == ["amount.currency"]
    assert again == grpc.StatusCode.FAILED_PRECONDITION
    assert again_info.metadata["status"] == "ORDER_STATUS_REFUNDED"
    assert unknown == grpc.StatusCode.NOT_FOUND
    assert len((await invoice(checkout.payments, order.invoice_id)).refunds) == 1


async def test_a_paid_order_cancelled_by_staff_is_refunded_in_full(
    world: tuple[Checkout, str],
) -> None:
    checkout, _ = world
    order = await paid_order(checkout)
    request = pb.CancelPaidOrderRequest(
        idempotency_key=key(), id=order.id, reason="damaged in the warehouse"
    )

    answer = await checkout.orders.CancelPaidOrder(request, metadata=STAFF, timeout=TIMEOUT_S)
    customer_cancel, info = await error_of(
        checkout.orders.CancelOrder(
            pb.CancelOrderRequest(idempotency_key=key(), id=order.id), timeout=TIMEOUT_S
        )
    )

    assert (answer.order.status, answer.order.closing_reason) == (
        pb.ORDER_STATUS_CANCELLED,
        "damaged in the warehouse",
    )
    assert answer.order.refunded.amount_minor == order.totals.total.amount_minor
    assert answer.refund.full
    refunds = (await invoice(checkout.payments, order.invoice_id)).refunds
    assert [r.amount.base_units for r in refunds] == [str(order.totals.total.amount_minor)]
    assert customer_cancel == grpc.StatusCode.FAILED_PRECONDITION
    assert info.metadata["status"] == "ORDER_STATUS_CANCELLED"


async def test_a_shipped_order_cannot_be_cancelled_only_refunded(
    world: tuple[Checkout, str],
) -> None:
    checkout, url = world
    order = await paid_order(checkout)
    engine = create_engine(url, "orders", pool_size=1)
    try:
        await advance_order(engine, order.id, OrderStatus.SHIPPED)
    finally:
        await engine.dispose()
    request = pb.CancelPaidOrderRequest(idempotency_key=key(), id=order.id, reason="late")

    code, info = await error_of(
        checkout.orders.CancelPaidOrder(request, metadata=STAFF, timeout=TIMEOUT_S)
    )

    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.metadata["status"] == "ORDER_STATUS_SHIPPED"
    assert (await invoice(checkout.payments, order.invoice_id)).refunds == []


async def test_an_approved_return_may_carry_a_refund(world: tuple[Checkout, str]) -> None:
    checkout, url = world
    order = await paid_order(checkout)
    engine = create_engine(url, "orders", pool_size=1)
    try:
        await advance_order(engine, order.id, OrderStatus.DELIVERED)
    finally:
        await engine.dispose()
    asked = await checkout.orders.RequestReturn(
        pb.RequestReturnRequest(idempotency_key=key(), id=order.id), timeout=TIMEOUT_S
    )
    unit = order.lines[0].unit_price.amount_minor
    approval = pb.ApproveReturnRequest(
        idempotency_key=key(),
        id=order.id,
        return_id=asked.id,
        refund=Money(amount_minor=unit, currency="EUR"),
    )
    without_refund_right = with_token(
        mint_token(roles=["staff"], permissions=["orders:returns:write"])
    )

    refused, refused_info = await error_of(
        checkout.orders.ApproveReturn(approval, metadata=without_refund_right, timeout=TIMEOUT_S)
    )
    approved = await checkout.orders.ApproveReturn(approval, metadata=STAFF, timeout=TIMEOUT_S)

    assert (refused, refused_info.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "PERMISSION_MISSING",
    )
    assert approved.return_request.status == pb.RETURN_STATUS_APPROVED
    assert (approved.refund.amount.amount_minor, approved.refund.full) == (unit, False)
    assert approved.order.refunded.amount_minor == unit
    refunds = (await invoice(checkout.payments, order.invoice_id)).refunds
    assert [r.id for r in refunds] == [approved.refund.id]
