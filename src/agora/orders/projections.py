"""The order read models, fed by the order events on the ORDERS stream: the order detail (the
API's `Order`), and the list rows behind a customer's order list and the staff search.

They hold nothing the events do not say, so `agora events replay orders-order-views` (or
`rebuild`) throws them away and builds them again, identically.

Each event brings the order's view up to the order's latest version, folded from the event store
this service owns: a view never depends on the order its events arrive in, so an event delayed by
a crash (redelivered only after the consumer's ack wait) holds nothing back, and a late one
changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora.orders import store
from agora.orders.events import ORDER_SUBJECTS, RETURN_SUBJECTS, STREAM
from agora.orders.translation import EVENT_TYPE_BY_NAME, order_pb
from agora.platform.rpc.timestamps import datetime_of

ORDER_VIEWS = "orders-order-views"


class OrderViews:
    """The `Projection` of order events into `order_details` and `order_list`."""

    name = ORDER_VIEWS
    stream = STREAM
    # A return request is an order event too: it moves the order's version the view shows.
    filter_subjects = [ORDER_SUBJECTS, RETURN_SUBJECTS]

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        """Bring the order's view up to date (an event already reflected changes nothing)."""
        if envelope.type not in EVENT_TYPE_BY_NAME:
            return  # a newer producer's event this version does not know: nothing to show
        current = await store.order_view_version(session, envelope.aggregate_id, for_update=True)
        if current is not None and envelope.aggregate_version <= current:
            return
        history = await store.load(session, envelope.aggregate_id)
        view = order_pb(history.order, placed_at=history.placed_at, updated_at=history.updated_at)
        await store.save_order_view(session, view, list_row(view))

    async def reset(self, session: AsyncSession) -> None:
        """Rebuild every view from the event store. Events replayed from the stream afterwards
        change nothing; history that never went through the stream (seeded orders) is not lost."""
        await store.clear_order_views(session)
        async for folded in store.histories(session):
            views = [
                order_pb(h.order, placed_at=h.placed_at, updated_at=h.updated_at) for h in folded
            ]
            await store.insert_order_views(session, [(v, list_row(v)) for v in views])


def list_row(view: pb.Order) -> dict[str, Any]:
    """The order's row in `order_list`: what lists show and staff search matches."""
    address = view.shipping_address
    searchable = (view.id, address.name, address.email, address.city, address.postal_code)
    return {
        "order_id": view.id,
        "customer_id": view.customer_id,
        "status": pb.OrderStatus.Name(view.status),
        "currency": view.currency,
        "total_minor": view.totals.total.amount_minor,
        "item_count": sum(line.quantity for line in view.lines),
        "customer_name": address.name,
        "email": address.email,
        "country": address.country,
        "search_text": " ".join(searchable).lower(),
        "placed_at": datetime_of(view.placed_at),
        "updated_at": datetime_of(view.updated_at),
    }
