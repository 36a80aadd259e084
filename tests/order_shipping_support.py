"""Moves an order along as payments and the warehouse would: there is no RPC that ships an
order yet, so tests append its events through the orders domain (`saga.change_order`, the path
the checkout saga takes), in a transaction of the orders schema."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from agora.orders.aggregate import Order, OrderEvent, OrderStatus
from agora.orders.saga import Decide, change_order
from agora.platform.db import session_factory, transaction


def _next_step(carrier: str, tracking_number: str, target: OrderStatus) -> Decide:
    def decide(order: Order) -> list[OrderEvent]:
        match order.status:
            case _ if order.status is target:
                return []
            case OrderStatus.PLACED:
                return [order.await_payment(f"inv-{order.id}")]
            case OrderStatus.AWAITING_PAYMENT:
                return [order.mark_paid("")]
            case OrderStatus.PAID:
                return [order.fulfil()]
            case OrderStatus.FULFILLED:
                return [order.ship(carrier, tracking_number)]
            case OrderStatus.SHIPPED:
                return [order.deliver()]
        raise AssertionError(f"an order {order.status.value} cannot reach {target.value}")

    return decide


async def advance_order(
    engine: AsyncEngine,
    order_id: str,
    target: OrderStatus = OrderStatus.SHIPPED,
    *,
    carrier: str = "DHL",
    tracking_number: str = "00340434161094042557",
) -> Order:
    """Append the events that take the order from where it is to `target` (placed ->
    awaiting_payment -> paid -> fulfilled -> shipped -> delivered)."""
    decide = _next_step(carrier, tracking_number, target)
    sessions = session_factory(engine)
    while True:
        async with transaction(sessions) as session:
            order = await change_order(session, order_id, decide)
        if order.status is target:
            return order
