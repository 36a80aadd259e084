"""Staff move paid orders through fulfilment over gRPC: partial fulfilment, shipping with a
tracking link, delivery; every refused transition says the order's status; each change is
audited, published, idempotent and needs its permission. Return decisions without a refund
(refunds need payments: test_order_refunds.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import grpc
from orders_support import TIMEOUT_S, Metadata, customer, error_of, key, place, ready_cart
from security_support import mint_token, with_token
from shop_orders_support import advance_order
from sqlalchemy.ext.asyncio import AsyncEngine
from test_order_returns import ask, published

from agora._proto.agora.events.v1.audit_pb2 import AuditEntry
from agora._proto.agora.orders.v1 import events_pb2 as ev
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.orders import store
from agora.orders.aggregate import OrderStatus, PaymentAtRisk
from agora.orders.saga import change_order
from agora.platform.db import session_factory, transaction

STAFF = with_token(
    mint_token(
        roles=["staff"],
        permissions=["orders:fulfil", "orders:returns:write", "orders:read:any"],
    )
)
TRACKING_URL = "https://www.dhl.de/de/privatkunden.html?piececode=00340434161094042557"


async def order_in(
    orders: OrdersServiceStub,
    orders_engine: AsyncEngine,
    lamp: tuple[str, str],
    status: OrderStatus,
    quantity: int = 3,
) -> pb.Order:
    """An order of `quantity` lamps, taken to `status` as payments and the saga would."""
    cart = await ready_cart(orders, *lamp, quantity=quantity)
    order = await place(orders, cart.token, None)
    if status is not OrderStatus.PLACED:
        await advance_order(orders_engine, order.id, status)
    return order


def fulfil(
    orders: OrdersServiceStub,
    order_id: str,
    *lines: tuple[str, int],
    metadata: Metadata | None = STAFF,
    idempotency_key: str | None = None,
) -> Any:
    request = pb.FulfilOrderRequest(
        idempotency_key=idempotency_key or key(),
        id=order_id,
        lines=[pb.FulfilmentLineRequest(variant_id=v, quantity=q) for v, q in lines],
    )
    return orders.FulfilOrder(request, metadata=metadata, timeout=TIMEOUT_S)


def ship(
    orders: OrdersServiceStub,
    order_id: str,
    *,
    tracking_url: str = TRACKING_URL,
    metadata: Metadata | None = STAFF,
) -> Any:
    request = pb.ShipOrderRequest(
        idempotency_key=key(),
        id=order_id,
        carrier="DHL",
        tracking_number="00340434161094042557",
        tracking_url=tracking_url,
    )
    return orders.ShipOrder(request, metadata=metadata, timeout=TIMEOUT_S)


def deliver(orders: OrdersServiceStub, order_id: str) -> Any:
    request = pb.DeliverOrderRequest(idempotency_key=key(), id=order_id)
    return orders.DeliverOrder(request, metadata=STAFF, timeout=TIMEOUT_S)


def decide(
    orders: OrdersServiceStub, order_id: str, return_id: str, *, approve: bool, reason: str
) -> Any:
    if approve:
        approval = pb.ApproveReturnRequest(
            idempotency_key=key(), id=order_id, return_id=return_id, reason=reason
        )
        return orders.ApproveReturn(approval, metadata=STAFF, timeout=TIMEOUT_S)
    rejection = pb.RejectReturnRequest(
        idempotency_key=key(), id=order_id, return_id=return_id, reason=reason
    )
    return orders.RejectReturn(rejection, metadata=STAFF, timeout=TIMEOUT_S)


async def test_a_paid_order_is_fulfilled_in_two_parts_then_shipped_then_delivered(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    order = await order_in(orders, orders_engine, lamp, OrderStatus.PAID)
    variant = lamp[1]

    part = await fulfil(orders, order.id, (variant, 2))
    rest = await fulfil(orders, order.id)
    shipped = await ship(orders, order.id)
    delivered = await deliver(orders, order.id)

    assert (part.status, part.lines[0].fulfilled_quantity) == (pb.ORDER_STATUS_PAID, 2)
    assert (rest.status, rest.lines[0].fulfilled_quantity) == (pb.ORDER_STATUS_FULFILLED, 3)
    assert (shipped.status, shipped.carrier, shipped.tracking_url) == (
        pb.ORDER_STATUS_SHIPPED,
        "DHL",
        TRACKING_URL,
    )
    assert delivered.status == pb.ORDER_STATUS_DELIVERED
    assert delivered.version == part.version + 4  # lines, lines + fulfilled, shipped, delivered
    async with orders_engine.connect() as conn:
        history = await store.load(conn, order.id)
    assert history.order.status is OrderStatus.DELIVERED
    assert history.order.fulfilled_quantities() == {variant: 3}


async def test_each_step_is_published_and_audited_with_the_order_before_and_after(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str], nats_url: str
) -> None:
    order = await order_in(orders, orders_engine, lamp, OrderStatus.PAID)

    await fulfil(orders, order.id, (lamp[1], 1))

    envelope = await published(nats_url, "orders.order.lines_fulfilled", order.id)
    audit = await published(nats_url, "audit.orders.lines_fulfilled", f"order:{order.id}")
    event = ev.OrderLinesFulfilled.FromString(envelope.payload)
    assert [(x.variant_id, x.quantity) for x in event.lines] == [(lamp[1], 1)]
    entry = AuditEntry.FromString(audit.payload)
    assert entry.target_id == order.id
    after, before = json.loads(entry.after_json), json.loads(entry.before_json)
    assert after["lines"][0]["fulfilled_quantity"] == 1
    assert "fulfilled_quantity" not in before["lines"][0]  # 0: not shown


async def test_a_retried_fulfilment_gets_the_first_answer_and_fulfils_once(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    order = await order_in(orders, orders_engine, lamp, OrderStatus.PAID)
    same = key()

    first = await fulfil(orders, order.id, (lamp[1], 1), idempotency_key=same)
    again = await fulfil(orders, order.id, (lamp[1], 1), idempotency_key=same)

    assert again == first
    async with orders_engine.connect() as conn:
        assert (await store.load(conn, order.id)).order.fulfilled_quantities() == {lamp[1]: 1}


async def test_every_illegal_step_is_refused_with_the_orders_status(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    placed = await order_in(orders, orders_engine, lamp, OrderStatus.PLACED)
    paid = await order_in(orders, orders_engine, lamp, OrderStatus.PAID)
    shipped = await order_in(orders, orders_engine, lamp, OrderStatus.SHIPPED)
    delivered = await order_in(orders, orders_engine, lamp, OrderStatus.DELIVERED)
    refusals = {
        "fulfil placed": (fulfil(orders, placed.id), "PLACED"),
        "ship placed": (ship(orders, placed.id), "PLACED"),
        "deliver placed": (deliver(orders, placed.id), "PLACED"),
        "ship paid": (ship(orders, paid.id), "PAID"),
        "deliver paid": (deliver(orders, paid.id), "PAID"),
        "fulfil shipped": (fulfil(orders, shipped.id), "SHIPPED"),
        "ship shipped": (ship(orders, shipped.id), "SHIPPED"),
        "fulfil delivered": (fulfil(orders, delivered.id), "DELIVERED"),
        "ship delivered": (ship(orders, delivered.id), "DELIVERED"),
        "deliver delivered": (deliver(orders, delivered.id), "DELIVERED"),
    }

    for name, (call, status) in refusals.items():
        code, info = await error_of(call)
        assert code == grpc.StatusCode.FAILED_PRECONDITION, name
        assert info.metadata["status"] == f"ORDER_STATUS_{status}", name
        assert info.message.startswith(f"the order is {status.lower()} and cannot be"), name


async def test_an_order_whose_payment_is_at_risk_is_not_fulfilled(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    order = await order_in(orders, orders_engine, lamp, OrderStatus.PAID)
    async with transaction(session_factory(orders_engine)) as session:
        await change_order(
            session,
            order.id,
            lambda o: [PaymentAtRisk(o.invoice_id, "a payment was withdrawn (chain reorg)")],
        )

    code, info = await error_of(fulfil(orders, order.id))

    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.metadata == {"status": "ORDER_STATUS_PAID", "paymentAtRisk": "true"}
    assert "payment was withdrawn" in info.message


async def test_bad_lines_and_links_are_refused_before_anything_changes(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    paid = await order_in(orders, orders_engine, lamp, OrderStatus.PAID)
    fulfilled = await order_in(orders, orders_engine, lamp, OrderStatus.FULFILLED)

    too_many, too_many_info = await error_of(fulfil(orders, paid.id, (lamp[1], 4)))
    not_ordered, _ = await error_of(fulfil(orders, paid.id, (str(uuid.uuid4()), 1)))
    http, http_info = await error_of(ship(orders, fulfilled.id, tracking_url="http://dhl.de/t"))

    assert too_many == grpc.StatusCode.FAILED_PRECONDITION
    assert too_many_info.metadata["unfulfilled"] == "3"
    assert not_ordered == grpc.StatusCode.FAILED_PRECONDITION
    assert http == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in http_info.violations] == ["trackingUrl"]
    async with orders_engine.connect() as conn:
        assert (await store.load(conn, paid.id)).order.version == 3
        assert (await store.load(conn, fulfilled.id)).order.version == 4


async def test_an_unknown_order_is_not_found(orders: OrdersServiceStub) -> None:
    unknown = str(uuid.uuid4())

    codes = [
        (await error_of(call))[0] for call in (fulfil(orders, unknown), deliver(orders, unknown))
    ]

    assert codes == [grpc.StatusCode.NOT_FOUND] * 2


async def test_a_customer_or_support_may_not_fulfil_even_their_own_order(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    order = await order_in(orders, orders_engine, lamp, OrderStatus.PAID)
    _, as_customer = customer()
    support = with_token(mint_token(roles=["support"], permissions=["orders:read:any"]))

    refused = [
        await error_of(fulfil(orders, order.id, metadata=metadata))
        for metadata in (as_customer, support)
    ]

    assert [code for code, _ in refused] == [grpc.StatusCode.PERMISSION_DENIED] * 2
    assert {info.reason for _, info in refused} == {"PERMISSION_MISSING"}


async def test_staff_approve_one_return_and_reject_another_saying_why(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str], nats_url: str
) -> None:
    order = await order_in(orders, orders_engine, lamp, OrderStatus.DELIVERED)
    first = await ask(orders, order.id, None, (lamp[1], 1))
    second = await ask(orders, order.id, None, (lamp[1], 2))

    approved = await decide(orders, order.id, first.id, approve=True, reason="")
    rejected = await decide(orders, order.id, second.id, approve=False, reason="worn")
    again, again_info = await error_of(
        decide(orders, order.id, first.id, approve=False, reason="changed")
    )
    unknown, _ = await error_of(
        decide(orders, order.id, str(uuid.uuid4()), approve=True, reason="")
    )

    assert approved.return_request.status == pb.RETURN_STATUS_APPROVED
    assert (rejected.return_request.status, rejected.reason) == (pb.RETURN_STATUS_REJECTED, "worn")
    assert not rejected.HasField("refund")
    assert again == grpc.StatusCode.FAILED_PRECONDITION
    assert again_info.metadata["returnStatus"] == "RETURN_STATUS_APPROVED"
    assert unknown == grpc.StatusCode.NOT_FOUND
    async with orders_engine.connect() as conn:
        rows = await store.return_requests_of(conn, order.id)
    assert {r["id"]: r["status"] for r in rows} == {first.id: "approved", second.id: "rejected"}
    envelope = await published(nats_url, "orders.return.rejected", order.id)
    assert ev.ReturnRejected.FromString(envelope.payload).reason == "worn"
    audit = await published(nats_url, "audit.orders.return_rejected", f"order:{order.id}")
    assert second.id in AuditEntry.FromString(audit.payload).after_json
    # The rejected lines may be asked back again.
    assert (await ask(orders, order.id, None, (lamp[1], 2))).status == pb.RETURN_STATUS_REQUESTED


async def test_a_rejection_needs_a_reason(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    order = await order_in(orders, orders_engine, lamp, OrderStatus.SHIPPED)
    asked = await ask(orders, order.id, None)

    code, info = await error_of(decide(orders, order.id, asked.id, approve=False, reason=" "))

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["reason"]
