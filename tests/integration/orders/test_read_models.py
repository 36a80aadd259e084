"""The order read models: fed by the ORDERS stream, listed and searched, rebuilt identically."""

from __future__ import annotations

import uuid
from typing import Any

import nats
import sqlalchemy as sa
from orders_support import TIMEOUT_S, eventually, key, product, ready_cart
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as ev
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.orders.events import STREAM
from agora.orders.projections import OrderViews
from agora.platform.bus.replay import rebuild
from agora.platform.db import session_factory, transaction


async def snapshot(engine: AsyncEngine) -> tuple[list[Any], list[Any]]:
    async with engine.connect() as conn:
        details = (
            await conn.execute(sa.text("SELECT * FROM order_details ORDER BY order_id"))
        ).all()
        rows = (await conn.execute(sa.text("SELECT * FROM order_list ORDER BY order_id"))).all()
    return [tuple(r) for r in details], [tuple(r) for r in rows]


async def event_total(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text("SELECT count(*) FROM order_events"))).scalar_one())


async def projected_total(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = sa.text("SELECT coalesce(sum(version), 0) FROM order_details")
        return int((await conn.execute(query)).scalar_one())


async def test_orders_are_listed_per_customer_and_found_by_staff(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub, orders_engine: AsyncEngine
) -> None:
    product_id, variant_id = await product(catalog_stub)
    ready = await ready_cart(orders, product_id, variant_id, quantity=2)
    placed = await orders.PlaceOrder(
        pb.PlaceOrderRequest(idempotency_key=key(), cart_token=ready.token), timeout=TIMEOUT_S
    )

    async def listed() -> bool:
        page = await orders.ListOrders(
            pb.ListOrdersRequest(customer_id="cust-1", page_size=100), timeout=TIMEOUT_S
        )
        return placed.id in [o.id for o in page.orders]

    await eventually(listed)
    found = await orders.SearchOrders(
        pb.SearchOrdersRequest(q=f"erika {placed.id[:8]}", status=pb.ORDER_STATUS_PLACED),
        timeout=TIMEOUT_S,
    )
    assert [(o.id, o.item_count, o.total.amount_minor) for o in found.orders] == [
        (placed.id, 2, 2 * 1_190 + 490)
    ]
    none = await orders.SearchOrders(
        pb.SearchOrdersRequest(q=placed.id[:8], status=pb.ORDER_STATUS_PAID), timeout=TIMEOUT_S
    )
    assert list(none.orders) == []


async def test_order_lists_page_newest_first(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub)
    for _ in range(3):
        cart = await ready_cart(orders, product_id, variant_id)
        await orders.PlaceOrder(
            pb.PlaceOrderRequest(idempotency_key=key(), cart_token=cart.token), timeout=TIMEOUT_S
        )
    seen: list[pb.OrderSummary] = []
    token = ""
    while True:
        page = await orders.SearchOrders(
            pb.SearchOrdersRequest(page_size=2, page_token=token), timeout=TIMEOUT_S
        )
        seen.extend(page.orders)
        token = page.next_page_token
        if not token:
            break
    placed_at = [(o.placed_at.ToDatetime(), o.id) for o in seen]
    assert placed_at == sorted(placed_at, reverse=True)
    assert len({o.id for o in seen}) == len(seen) >= 3


async def test_dropping_and_replaying_the_read_models_rebuilds_them_identically(
    orders: OrdersServiceStub,
    catalog_stub: CatalogServiceStub,
    orders_engine: AsyncEngine,
    nats_url: str,
) -> None:
    product_id, variant_id = await product(catalog_stub)
    for cancel in (False, True):
        cart = await ready_cart(orders, product_id, variant_id)
        order = await orders.PlaceOrder(
            pb.PlaceOrderRequest(idempotency_key=key(), cart_token=cart.token), timeout=TIMEOUT_S
        )
        if cancel:
            await orders.CancelOrder(
                pb.CancelOrderRequest(idempotency_key=key(), id=order.id), timeout=TIMEOUT_S
            )

    async def caught_up() -> bool:
        return await projected_total(orders_engine) == await event_total(orders_engine)

    await eventually(caught_up)
    before = await snapshot(orders_engine)
    assert len(before[0]) >= 2
    connection = await nats.connect(nats_url)
    try:
        await rebuild(
            OrderViews(), session_factory(orders_engine), connection.jetstream(), stream=STREAM
        )
    finally:
        await connection.close()
    await eventually(caught_up)
    assert await snapshot(orders_engine) == before


async def test_a_view_behind_its_events_is_never_served_and_any_late_event_catches_it_up(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub, orders_engine: AsyncEngine
) -> None:
    product_id, variant_id = await product(catalog_stub)
    cart = await ready_cart(orders, product_id, variant_id)
    placed = await orders.PlaceOrder(
        pb.PlaceOrderRequest(idempotency_key=key(), cart_token=cart.token), timeout=TIMEOUT_S
    )
    await orders.CancelOrder(
        pb.CancelOrderRequest(idempotency_key=key(), id=placed.id), timeout=TIMEOUT_S
    )

    async def view_version() -> int | None:
        async with orders_engine.connect() as conn:
            query = sa.text("SELECT version FROM order_details WHERE order_id = :id")
            return (await conn.execute(query, {"id": placed.id})).scalar_one_or_none()

    async def projected() -> bool:
        return await view_version() == 2

    await eventually(projected)
    cancelled = await orders.GetOrder(pb.GetOrderRequest(id=placed.id), timeout=TIMEOUT_S)
    assert cancelled.status == pb.ORDER_STATUS_CANCELLED

    # The view falls behind (its cancellation not projected yet): reads fold the events instead.
    async with orders_engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE order_details SET version = 1, detail = :detail WHERE order_id = :id"),
            {"id": placed.id, "detail": placed.SerializeToString()},
        )
    assert await orders.GetOrder(pb.GetOrderRequest(id=placed.id), timeout=TIMEOUT_S) == cancelled

    # The view is lost, and the first event comes back late: the view is whole again at once.
    async with orders_engine.begin() as conn:
        await conn.execute(
            sa.text("DELETE FROM order_details WHERE order_id = :id"), {"id": placed.id}
        )
    late = EventEnvelope(
        event_id=str(uuid.uuid4()),
        type=ev.OrderPlaced.DESCRIPTOR.full_name,
        aggregate_id=placed.id,
        aggregate_version=1,
    )
    async with transaction(session_factory(orders_engine)) as session:
        await OrderViews().handle(session, late)
    assert await view_version() == 2
    assert await orders.GetOrder(pb.GetOrderRequest(id=placed.id), timeout=TIMEOUT_S) == cancelled
