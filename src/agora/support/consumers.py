"""The event consumers that keep the recommendation models up to date, each a durable consumer
with an inbox (so every handler runs once per event, whatever is redelivered), each event one
small incremental change in the consumer's transaction.

- `PurchaseCounts` (ORDERS stream): an order counts once it is both placed (its lines) and paid,
  whichever event arrives first (`recommending.purchase_after`); counting adds the order to the
  products' sales, their co-purchases and the total.
- `ProductTexts` (CATALOG stream): what the catalog published, and the embedding of each
  product's name and description, redone when they change.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.catalog.v1 import catalog_pb2 as catalog_pb
from agora._proto.agora.catalog.v1 import events_pb2 as catalog_events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_events
from agora.platform.bus.consumer import EventConsumer, live_only
from agora.platform.bus.envelope import decode
from agora.platform.kernel.clock import utcnow
from agora.platform.rpc.timestamps import datetime_of
from agora.support import store
from agora.support.embeddings import TextEmbedder
from agora.support.recommending import (
    CatalogProduct,
    OrderFact,
    product_archived,
    product_text,
    product_update,
    purchase_after,
)

PURCHASE_COUNTS = "support-purchase-counts"
PRODUCT_TEXTS = "support-product-texts"

# The orders service's stream and subjects (docs: proto/agora/orders/v1/events.proto).
ORDERS_STREAM = "ORDERS"
ORDER_PLACED = "orders.order.placed"
ORDER_PAID = "orders.order.paid"
ORDER_CANCELLED = "orders.order.cancelled"
ORDER_EXPIRED = "orders.order.expired"

# The catalog's (proto/agora/catalog/v1/events.proto).
CATALOG_STREAM = "CATALOG"
PRODUCT_CREATED = "catalog.product.created"
PRODUCT_UPDATED = "catalog.product.updated"
PRODUCT_PUBLISHED = "catalog.product.published"
PRODUCT_ARCHIVED = "catalog.product.archived"


class PurchaseCounts:
    """Counts every paid order in the sales and co-purchases, once."""

    name = PURCHASE_COUNTS
    stream = ORDERS_STREAM
    filter_subjects = [ORDER_PLACED, ORDER_PAID, ORDER_CANCELLED, ORDER_EXPIRED]

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        order_id = envelope.aggregate_id
        current = await store.purchase(session, order_id)
        if envelope.subject == ORDER_PLACED:
            placed = decode(envelope, order_events.OrderPlaced)
            record, count = purchase_after(
                current,
                OrderFact.PLACED,
                order_id=order_id,
                customer_id=placed.customer_id,
                placed_at=datetime_of(envelope.occurred_at),
                product_ids=[line.product_id for line in placed.lines],
            )
        else:
            fact = OrderFact.PAID if envelope.subject == ORDER_PAID else OrderFact.ENDED
            record, count = purchase_after(current, fact, order_id=order_id)
        if record != current:
            await store.save_purchase(session, record)
        if count:
            await store.count_purchase(session, record.product_ids)


class ProductTexts:
    """Keeps the published products and the embeddings of their text."""

    name = PRODUCT_TEXTS
    stream = CATALOG_STREAM
    filter_subjects = [PRODUCT_CREATED, PRODUCT_UPDATED, PRODUCT_PUBLISHED, PRODUCT_ARCHIVED]

    def __init__(self, embedder: TextEmbedder) -> None:
        self._embedder = embedder

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        product_id = envelope.aggregate_id
        stored = await store.catalog_product(session, product_id)
        if envelope.subject == PRODUCT_ARCHIVED:
            archived = product_archived(stored, envelope.aggregate_version)
            if archived is not None:
                await store.save_product(
                    session, archived, embedding=None, keep_embedding=True, now=utcnow()
                )
            return
        announced = _announced(envelope)
        product, text_changed = product_update(stored, announced)
        if product is None:
            return
        embedding = None
        if text_changed:
            text = product_text(product.title, product.description)
            embedding = (await self._embedder.embed_async([text]))[0]
        await store.save_product(
            session, product, embedding=embedding, keep_embedding=not text_changed, now=utcnow()
        )


# Each announcement's event type; all carry a snapshot of the product.
_SNAPSHOTS = {
    PRODUCT_CREATED: catalog_events.ProductCreated,
    PRODUCT_UPDATED: catalog_events.ProductUpdated,
    PRODUCT_PUBLISHED: catalog_events.ProductPublished,
}


def _announced(envelope: EventEnvelope) -> CatalogProduct:
    product: catalog_pb.Product = decode(envelope, _SNAPSHOTS[envelope.subject]).product
    return CatalogProduct(
        product_id=product.id,
        title=product.title,
        description=product.description,
        published=product.status == catalog_pb.PRODUCT_STATUS_PUBLISHED,
        version=envelope.aggregate_version,
    )


def support_consumers(
    js: JetStreamContext, sessions: async_sessionmaker[AsyncSession], embedder: TextEmbedder
) -> list[EventConsumer]:
    """Every durable consumer the support service runs (each waits until its stream exists)."""
    handlers = (PurchaseCounts(), ProductTexts(embedder))
    return [
        EventConsumer(
            js,
            sessions,
            stream=h.stream,
            durable=h.name,
            filter_subjects=h.filter_subjects,
            # The seeder writes both models from its plan: seeded history is not counted twice.
            handler=live_only(h.handle),
        )
        for h in handlers
    ]
