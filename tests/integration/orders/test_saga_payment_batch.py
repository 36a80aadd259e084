"""The saga's payments consumer (`PaymentOutcome`) takes a whole fetched batch of payments' events
in one transaction: invoices of no order are passed over, an order's settlement, withdrawal and
settlement again are applied once each and in stream order, a redelivered copy changes nothing.

The events are published by hand to a JetStream of the test's own (no payments running), and the
consumer is the one `order_consumers` composes, over the session's orders database."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, cast

import nats
import sqlalchemy as sa
from google.protobuf.message import Message
from orders_support import TIMEOUT_S, product, ready_cart
from saga_support import own_jetstream, place
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora._proto.agora.payments.v1 import events_pb2 as payment_events
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.orders import store
from agora.orders.aggregate import OrderStatus
from agora.orders.consumers import order_consumers
from agora.orders.saga import INVOICE_SETTLED, PAYMENT_WITHDRAWN, PaymentOutcome
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.db import session_factory


def settled(invoice: ppb.Invoice) -> EventEnvelope:
    return _payments_event(INVOICE_SETTLED, payment_events.InvoiceSettled(invoice=invoice))


def withdrawn(invoice: ppb.Invoice) -> EventEnvelope:
    return _payments_event(PAYMENT_WITHDRAWN, payment_events.PaymentWithdrawn(invoice=invoice))


def _payments_event(subject: str, event: Message) -> EventEnvelope:
    invoice = cast(Any, event).invoice
    return new_envelope(producer="payments", subject=subject, event=event, aggregate_id=invoice.id)


def invoice_for(reference: str, status: int = ppb.INVOICE_STATUS_SETTLED) -> ppb.Invoice:
    return ppb.Invoice(id=str(uuid.uuid4()), reference=reference, status=status)  # type: ignore[arg-type]


def payment_outcome(js: Any, engine: AsyncEngine) -> EventConsumer:
    """The saga's payments consumer exactly as the orders service composes it."""
    unused = cast(Any, object())  # PaymentOutcome calls no other service
    consumers = order_consumers(js, session_factory(engine), catalog=unused, payments=unused)
    [consumer] = [c for c in consumers if c.durable == PaymentOutcome.name]
    return consumer


async def test_one_batch_of_payments_events_pays_the_order_once_and_passes_over_the_rest(
    orders: OrdersServiceStub,
    catalog_stub: CatalogServiceStub,
    orders_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    product_id, variant_id = await product(catalog_stub, on_hand=5)
    order = await place(orders, await ready_cart(orders, product_id, variant_id, quantity=1))
    assert order.status == pb.ORDER_STATUS_PLACED  # no payments here: it waits for an invoice
    paid = invoice_for(order.id)
    first_settlement = settled(paid)
    batch = [
        settled(invoice_for("bench-chain-1-0")),  # a reference that is no order id
        settled(invoice_for(str(uuid.uuid4()))),  # an order id of no order
        first_settlement,
        first_settlement,  # redelivered: the inbox absorbs it
        withdrawn(
            ppb.Invoice(id=paid.id, reference=order.id, status=ppb.INVOICE_STATUS_PROCESSING)
        ),
        settled(paid),  # the same invoice settles again (after a reorg)
    ]
    with own_jetstream(tmp_path / "nats") as nats_url:
        connection = await nats.connect(nats_url)
        try:
            js = connection.jetstream()
            await ensure_stream(js, producer_stream("payments", replicas=1))
            for envelope in batch:
                await js.publish(envelope.subject, envelope.SerializeToString())
            consumer = payment_outcome(js, orders_engine)
            assert await consumer.consume_once(timeout_s=TIMEOUT_S) == len(batch)
            assert await consumer.consume_once(timeout_s=0.5) == 0  # every one acked
        finally:
            await connection.close()

    async with orders_engine.connect() as conn:
        history = await store.load(conn, order.id)
        kinds = (
            await conn.execute(
                sa.text("SELECT type FROM order_events WHERE order_id = :id ORDER BY version"),
                {"id": order.id},
            )
        ).scalars()
        transactions = (
            await conn.execute(
                sa.text(
                    "SELECT count(DISTINCT xmin::text) FROM inbox "
                    "WHERE consumer = :consumer AND event_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"consumer": PaymentOutcome.name, "ids": [e.event_id for e in batch]},
            )
        ).scalar_one()
    assert list(kinds) == [
        "placed",
        "awaiting_payment",
        "paid",
        "payment_at_risk",
        "payment_restored",
    ]
    assert history.order.status is OrderStatus.PAID
    assert not history.order.payment_at_risk
    assert transactions == 1  # the whole batch, in one transaction
