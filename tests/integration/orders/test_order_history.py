"""GetOrderHistory: staff read an order's events with their times and the status each left."""

from __future__ import annotations

import grpc
from orders_support import TIMEOUT_S, customer, error_of, placed_order
from sqlalchemy.ext.asyncio import AsyncEngine
from test_order_fulfilment import STAFF, fulfil, order_in, ship

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.orders.aggregate import OrderStatus


async def test_the_history_lists_each_event_oldest_first_with_the_status_it_left(
    orders: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    order = await order_in(orders, orders_engine, lamp, OrderStatus.PAID)
    await fulfil(orders, order.id)
    shipped = await ship(orders, order.id)

    history = await orders.GetOrderHistory(
        pb.GetOrderHistoryRequest(id=order.id), metadata=STAFF, timeout=TIMEOUT_S
    )

    entries = list(history.entries)
    assert [e.version for e in entries] == list(range(1, shipped.version + 1))
    assert entries[0].type == "placed"
    assert entries[0].status == pb.ORDER_STATUS_PLACED
    assert [e.type for e in entries[-2:]] == ["fulfilled", "shipped"]
    assert entries[-1].status == pb.ORDER_STATUS_SHIPPED
    times = [e.occurred_at.ToDatetime() for e in entries]
    assert times == sorted(times)


async def test_a_customer_may_not_read_an_order_history_even_of_their_own_order(
    orders: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    _, own = customer()
    order = await placed_order(orders, lamp, own)
    code, _ = await error_of(
        orders.GetOrderHistory(pb.GetOrderHistoryRequest(id=order.id), metadata=own)
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
