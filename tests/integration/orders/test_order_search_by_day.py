"""Staff's order search by the days orders were placed on: UTC days, both ends included."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import sqlalchemy as sa
from orders_support import TIMEOUT_S, error_of, eventually, key, product, ready_cart
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub

# Moments on three days no other test places orders on: the first and last instants of a day.
PLACED = (
    datetime(2001, 3, 1, 0, 0, 0, tzinfo=UTC),
    datetime(2001, 3, 2, 12, 0, 0, tzinfo=UTC),
    datetime(2001, 3, 3, 23, 59, 59, 999_999, tzinfo=UTC),
)


@contextlib.asynccontextmanager
async def orders_placed_on_three_days(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub, engine: AsyncEngine
) -> AsyncIterator[list[str]]:
    """Three orders, listed, moved to the days of PLACED in the list's read model while in
    use, then put back where their events say (the read models' replay test compares them)."""
    product_id, variant_id = await product(catalog_stub)
    ids = []
    for _ in PLACED:
        cart = await ready_cart(orders, product_id, variant_id)
        placed = await orders.PlaceOrder(
            pb.PlaceOrderRequest(idempotency_key=key(), cart_token=cart.token), timeout=TIMEOUT_S
        )
        ids.append(placed.id)

    async def listed() -> bool:
        async with engine.connect() as conn:
            found = await conn.execute(
                sa.text("SELECT count(*) FROM order_list WHERE order_id = ANY(:ids)"), {"ids": ids}
            )
            return found.scalar_one() == len(ids)

    await eventually(listed)
    moved = sa.text(
        "UPDATE order_list SET placed_at = :at WHERE order_id = :id RETURNING "
        "(SELECT placed_at FROM order_list WHERE order_id = :id)"
    )
    async with engine.begin() as conn:
        kept = [
            (order_id, (await conn.execute(moved, {"at": moment, "id": order_id})).scalar_one())
            for order_id, moment in zip(ids, PLACED, strict=True)
        ]
    try:
        yield ids
    finally:
        async with engine.begin() as conn:
            for order_id, moment in kept:
                await conn.execute(
                    sa.text("UPDATE order_list SET placed_at = :at WHERE order_id = :id"),
                    {"at": moment, "id": order_id},
                )


async def found_between(orders: OrdersServiceStub, first: str, last: str) -> list[str]:
    page = await orders.SearchOrders(
        pb.SearchOrdersRequest(placed_from=first, placed_to=last, page_size=100),
        timeout=TIMEOUT_S,
    )
    return [o.id for o in page.orders]


async def test_orders_are_found_by_the_days_they_were_placed_on_both_days_included(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub, orders_engine: AsyncEngine
) -> None:
    async with orders_placed_on_three_days(orders, catalog_stub, orders_engine) as ids:
        await found_in_day_ranges(orders, *ids)


async def found_in_day_ranges(
    orders: OrdersServiceStub, first: str, middle: str, last: str
) -> None:

    assert await found_between(orders, "2001-03-01", "2001-03-03") == [last, middle, first]
    assert await found_between(orders, "2001-03-01", "2001-03-01") == [first]
    assert await found_between(orders, "2001-03-02", "2001-03-02") == [middle]
    assert await found_between(orders, "2001-03-03", "2001-03-03") == [last]
    assert await found_between(orders, "2001-03-02", "2001-03-04") == [last, middle]
    assert await found_between(orders, "2001-03-04", "2001-03-31") == []
    before = await found_between(orders, "", "2001-03-01")
    assert first in before
    assert middle not in before
    after = await found_between(orders, "2001-03-03", "")
    assert last in after
    assert middle not in after

    paged: list[str] = []
    token = ""
    while True:
        page = await orders.SearchOrders(
            pb.SearchOrdersRequest(
                placed_from="2001-03-01", placed_to="2001-03-03", page_size=2, page_token=token
            ),
            timeout=TIMEOUT_S,
        )
        paged += [o.id for o in page.orders]
        token = page.next_page_token
        if not token:
            break
    assert paged == [last, middle, first]


async def test_a_day_range_ending_before_it_starts_or_a_day_not_in_the_calendar_is_refused(
    orders: OrdersServiceStub,
) -> None:
    reversed_code, reversed_info = await error_of(
        orders.SearchOrders(
            pb.SearchOrdersRequest(placed_from="2001-03-03", placed_to="2001-03-01"),
            timeout=TIMEOUT_S,
        )
    )
    assert reversed_code == grpc.StatusCode.INVALID_ARGUMENT
    assert "placedTo" in reversed_info.message
    no_day_code, _ = await error_of(
        orders.SearchOrders(pb.SearchOrdersRequest(placed_from="2001-02-30"), timeout=TIMEOUT_S)
    )
    assert no_day_code == grpc.StatusCode.INVALID_ARGUMENT
    shape_code, _ = await error_of(
        orders.SearchOrders(pb.SearchOrdersRequest(placed_to="3/1/2001"), timeout=TIMEOUT_S)
    )
    assert shape_code == grpc.StatusCode.INVALID_ARGUMENT
