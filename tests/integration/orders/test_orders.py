"""Placing and cancelling orders: stock held at the real catalog, events in the event store and
on JetStream, optimistic concurrency, and no oversell under a race."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import grpc
import nats
import pytest
import sqlalchemy as sa
from orders_support import TIMEOUT_S, error_of, eventually, key, product, ready_cart, stock
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.orders import store
from agora.orders.aggregate import OrderStatus
from agora.platform.db import session_factory, transaction
from agora.platform.errors import Conflict
from agora.platform.rpc.status import error_info_from_rpc_error


async def place(orders: OrdersServiceStub, cart: pb.Cart, idempotency_key: str = "") -> pb.Order:
    return await orders.PlaceOrder(
        pb.PlaceOrderRequest(idempotency_key=idempotency_key or key(), cart_token=cart.token),
        timeout=TIMEOUT_S,
    )


async def test_placing_an_order_holds_its_stock_and_records_its_event(
    orders: OrdersServiceStub,
    catalog_stub: CatalogServiceStub,
    orders_engine: AsyncEngine,
    nats_url: str,
) -> None:
    product_id, variant_id = await product(catalog_stub, on_hand=10)
    cart = await ready_cart(orders, product_id, variant_id, quantity=3)
    order = await place(orders, cart)
    assert order.status == pb.ORDER_STATUS_PLACED
    assert (order.totals.total.amount_minor, order.version) == (3 * 1_190 + 490, 1)
    assert order.reservation_id
    held = await stock(catalog_stub, variant_id)
    assert (held.reserved, held.available) == (3, 7)
    async with orders_engine.connect() as conn:
        history = await store.load(conn, order.id)
    assert history.order.status is OrderStatus.PLACED
    assert history.order.placed.reservation_id == order.reservation_id
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().subscribe(
            "orders.order.placed", ordered_consumer=True
        )
        envelope = EventEnvelope()
        while envelope.aggregate_id != order.id:
            envelope = EventEnvelope.FromString((await subscription.next_msg(timeout=10)).data)
    finally:
        await connection.close()
    assert (envelope.type, envelope.aggregate_version) == ("agora.orders.v1.OrderPlaced", 1)


async def test_a_retried_placement_returns_the_same_order_and_holds_stock_once(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub, on_hand=10)
    cart = await ready_cart(orders, product_id, variant_id, quantity=2)
    same_key = key()
    first = await place(orders, cart, same_key)
    again = await place(orders, cart, same_key)
    assert first == again
    assert (await stock(catalog_stub, variant_id)).reserved == 2


async def test_a_duplicate_placement_while_the_first_runs_is_told_so_and_not_blocked(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub, orders_engine: AsyncEngine
) -> None:
    product_id, variant_id = await product(catalog_stub, on_hand=10)
    cart = await ready_cart(orders, product_id, variant_id, quantity=2)
    same_key = key()
    async with orders_engine.connect() as conn, conn.begin():
        # Someone else changes the cart: the first placement holds its key and waits for this.
        await conn.execute(
            sa.text("SELECT 1 FROM carts WHERE token = :t FOR UPDATE"), {"t": cart.token}
        )
        first = asyncio.create_task(place(orders, cart, same_key))
        await asyncio.sleep(0.5)
        code, info = await error_of(place(orders, cart, same_key))
        assert (code, info.reason) == (grpc.StatusCode.ABORTED, "IDEMPOTENCY_KEY_IN_FLIGHT")
        assert (info.retry_after_s or 0) > 0
        assert not first.done()
    placed = await first
    assert await place(orders, cart, same_key) == placed
    assert (await stock(catalog_stub, variant_id)).reserved == 2


async def test_an_ordered_cart_cannot_be_ordered_again(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub)
    cart = await ready_cart(orders, product_id, variant_id)
    order = await place(orders, cart)
    code, info = await error_of(place(orders, cart))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.metadata == {"orderId": order.id}


async def test_placing_an_incomplete_cart_is_refused(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    cart = await orders.CreateCart(
        pb.CreateCartRequest(idempotency_key=key(), currency="EUR"), timeout=TIMEOUT_S
    )
    code, info = await error_of(place(orders, cart))
    assert (code, info.message) == (grpc.StatusCode.FAILED_PRECONDITION, "the cart is empty")


async def test_30_clients_racing_for_the_last_5_units_place_exactly_5_orders(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub, on_hand=5)
    carts = [await ready_cart(orders, product_id, variant_id) for _ in range(30)]

    async def attempt(cart: pb.Cart) -> str:
        try:
            await place(orders, cart)
        except grpc.aio.AioRpcError as error:
            info = error_info_from_rpc_error(error)
            short = [(s.subject, s.requested) for s in info.shortages] == [(variant_id, 1)]
            return f"{error.code().name} {info.reason} {short}"
        return "PLACED"

    outcomes = await asyncio.gather(*(attempt(cart) for cart in carts))
    assert outcomes.count("PLACED") == 5
    assert outcomes.count("FAILED_PRECONDITION INSUFFICIENT True") == 25
    held = await stock(catalog_stub, variant_id)
    assert (held.on_hand, held.reserved, held.available) == (5, 5, 0)


async def test_cancelling_releases_the_stock_and_updates_the_read_models(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub, on_hand=4)
    order = await place(orders, await ready_cart(orders, product_id, variant_id, quantity=4))
    cancelled = await orders.CancelOrder(
        pb.CancelOrderRequest(idempotency_key=key(), id=order.id, reason="changed my mind"),
        timeout=TIMEOUT_S,
    )
    assert (cancelled.status, cancelled.version) == (pb.ORDER_STATUS_CANCELLED, 2)

    async def released() -> bool:
        return (await stock(catalog_stub, variant_id)).available == 4

    async def projected() -> bool:
        view = await orders.GetOrder(pb.GetOrderRequest(id=order.id), timeout=TIMEOUT_S)
        return view.status == pb.ORDER_STATUS_CANCELLED

    await eventually(released)
    await eventually(projected)
    code, _ = await error_of(
        orders.CancelOrder(
            pb.CancelOrderRequest(idempotency_key=key(), id=order.id), timeout=TIMEOUT_S
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION


async def test_concurrent_appends_at_the_same_version_conflict(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub, orders_engine: AsyncEngine
) -> None:
    product_id, variant_id = await product(catalog_stub)
    order = await place(orders, await ready_cart(orders, product_id, variant_id))
    sessions = session_factory(orders_engine)
    async with transaction(sessions) as first, transaction(sessions) as second:
        loaded = (await store.load(first, order.id)).order
        stale = (await store.load(second, order.id)).order
        now = datetime.now(UTC)
        await store.append(
            first,
            order.id,
            [loaded.await_payment("inv-1")],
            expected_version=1,
            before=loaded,
            occurred_at=now,
        )
        await first.commit()
        with pytest.raises(Conflict):
            await store.append(
                second,
                order.id,
                [stale.cancel("too late")],
                expected_version=1,
                before=stale,
                occurred_at=now,
            )
        await second.rollback()
    async with orders_engine.connect() as conn:
        assert await store.event_count(conn, order.id) == 2
        versions = await conn.execute(
            sa.text("SELECT type FROM order_events WHERE order_id = :o ORDER BY version"),
            {"o": uuid.UUID(order.id)},
        )
        assert [row.type for row in versions] == ["placed", "awaiting_payment"]
