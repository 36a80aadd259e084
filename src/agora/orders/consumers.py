"""The event consumers of the orders service, each a durable consumer with an inbox (so every
handler runs once per event, whatever is redelivered).

- `OrderViews` (projections.py) keeps the read models.
- `StockRelease` gives an order's reserved stock back to the catalog once the order is
  cancelled or expired (restocks it, when the order was cancelled after payment): reliable,
  because the event is in the outbox of the transaction that ended the order, and the catalog
  call's idempotency key derives from the order.
- The checkout saga (saga.py): `InvoiceRequest`, `PaymentOutcome` (on payments' stream),
  `StockCommit` and `InvoiceCancellation`, each deciding with the `Order` aggregate's commands
  and appending through `store.append`, exactly as the servicer does.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as ev
from agora.orders.clients import Catalog, Payments
from agora.orders.events import ORDER_CANCELLED, ORDER_EXPIRED, STREAM
from agora.orders.projections import OrderViews
from agora.orders.saga import InvoiceCancellation, InvoiceRequest, PaymentOutcome, StockCommit
from agora.platform.bus.consumer import EventConsumer, live_only
from agora.platform.bus.envelope import decode

STOCK_RELEASE = "orders-stock-release"


class StockRelease:
    """Releases the catalog reservation of every cancelled or expired order; restocks that of
    an order cancelled after payment."""

    name = STOCK_RELEASE
    stream = STREAM
    filter_subjects = [ORDER_CANCELLED, ORDER_EXPIRED]

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        """Release (or restock) the order's reservation (a failure is retried by the
        consumer)."""
        if envelope.subject == ORDER_CANCELLED:
            ended: ev.OrderCancelled | ev.OrderExpired = decode(envelope, ev.OrderCancelled)
        else:
            ended = decode(envelope, ev.OrderExpired)
        if not ended.reservation_id:
            return
        if isinstance(ended, ev.OrderCancelled) and ended.after_payment:
            await self._catalog.restock(ended.order_id, ended.reservation_id)
        else:
            await self._catalog.release(ended.order_id, ended.reservation_id)


def order_consumers(
    js: JetStreamContext,
    sessions: async_sessionmaker[AsyncSession],
    catalog: Catalog,
    payments: Payments,
) -> list[EventConsumer]:
    """Every durable consumer the orders service runs: over its own ORDERS stream, and the
    saga's one over payments' PAYMENTS stream (waited for until payments has created it)."""
    handlers = (
        OrderViews(),
        StockRelease(catalog),
        InvoiceRequest(payments),
        PaymentOutcome(),
        StockCommit(catalog),
        InvoiceCancellation(payments),
    )
    return [
        EventConsumer(
            js,
            sessions,
            stream=h.stream,
            durable=h.name,
            filter_subjects=h.filter_subjects,
            # Seeded history is never invoiced, charged or restocked again, and its views are
            # written by the seeder (kept by a rebuild's refold): every handler skips it.
            handler=live_only(h.handle),
            batched=getattr(h, "batched", False),
        )
        for h in handlers
    ]
