"""Factories for the recommendation tests: order and catalog events published to their real
streams as their producers' relays publish them, and draining the support consumers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from nats.js import JetStreamContext

from agora._proto.agora.catalog.v1 import catalog_pb2 as catalog_pb
from agora._proto.agora.catalog.v1 import events_pb2 as catalog_events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_events
from agora._proto.agora.orders.v1 import orders_pb2 as orders_pb
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import new_envelope
from agora.support.consumers import PRODUCT_TEXTS, PURCHASE_COUNTS


def new_id() -> str:
    return str(uuid.uuid4())


async def publish(js: JetStreamContext, envelope: EventEnvelope) -> EventEnvelope:
    """On the envelope's subject, deduplicated by its event id as the relay does."""
    await js.publish(
        envelope.subject, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id}
    )
    return envelope


async def order_placed(
    js: JetStreamContext, order_id: str, customer_id: str, product_ids: Sequence[str]
) -> EventEnvelope:
    lines = [
        orders_pb.OrderLine(product_id=p, variant_id=new_id(), quantity=1) for p in product_ids
    ]
    event = order_events.OrderPlaced(order_id=order_id, customer_id=customer_id, lines=lines)
    return await publish(js, _order_envelope("placed", event, order_id, 1))


async def order_paid(js: JetStreamContext, order_id: str) -> EventEnvelope:
    event = order_events.OrderPaid(order_id=order_id, invoice_id=new_id())
    return await publish(js, _order_envelope("paid", event, order_id, 3))


async def order_cancelled(js: JetStreamContext, order_id: str) -> EventEnvelope:
    event = order_events.OrderCancelled(order_id=order_id, reason="customer")
    return await publish(js, _order_envelope("cancelled", event, order_id, 3))


async def bought(js: JetStreamContext, product_ids: Sequence[str], customer_id: str = "") -> str:
    """A placed and paid order of `product_ids`; its id."""
    order_id = new_id()
    await order_placed(js, order_id, customer_id, product_ids)
    await order_paid(js, order_id)
    return order_id


def _order_envelope(kind: str, event: object, order_id: str, version: int) -> EventEnvelope:
    return new_envelope(
        producer="orders",
        subject=f"orders.order.{kind}",
        event=event,  # type: ignore[arg-type]
        aggregate_id=order_id,
        aggregate_version=version,
    )


async def product_published(
    js: JetStreamContext,
    product_id: str,
    title: str,
    description: str = "",
    *,
    version: int = 2,
    published: bool = True,
) -> EventEnvelope:
    status = catalog_pb.PRODUCT_STATUS_PUBLISHED if published else catalog_pb.PRODUCT_STATUS_DRAFT
    product = catalog_pb.Product(
        id=product_id, title=title, description=description, status=status, version=version
    )
    if published:
        event: object = catalog_events.ProductPublished(product=product)
        subject = "catalog.product.published"
    else:
        event = catalog_events.ProductUpdated(product=product, changed_fields=["title"])
        subject = "catalog.product.updated"
    return await publish(js, _product_envelope(subject, event, product_id, version))


async def product_updated(
    js: JetStreamContext, product_id: str, title: str, description: str, *, version: int
) -> EventEnvelope:
    product = catalog_pb.Product(
        id=product_id,
        title=title,
        description=description,
        status=catalog_pb.PRODUCT_STATUS_PUBLISHED,
        version=version,
    )
    event = catalog_events.ProductUpdated(product=product, changed_fields=["title"])
    return await publish(
        js, _product_envelope("catalog.product.updated", event, product_id, version)
    )


async def product_archived(js: JetStreamContext, product_id: str, *, version: int) -> EventEnvelope:
    event = catalog_events.ProductArchived(product_id=product_id, slug="archived")
    return await publish(
        js, _product_envelope("catalog.product.archived", event, product_id, version)
    )


def _product_envelope(subject: str, event: object, product_id: str, version: int) -> EventEnvelope:
    return new_envelope(
        producer="catalog",
        subject=subject,
        event=event,  # type: ignore[arg-type]
        aggregate_id=product_id,
        aggregate_version=version,
    )


async def drain(consumer: EventConsumer) -> int:
    """Handle every message waiting for `consumer`; how many there were."""
    handled = 0
    while True:
        count = await consumer.consume_once(timeout_s=0.5)
        if count == 0:
            return handled
        handled += count


async def drain_all(consumers: dict[str, EventConsumer]) -> None:
    """Both recommendation consumers, catalog first (products before their sales)."""
    await drain(consumers[PRODUCT_TEXTS])
    await drain(consumers[PURCHASE_COUNTS])


async def published_products(
    js: JetStreamContext, consumers: dict[str, EventConsumer], titles: Sequence[str]
) -> list[str]:
    """Products the catalog published, one per title, known to the support service."""
    ids = []
    for title in titles:
        product_id = new_id()
        await product_published(js, product_id, title, f"{title} for the shop.")
        ids.append(product_id)
    await drain(consumers[PRODUCT_TEXTS])
    return ids
