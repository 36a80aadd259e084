"""A customer asks to send back lines of a shipped or delivered order (`RequestReturn`): who may
(as for GetOrder: the customer, a guest with the order's access token, staff; anyone else is
told the order does not exist), in which states, how much, retried safely, and the event."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import nats
from orders_support import TIMEOUT_S, Metadata, customer, error_of, key, placed_order
from security_support import mint_token, with_token
from shop_orders_support import advance_order
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.events.v1.audit_pb2 import AuditEntry
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as ev
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.orders import store
from agora.orders.aggregate import OrderStatus


def ask(
    orders: OrdersServiceStub,
    order_id: str,
    metadata: Metadata | None,
    *lines: tuple[str, int],
    access_token: str = "",
    idempotency_key: str | None = None,
    reason: str = "",
) -> Any:
    request = pb.RequestReturnRequest(
        idempotency_key=idempotency_key or key(),
        id=order_id,
        lines=[pb.ReturnLineRequest(variant_id=v, quantity=q) for v, q in lines],
        reason=reason,
        access_token=access_token,
    )
    return orders.RequestReturn(request, metadata=metadata, timeout=TIMEOUT_S)


async def published(nats_url: str, subject: str, aggregate_id: str) -> EventEnvelope:
    """The envelope published on `subject` about `aggregate_id` (the relay publishes after
    commit: wait for it)."""
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().subscribe(subject, ordered_consumer=True)
        envelope = EventEnvelope()
        while envelope.aggregate_id != aggregate_id:
            envelope = EventEnvelope.FromString((await subscription.next_msg(timeout=10)).data)
        return envelope
    finally:
        await connection.close()


async def shipped_order(
    anonymous: OrdersServiceStub,
    orders_engine: AsyncEngine,
    lamp: tuple[str, str],
    metadata: Metadata | None,
    status: OrderStatus = OrderStatus.SHIPPED,
) -> pb.Order:
    order = await placed_order(anonymous, lamp, metadata)
    await advance_order(orders_engine, order.id, status)
    return order


async def test_the_customer_returns_a_shipped_order_in_full_by_default(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    owner, as_owner = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner)

    answer = await ask(anonymous, order.id, as_owner, reason="too dim")

    assert answer.status == pb.RETURN_STATUS_REQUESTED
    assert (answer.order_id, answer.reason) == (order.id, "too dim")
    assert [(x.variant_id, x.quantity) for x in answer.lines] == [(lamp[1], 1)]
    assert answer.lines[0].title == order.lines[0].title
    assert str(uuid.UUID(answer.id)) == answer.id
    assert answer.requested_at.seconds > 0
    async with orders_engine.connect() as conn:
        rows = await store.return_requests_of(conn, order.id)
        history = await store.load(conn, order.id)
    assert [(r["id"], r["customer_id"], r["status"]) for r in rows] == [
        (answer.id, owner, "requested")
    ]
    assert rows[0]["lines"] == [
        {"variantId": lamp[1], "title": answer.lines[0].title, "quantity": 1}
    ]
    assert history.order.status is OrderStatus.SHIPPED
    assert rows[0]["order_version"] == history.order.version


async def test_a_delivered_order_may_be_returned_by_staff_too(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner, OrderStatus.DELIVERED)
    staff = with_token(mint_token(roles=["support"], permissions=["orders:write:any"]))

    answer = await ask(anonymous, order.id, staff)

    assert answer.status == pb.RETURN_STATUS_REQUESTED


async def test_another_customer_is_told_the_order_does_not_exist_and_nothing_changes(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    _, as_other = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner)
    reader = with_token(mint_token(roles=["support"], permissions=["orders:read:any"]))

    refusals = [
        await error_of(ask(anonymous, order.id, metadata)) for metadata in (as_other, None, reader)
    ]
    unknown, _ = await error_of(ask(anonymous, str(uuid.uuid4()), as_other))

    assert [code for code, _ in refusals] == [grpc.StatusCode.NOT_FOUND] * 3
    assert unknown == grpc.StatusCode.NOT_FOUND
    assert {info.message for _, info in refusals} == {f"order {order.id!r} not found"}
    async with orders_engine.connect() as conn:
        assert await store.return_requests_of(conn, order.id) == []


async def test_a_guest_returns_their_order_with_its_access_token_only(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    order = await shipped_order(anonymous, orders_engine, lamp, None)
    other = await placed_order(anonymous, lamp, None)

    without, _ = await error_of(ask(anonymous, order.id, None))
    wrong, _ = await error_of(ask(anonymous, order.id, None, access_token=other.access_token))
    answer = await ask(anonymous, order.id, None, access_token=order.access_token)

    assert (without, wrong) == (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.NOT_FOUND)
    assert answer.status == pb.RETURN_STATUS_REQUESTED


async def test_an_order_not_shipped_cannot_be_returned(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    placed = await placed_order(anonymous, lamp, as_owner)
    paid = await shipped_order(anonymous, orders_engine, lamp, as_owner, OrderStatus.PAID)

    for order, status in ((placed, "ORDER_STATUS_PLACED"), (paid, "ORDER_STATUS_PAID")):
        code, info = await error_of(ask(anonymous, order.id, as_owner))
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        assert info.metadata == {"status": status}


async def test_two_requests_together_cannot_ask_back_more_than_was_ordered(
    anonymous: OrdersServiceStub,
    orders: OrdersServiceStub,
    orders_engine: AsyncEngine,
    lamp: tuple[str, str],
) -> None:
    _, as_owner = customer()
    order = await placed_order(anonymous, lamp, as_owner)
    await advance_order(orders_engine, order.id)
    variant = lamp[1]

    first = await ask(anonymous, order.id, as_owner, (variant, 1))
    code, info = await error_of(ask(anonymous, order.id, as_owner, (variant, 1)))
    everything, _ = await error_of(ask(anonymous, order.id, as_owner))

    assert first.lines[0].quantity == 1
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.metadata == {"field": "lines[0].quantity", "returnable": "0"}
    assert everything == grpc.StatusCode.FAILED_PRECONDITION


async def test_more_than_ordered_in_one_request_is_refused_naming_the_line(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner)

    code, info = await error_of(ask(anonymous, order.id, as_owner, (lamp[1], 2)))

    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.metadata == {"field": "lines[0].quantity", "returnable": "1"}


async def test_a_variant_not_in_the_order_or_a_malformed_line_is_refused_naming_the_field(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner)

    unknown, unknown_info = await error_of(
        ask(anonymous, order.id, as_owner, (lamp[1], 1), (str(uuid.uuid4()), 1))
    )
    malformed, malformed_info = await error_of(ask(anonymous, order.id, as_owner, ("lamp", 1)))
    too_long, too_long_info = await error_of(ask(anonymous, order.id, as_owner, reason="x" * 2001))

    assert unknown == grpc.StatusCode.FAILED_PRECONDITION
    assert unknown_info.metadata == {"field": "lines[1].variantId"}
    assert malformed == too_long == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in malformed_info.violations] == ["lines[0].variantId"]
    assert [v.field for v in too_long_info.violations] == ["reason"]
    async with orders_engine.connect() as conn:
        assert await store.return_requests_of(conn, order.id) == []


async def test_a_retry_with_the_same_key_gets_the_same_request_but_not_from_another_caller(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    _, as_other = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner)
    same = key()

    first = await ask(anonymous, order.id, as_owner, idempotency_key=same)
    again = await ask(anonymous, order.id, as_owner, idempotency_key=same)
    stranger, _ = await error_of(ask(anonymous, order.id, as_other, idempotency_key=same))
    # Staff may return the order: under the same key they are not replayed the customer's
    # answer, their request runs (and finds everything already asked back).
    staff = with_token(mint_token(roles=["support"], permissions=["orders:write:any"]))
    for_staff, _ = await error_of(ask(anonymous, order.id, staff, idempotency_key=same))

    assert first == again
    assert stranger == grpc.StatusCode.NOT_FOUND
    assert for_staff == grpc.StatusCode.FAILED_PRECONDITION
    async with orders_engine.connect() as conn:
        assert len(await store.return_requests_of(conn, order.id)) == 1


async def test_the_request_is_published_as_orders_return_requested_and_audited(
    anonymous: OrdersServiceStub,
    orders_engine: AsyncEngine,
    lamp: tuple[str, str],
    nats_url: str,
) -> None:
    owner, as_owner = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner)

    answer = await ask(anonymous, order.id, as_owner, reason="broken")

    envelope = await published(nats_url, "orders.return.requested", order.id)
    audit = await published(nats_url, "audit.orders.return_requested", f"order:{order.id}")

    event = ev.ReturnRequested.FromString(envelope.payload)
    assert envelope.type == "agora.orders.v1.ReturnRequested"
    assert (event.return_id, event.order_id, event.customer_id, event.reason) == (
        answer.id,
        order.id,
        owner,
        "broken",
    )
    assert [(x.variant_id, x.quantity) for x in event.lines] == [(lamp[1], 1)]
    entry = AuditEntry.FromString(audit.payload)
    assert (entry.actor_subject, entry.target_id) == (owner, order.id)
    assert answer.id in entry.after_json
