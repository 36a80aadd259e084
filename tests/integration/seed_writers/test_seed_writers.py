"""The orders and payments seed writers: a generated plan (every outcome) written beside the
catalog's part passes the consistency checks, reads back through the orders API as the fold of
its events, is written identically twice, and is removed without touching an API order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest
from seed_writers_support import (
    ORDERS_AND_PAYMENTS,
    clean_plan,
    in_schema,
    place_order,
    seeded_rows,
    write_plan,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.orders import store
from agora.orders.projections import OrderViews
from agora.orders.seeding import OrdersSeeder
from agora.orders.translation import order_pb
from agora.payments.seeding import PaymentsSeeder, invoiced
from agora.platform.db import session_factory, transaction
from agora.platform.seeding import SeedPlan
from agora.seed.checks import check_consistency
from agora.seed.generate import build_plan

TIMEOUT_S = 30.0
ALL_OUTCOMES = {
    "placed",
    "awaiting_payment",
    "paid",
    "fulfilled",
    "shipped",
    "delivered",
    "cancelled",
    "expired",
    "refunded",
}


def minimal_plan(now: datetime | None = None) -> SeedPlan:
    """The minimal profile (every outcome; open orders placed minutes before `now`)."""
    return build_plan("minimal", seed=5, scale=1.0, now=now)


@pytest.fixture(scope="module")
async def plan(seed_schemas: str) -> AsyncIterator[SeedPlan]:
    """A plan written by the catalog, orders and payments writers."""
    seeded = minimal_plan()
    assert {order.outcome for order in seeded.orders} == ALL_OUTCOMES
    await write_plan(seed_schemas, seeded)
    yield seeded
    await clean_plan(seed_schemas, seeded)


async def test_seeded_orders_and_invoices_are_consistent(seed_schemas: str, plan: SeedPlan) -> None:
    assert await check_consistency(seed_schemas, plan) == []


async def test_get_order_serves_each_seeded_order_as_the_fold_of_its_events(
    plan: SeedPlan, seed_orders: OrdersServiceStub, seed_orders_engine: AsyncEngine
) -> None:
    seen = set()
    async with seed_orders_engine.connect() as conn:
        for order in plan.orders:
            served = await seed_orders.GetOrder(pb.GetOrderRequest(id=order.id), timeout=TIMEOUT_S)
            history = await store.load(conn, order.id)
            folded = order_pb(
                history.order, placed_at=history.placed_at, updated_at=history.updated_at
            )
            assert served == folded
            assert served.totals.total.amount_minor == order.total_minor
            seen.add(pb.OrderStatus.Name(served.status))
    assert {"ORDER_STATUS_REFUNDED", "ORDER_STATUS_SHIPPED", "ORDER_STATUS_PLACED"} <= seen


async def test_a_paid_order_has_its_settled_invoice_and_a_refunded_one_its_refund(
    seed_schemas: str, plan: SeedPlan
) -> None:
    refunded = next(o for o in plan.orders if o.outcome == "refunded")
    expired = next(o for o in plan.orders if o.outcome == "expired")
    async with in_schema(seed_schemas, "payments") as conn:
        invoice = await conn.fetchrow("SELECT * FROM invoices WHERE id = $1", refunded.invoice_id)
        refunds = await conn.fetchval(
            "SELECT sum(amount) FROM invoice_refunds WHERE invoice_id = $1", refunded.invoice_id
        )
        lapsed = await conn.fetchval(
            "SELECT status FROM invoices WHERE id = $1", expired.invoice_id
        )
    assert invoice["status"] == "settled"
    assert invoice["reference"] == refunded.id
    assert invoice["price_amount"] == refunded.total_minor == int(invoice["due"])
    assert (invoice["rate_numerator"], invoice["rate_denominator"]) == (1, 1)
    assert refunds == refunded.total_minor
    assert lapsed == "expired"


async def test_the_same_plan_is_written_byte_for_byte_the_same_twice(
    seed_schemas: str, plan: SeedPlan
) -> None:
    before = await seeded_rows(seed_schemas, plan)
    again = minimal_plan(plan.now)
    assert again == plan
    await write_plan(seed_schemas, again, ORDERS_AND_PAYMENTS)
    assert await seeded_rows(seed_schemas, again) == before
    assert await check_consistency(seed_schemas, again) == []


async def test_writing_in_small_batches_built_by_worker_processes_gives_the_same_rows(
    seed_schemas: str, plan: SeedPlan
) -> None:
    before = await seeded_rows(seed_schemas, plan)
    batched = (OrdersSeeder(batch_size=7), PaymentsSeeder(batch_size=7))
    written = await write_plan(seed_schemas, plan, batched)
    assert written["orders"] == len(plan.orders)
    assert await seeded_rows(seed_schemas, plan) == before
    assert await check_consistency(seed_schemas, plan) == []


async def test_a_corrupted_projection_is_reported(seed_schemas: str, plan: SeedPlan) -> None:
    order = next(o for o in plan.orders if o.outcome == "delivered")
    async with in_schema(seed_schemas, "orders") as conn:
        detail = pb.Order.FromString(
            await conn.fetchval("SELECT detail FROM order_details WHERE order_id = $1", order.id)
        )
        detail.status = pb.ORDER_STATUS_SHIPPED
        await conn.execute(
            "UPDATE order_details SET detail = $2 WHERE order_id = $1",
            order.id,
            detail.SerializeToString(),
        )
    try:
        problems = await check_consistency(seed_schemas, plan)
        assert problems == [
            f"order {order.id}: order_details differs from the fold of its events in status"
        ]
    finally:
        await write_plan(seed_schemas, plan, ORDERS_AND_PAYMENTS)


async def test_a_paid_order_without_a_settled_invoice_is_reported(
    seed_schemas: str, plan: SeedPlan
) -> None:
    order = next(o for o in plan.orders if o.outcome == "delivered")
    async with in_schema(seed_schemas, "payments") as conn:
        await conn.execute("UPDATE invoices SET status = 'expired' WHERE id = $1", order.invoice_id)
    try:
        problems = await check_consistency(seed_schemas, plan)
        assert problems == [
            f"order {order.id} (ORDER_STATUS_DELIVERED): no settled invoice for "
            f"{order.total_minor} {order.currency}"
        ]
    finally:
        await write_plan(seed_schemas, plan, ORDERS_AND_PAYMENTS)


async def test_cleaning_removes_the_plan_and_leaves_an_api_order_untouched(
    seed_schemas: str,
    plan: SeedPlan,
    seed_catalog: CatalogServiceStub,
    seed_orders: OrdersServiceStub,
) -> None:
    placed = await place_order(seed_catalog, seed_orders)
    async with in_schema(seed_schemas, "orders") as conn:
        api_events = await _events_of(conn, placed.id)
    try:
        deleted = await clean_plan(seed_schemas, plan, ORDERS_AND_PAYMENTS)
        assert deleted["order_list"] == deleted["order_details"] == len(plan.orders)
        assert deleted["invoices"] == sum(1 for o in plan.orders if invoiced(o))
        assert set((await seeded_rows(seed_schemas, plan)).values()) == {f"0:{_EMPTY_DIGEST}"}
        async with in_schema(seed_schemas, "orders") as conn:
            assert await _events_of(conn, placed.id) == api_events
        fetched = await seed_orders.GetOrder(pb.GetOrderRequest(id=placed.id), timeout=TIMEOUT_S)
        assert fetched.customer_id == placed.customer_id == "api-customer"
    finally:
        await write_plan(seed_schemas, plan, ORDERS_AND_PAYMENTS)


async def _events_of(conn: asyncpg.Connection, order_id: str) -> list[tuple[object, ...]]:
    rows = await conn.fetch(
        "SELECT * FROM order_events WHERE order_id = $1 ORDER BY version", order_id
    )
    return [tuple(row) for row in rows]


_EMPTY_DIGEST = "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"


async def test_resetting_the_order_views_rebuilds_seeded_history_from_the_event_store(
    seed_schemas: str, plan: SeedPlan, seed_orders_engine: AsyncEngine
) -> None:
    # Seeded events never went through the stream: a rebuild must not lose their views.
    async with transaction(session_factory(seed_orders_engine)) as session:
        await OrderViews().reset(session)
    assert await check_consistency(seed_schemas, plan) == []
    async with in_schema(seed_schemas, "orders") as conn:
        views = await conn.fetchval(
            "SELECT count(*) FROM order_details WHERE order_id = ANY($1::uuid[])",
            [order.id for order in plan.orders],
        )
    assert views == len(plan.orders)
