"""Event consumers of the orders service, each a durable consumer with an inbox (so every
handler runs once per event, whatever is redelivered).

- `OrderViews` (projections.py) keeps the read models.
- `StockRelease` gives an order's reserved stock back to the catalog once the order is
  cancelled or expired: reliable, because the event is in the outbox of the transaction that
  ended the order, and the catalog call's idempotency key derives from the order.

The checkout saga (create the invoice at payments after `orders.order.placed`, then react to
`payments.invoice.settled | expired`) joins here as one more consumer in `order_consumers`:
it decides with the `Order` aggregate's commands (`await_payment`, `mark_paid`, `expire`) and
appends through `store.append`, exactly as the servicer does.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as ev
from agora.orders.catalog_client import Catalog
from agora.orders.events import ORDER_CANCELLED, ORDER_EXPIRED, STREAM
from agora.orders.projections import OrderViews
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import decode

STOCK_RELEASE = "orders-stock-release"


class StockRelease:
    """Releases the catalog reservation of every cancelled or expired order."""

    name = STOCK_RELEASE
    filter_subjects = [ORDER_CANCELLED, ORDER_EXPIRED]

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        """Release the order's reservation (a failure is retried by the consumer)."""
        if envelope.subject == ORDER_CANCELLED:
            ended: ev.OrderCancelled | ev.OrderExpired = decode(envelope, ev.OrderCancelled)
        else:
            ended = decode(envelope, ev.OrderExpired)
        if ended.reservation_id:
            await self._catalog.release(ended.order_id, ended.reservation_id)


def order_consumers(
    js: JetStreamContext, sessions: async_sessionmaker[AsyncSession], catalog: Catalog
) -> list[EventConsumer]:
    """Every durable consumer the orders service runs, over its own ORDERS stream."""
    consumers = []
    for handler in (OrderViews(), StockRelease(catalog)):
        consumers.append(
            EventConsumer(
                js,
                sessions,
                stream=STREAM,
                durable=handler.name,
                filter_subjects=handler.filter_subjects,
                handler=handler.handle,
            )
        )
    return consumers
