"""The consumers that feed the analytics read models, one durable consumer per stream, each a
`Projection` (replayable: `reset` empties exactly the tables it alone writes).

Each event is one small change in the consumer's transaction, applied once through the inbox.
Facts from different streams live in different tables and meet only in queries, so the order in
which streams are consumed never changes a figure. The daily rollup is written by the ORDERS
consumer alone, with additive upserts.

What no event tells: carts and checkouts started (orders publishes no cart events), and the
history the seeder writes straight into the services' tables (it never reaches a stream).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.auth.v1 import events_pb2 as auth_events
from agora._proto.agora.catalog.v1 import catalog_pb2 as catalog_pb
from agora._proto.agora.catalog.v1 import events_pb2 as catalog_events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_events
from agora._proto.agora.payments.v1 import events_pb2 as payment_events
from agora._proto.agora.payments.v1 import payments_pb2 as payments_pb
from agora._proto.agora.support.v1 import events_pb2 as support_events
from agora.admin import analytics_store as store
from agora.admin.analytics import day_of
from agora.admin.analytics_signals import AnalyticsSignals
from agora.admin.analytics_tables import (
    analytics_accounts,
    analytics_categories,
    analytics_conversations,
    analytics_daily_sales,
    analytics_invoices,
    analytics_order_lines,
    analytics_orders,
    analytics_prices,
    analytics_products,
    analytics_rates,
    analytics_stock,
)
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import decode
from agora.platform.bus.replay import rebuild
from agora.platform.rpc.timestamps import datetime_of

ORDERS_STREAM = "ORDERS"
PAYMENTS_STREAM = "PAYMENTS"
CATALOG_STREAM = "CATALOG"
AUTH_STREAM = "AUTH"
SUPPORT_STREAM = "SUPPORT"

Apply = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]


def _at(envelope: EventEnvelope) -> datetime:
    return datetime_of(envelope.occurred_at)


class OrderFacts:
    """ORDERS → order facts, their lines and the daily rollup; wakes the dashboards."""

    name = "admin-analytics-orders"
    stream = ORDERS_STREAM
    filter_subjects = ["orders.order.>", "orders.return.>"]
    tables = (analytics_orders, analytics_order_lines, analytics_daily_sales)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        apply = self._appliers.get(envelope.subject)
        if apply is None:
            return  # payment at risk / restored and newer events: no figure depends on them
        await apply(self, session, envelope)
        await AnalyticsSignals.record(session)

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)

    async def _placed(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        placed = decode(envelope, order_events.OrderPlaced)
        at = _at(envelope)
        fact = {
            "order_id": placed.order_id,
            "customer_id": placed.customer_id,
            "cart_id": placed.cart_id,
            "currency": placed.currency,
            "pay_currency": placed.pay_currency or placed.currency,
            "total_minor": placed.totals.total.amount_minor,
            "units": sum(line.quantity for line in placed.lines),
            "country": placed.shipping_address.country,
            "status": "placed",
            "invoice_id": "",
            "placed_at": at,
            "placed_day": day_of(at),
            "refunded_minor": 0,
            "subtotal_minor": placed.totals.subtotal.amount_minor,
            "shipping_minor": placed.totals.shipping.amount_minor,
            "tax_minor": placed.totals.tax.amount_minor,
            "tax_rate_bp": placed.totals.tax_rate_bp,
            "prices_include_tax": placed.totals.prices_include_tax,
        }
        lines = [
            {
                "order_id": placed.order_id,
                "line_no": n,
                "variant_id": line.variant_id,
                "product_id": line.product_id,
                "title": line.title,
                "quantity": line.quantity,
                "amount_minor": line.amount.amount_minor,
            }
            for n, line in enumerate(placed.lines)
        ]
        if await store.add_order(session, fact, lines):
            await store.add_to_day(session, day_of(at), placed.currency, orders_placed=1)

    async def _awaiting_payment(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        event = decode(envelope, order_events.OrderAwaitingPayment)
        if await store.order(session, event.order_id) is not None:
            await store.update_order(
                session,
                event.order_id,
                invoice_id=event.invoice_id,
                invoiced_at=_at(envelope),
                status="awaiting_payment",
            )

    async def _paid(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        event = decode(envelope, order_events.OrderPaid)
        fact = await store.order(session, event.order_id)
        if fact is None or fact.paid_at is not None:
            return
        at = _at(envelope)
        await store.update_order(
            session,
            event.order_id,
            invoice_id=event.invoice_id or fact.invoice_id,
            paid_at=at,
            paid_day=day_of(at),
            status="paid",
        )
        await store.add_to_day(
            session,
            day_of(at),
            fact.currency,
            orders_paid=1,
            revenue_minor=fact.total_minor,
            units=fact.units,
        )

    async def _refunded(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        event = decode(envelope, order_events.OrderRefunded)
        fact = await store.order(session, event.order_id)
        if fact is None:
            return
        amount = event.amount.amount_minor
        status = "refunded" if event.full else fact.status
        await store.update_order(
            session, event.order_id, refunded_minor=fact.refunded_minor + amount, status=status
        )
        await store.add_to_day(
            session, day_of(_at(envelope)), fact.currency, refunds=1, refunded_minor=amount
        )

    async def _return_requested(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        event = decode(envelope, order_events.ReturnRequested)
        fact = await store.order(session, event.order_id)
        if fact is not None:
            await store.add_to_day(
                session, day_of(_at(envelope)), fact.currency, returns_requested=1
            )

    async def _status(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        status = envelope.subject.rsplit(".", 1)[1]
        if await store.order(session, envelope.aggregate_id) is not None:
            await store.update_order(session, envelope.aggregate_id, status=status)

    _appliers: dict[str, Callable[[OrderFacts, AsyncSession, EventEnvelope], Awaitable[None]]] = {
        "orders.order.placed": _placed,
        "orders.order.awaiting_payment": _awaiting_payment,
        "orders.order.paid": _paid,
        "orders.order.refunded": _refunded,
        "orders.order.cancelled": _status,
        "orders.order.expired": _status,
        "orders.order.fulfilled": _status,
        "orders.order.shipped": _status,
        "orders.order.delivered": _status,
        "orders.return.requested": _return_requested,
    }


_INVOICE_EVENTS = {
    "payments.invoice.created": payment_events.InvoiceCreated,
    "payments.invoice.processing": payment_events.InvoiceProcessing,
    "payments.invoice.settled": payment_events.InvoiceSettled,
    "payments.invoice.expired": payment_events.InvoiceExpired,
    "payments.invoice.invalid": payment_events.InvoiceInvalid,
    "payments.invoice.refunded": payment_events.InvoiceRefunded,
}


class PaymentFacts:
    """PAYMENTS → each invoice's provider, pay currency and locked rate; announced rates."""

    name = "admin-analytics-payments"
    stream = PAYMENTS_STREAM
    filter_subjects = ["payments.invoice.>", "payments.rate.changed"]
    tables = (analytics_invoices, analytics_rates)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        if envelope.subject == "payments.rate.changed":
            changed = decode(envelope, payment_events.ExchangeRateChanged)
            quotes = {
                (r.base, r.quote, datetime_of(r.as_of)): r.rate for r in changed.rates if r.rate
            }
            await store.add_rates(
                session,
                [
                    {"base": b, "quote": q, "as_of": as_of, "rate": rate}
                    for (b, q, as_of), rate in quotes.items()
                ],
            )
            return
        event_type = _INVOICE_EVENTS.get(envelope.subject)
        if event_type is None:
            return
        invoice: payments_pb.Invoice = decode(envelope, event_type).invoice  # type: ignore[attr-defined]
        await store.save_invoice(
            session,
            {
                "invoice_id": invoice.id,
                "order_id": invoice.reference,
                "provider": invoice.provider,
                "pay_currency": invoice.pay_currency,
                "price_currency": invoice.price.currency,
                "price_minor": invoice.price.amount_minor,
                "rate": invoice.rate.rate,
                "status": payments_pb.InvoiceStatus.Name(invoice.status),
                "version": invoice.version,
            },
        )

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


class CatalogFacts:
    """CATALOG → product names and categories, category names, stock and prices per variant."""

    name = "admin-analytics-catalog"
    stream = CATALOG_STREAM
    filter_subjects = ["catalog.category.>", "catalog.product.>", "catalog.stock.>"]
    tables = (analytics_products, analytics_categories, analytics_stock, analytics_prices)

    _SNAPSHOTS = {
        "catalog.product.created": catalog_events.ProductCreated,
        "catalog.product.updated": catalog_events.ProductUpdated,
        "catalog.product.published": catalog_events.ProductPublished,
    }
    # Reservation events: (on hand, reserved) change per unit of each line.
    _RESERVATIONS = {
        "catalog.stock.reserved": (catalog_events.StockReserved, 0, 1),
        "catalog.stock.reservation_committed": (catalog_events.ReservationCommitted, -1, -1),
        "catalog.stock.reservation_released": (catalog_events.ReservationReleased, 0, -1),
        "catalog.stock.reservation_expired": (catalog_events.ReservationExpired, 0, -1),
    }

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        subject = envelope.subject
        if subject == "catalog.category.created":
            category = decode(envelope, catalog_events.CategoryCreated).category
            await store.save_category(session, category.id, category.name)
        elif subject in self._SNAPSHOTS:
            product: catalog_pb.Product = decode(envelope, self._SNAPSHOTS[subject]).product
            await self._product(session, product)
        elif subject == "catalog.product.variant_added":
            added = decode(envelope, catalog_events.VariantAdded)
            await store.name_variant(
                session, added.variant.id, added.product_id, added.variant.title
            )
            await store.set_prices(session, added.variant.id, list(added.variant.prices))
        elif subject == "catalog.product.prices_changed":
            priced = decode(envelope, catalog_events.PricesChanged)
            await store.set_prices(session, priced.variant_id, list(priced.prices))
        elif subject == "catalog.stock.changed":
            changed = decode(envelope, catalog_events.StockChanged)
            await store.set_stock(session, changed.variant_id, changed.on_hand, changed.reserved)
        elif subject in self._RESERVATIONS:
            event_type, on_hand, reserved = self._RESERVATIONS[subject]
            lines: list[catalog_pb.ReservationLine] = list(decode(envelope, event_type).lines)
            for line in lines:
                q = line.quantity
                await store.move_stock(
                    session, line.variant_id, on_hand=on_hand * q, reserved=reserved * q
                )

    async def _product(self, session: AsyncSession, product: catalog_pb.Product) -> None:
        await store.save_product(session, product.id, product.title, product.category_id)
        for variant in product.variants:
            title = f"{product.title} — {variant.title}" if variant.title else product.title
            await store.name_variant(session, variant.id, product.id, title)
            await store.set_prices(session, variant.id, list(variant.prices))

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


class AccountFacts:
    """AUTH → accounts by the day they registered."""

    name = "admin-analytics-accounts"
    stream = AUTH_STREAM
    filter_subjects = ["auth.user.registered"]
    tables = (analytics_accounts,)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        registered = decode(envelope, auth_events.UserRegistered)
        at = datetime_of(registered.registered_at) if registered.HasField("registered_at") else None
        await store.add_account(session, registered.user_id, day_of(at or _at(envelope)))

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


class SupportFacts:
    """SUPPORT → one fact per conversation: started, answered (and how fast), handed over,
    closed (resolved by the assistant or not)."""

    name = "admin-analytics-support"
    stream = SUPPORT_STREAM
    filter_subjects = ["support.conversation.>"]
    tables = (analytics_conversations,)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        subject = envelope.subject
        conversation = envelope.aggregate_id
        if subject == "support.conversation.started":
            started = decode(envelope, support_events.ConversationStarted)
            await store.save_conversation(
                session,
                started.conversation_id or conversation,
                started_day=day_of(_at(envelope)),
                customer_id=started.customer_id,
            )
        elif subject == "support.conversation.answered":
            answered = decode(envelope, support_events.ConversationAnswered)
            ms = answered.time_to_first_answer.ToMilliseconds()
            await store.save_conversation(
                session,
                answered.conversation_id or conversation,
                answered=True,
                time_to_first_answer_ms=ms,
            )
        elif subject == "support.conversation.handed_over":
            handed = decode(envelope, support_events.ConversationHandedOver)
            await store.save_conversation(
                session, handed.conversation_id or conversation, handed_over=True
            )
        elif subject == "support.conversation.closed":
            closed = decode(envelope, support_events.ConversationClosed)
            await store.save_conversation(
                session,
                closed.conversation_id or conversation,
                closed=True,
                resolved_by_assistant=closed.resolved_by_assistant,
            )

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


AnalyticsProjection = OrderFacts | PaymentFacts | CatalogFacts | AccountFacts | SupportFacts


def analytics_projections() -> list[AnalyticsProjection]:
    return [OrderFacts(), PaymentFacts(), CatalogFacts(), AccountFacts(), SupportFacts()]


def analytics_consumers(
    js: JetStreamContext,
    sessions: async_sessionmaker[AsyncSession],
    projections: Sequence[AnalyticsProjection] | None = None,
) -> list[EventConsumer]:
    """Every durable consumer of the analytics (each waits until its stream exists), batched:
    one transaction per fetched batch."""
    return [
        EventConsumer(
            js,
            sessions,
            stream=p.stream,
            durable=p.name,
            filter_subjects=p.filter_subjects,
            handler=p.handle,
            batched=True,
            batch=256,
        )
        for p in projections or analytics_projections()
    ]


async def rebuild_analytics(
    sessions: async_sessionmaker[AsyncSession], js: JetStreamContext
) -> list[ConsumerInfo]:
    """Empty every analytics model and its inbox, and replay each stream from its start (the
    running consumers then rebuild them)."""
    return [
        await rebuild(p, sessions, js, stream=p.stream, from_seq=1) for p in analytics_projections()
    ]
