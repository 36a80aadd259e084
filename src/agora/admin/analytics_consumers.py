"""The consumers that feed the analytics read models, one durable consumer per stream, each a
`Projection` (replayable: `reset` empties exactly the tables it alone writes).

Each fetched batch is folded in memory (`analytics_folds`) and written with a few set-based
statements, in the transaction that records its events in the inbox (so each applies once); a
single event is a batch of one. Facts from different streams live in different tables; the
rollups of one stream's facts are written by its consumer alone, with additive upserts. Where
ORDERS and PAYMENTS meet (paid orders by payment method) each consumer keeps its own half of
the rollup, its change computed against the other's facts under one advisory lock, so the
order in which the streams are consumed never changes a figure.

What no event tells: carts and checkouts started (orders publishes no cart events). Seeded
history does reach the streams: the seeder publishes it through the services' outboxes, each
envelope marked `seeded`, and the analytics count it like live events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Protocol

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.admin import analytics_folds as folds
from agora.admin import analytics_store as store
from agora.admin.analytics_signals import AnalyticsSignals
from agora.admin.analytics_tables import (
    analytics_accounts,
    analytics_categories,
    analytics_cohort_daily,
    analytics_conversations,
    analytics_customer_daily,
    analytics_customer_first_paid,
    analytics_daily_sales,
    analytics_funnel_daily,
    analytics_invoices,
    analytics_method_daily_orders,
    analytics_method_daily_payments,
    analytics_order_lines,
    analytics_orders,
    analytics_prices,
    analytics_product_daily,
    analytics_products,
    analytics_rates,
    analytics_stock,
)
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.inbox import forget_processed
from agora.platform.bus.replay import replay
from agora.platform.db import transaction

ORDERS_STREAM = "ORDERS"
PAYMENTS_STREAM = "PAYMENTS"
CATALOG_STREAM = "CATALOG"
AUTH_STREAM = "AUTH"
SUPPORT_STREAM = "SUPPORT"

# Events per fetched batch: one transaction and a few statements each. Measured on the ORDERS
# stream: 1,000 and 2,000 alike (within a loaded machine's noise), 4,000 no better.
BATCH = 1000


class OrderFacts:
    """ORDERS → order facts, their lines, the daily, funnel, product and customer rollups;
    wakes the dashboards."""

    name = "admin-analytics-orders"
    stream = ORDERS_STREAM
    filter_subjects = ["orders.order.>", "orders.return.>"]
    tables = (
        analytics_orders,
        analytics_order_lines,
        analytics_daily_sales,
        analytics_funnel_daily,
        analytics_product_daily,
        analytics_customer_first_paid,
        analytics_customer_daily,
        analytics_cohort_daily,
        analytics_method_daily_orders,
    )

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        await self.handle_batch(session, [envelope])

    async def handle_batch(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        events = folds.order_events_of(envelopes)
        if not events:
            return  # payment at risk / restored and newer events: no figure depends on them
        known = await store.order_facts(session, {e.order_id for e in events})
        paying = {e.order_id for e in events if e.subject == "orders.order.paid"} & known.keys()
        changes = folds.fold_orders(events, known, await store.lines_of(session, paying))
        await store.add_orders(session, changes.added.values(), changes.lines)
        await store.update_orders(session, list(changes.changed.values()))
        await store.add_to_days(session, changes.days)
        await store.add_to_funnel(session, changes.funnel)
        await store.add_to_products(session, changes.products)
        customers = sorted({customer for _, customer, _ in changes.paid if customer})
        if customers:
            first_days = await store.lock_customers(session, customers)
            earlier = await store.paid_days_of(session, customers, [o for o, _, _ in changes.paid])
            counted = folds.fold_customers(changes.paid, first_days, earlier)
            await store.save_customer_counts(
                session, counted.first_days, counted.days, counted.cohorts
            )
        await self._count_methods(session, known, changes)
        await AnalyticsSignals.record(session)

    async def _count_methods(
        self, session: AsyncSession, known: Mapping[str, folds.Row], changes: folds.OrderChanges
    ) -> None:
        """The ORDERS half of the method rollup: orders paid or moved to another invoice,
        counted by the invoices known (last in the transaction: the lock is held to its end)."""
        before = {o: folds.method_state(known[o]) for o in changes.changed}
        after = {o: folds.method_state(f) for o, f in (changes.changed | changes.added).items()}
        if all(before.get(o) == state for o, state in after.items()):
            return
        await store.lock_methods(session)
        invoice_ids = {s[4] for s in (*before.values(), *after.values()) if s is not None}
        known_methods = await store.invoice_methods(session, invoice_ids)
        methods = {i: (provider, pay) for i, (provider, pay, _) in known_methods.items()}
        counted = folds.order_method_changes(before, after, methods)
        await store.add_to_methods(session, analytics_method_daily_orders, counted)

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


class PaymentFacts:
    """PAYMENTS → each invoice's provider, pay currency and locked rate; announced rates."""

    name = "admin-analytics-payments"
    stream = PAYMENTS_STREAM
    filter_subjects = ["payments.invoice.>", "payments.rate.changed"]
    tables = (analytics_invoices, analytics_rates, analytics_method_daily_payments)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        await self.handle_batch(session, [envelope])

    async def handle_batch(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        changes = folds.fold_payments(envelopes)
        if changes.invoices:
            await self._save_invoices(session, changes.invoices)
        await store.add_rates(
            session,
            [
                {"base": b, "quote": q, "as_of": as_of, "rate": rate}
                for (b, q, as_of), rate in changes.rates.items()
            ],
        )

    async def _save_invoices(self, session: AsyncSession, newest: Mapping[str, folds.Row]) -> None:
        """Keep each invoice's newest state and, under the method rollup's lock, move the paid
        orders of those whose provider or pay currency changed (the PAYMENTS half)."""
        await store.lock_methods(session)
        stored = await store.invoice_methods(session, newest)
        await store.save_invoices(session, list(newest.values()))
        before = {i: (provider, pay) for i, (provider, pay, _) in stored.items()}
        after = dict(before)
        for invoice_id, row in newest.items():
            if invoice_id not in stored or stored[invoice_id][2] < row["version"]:
                after[invoice_id] = (row["provider"], row["pay_currency"])
        moved = [i for i, method in after.items() if before.get(i) != method]
        if moved:
            paid = await store.paid_orders_of(session, moved)
            counted = folds.invoice_method_changes(before, after, paid)
            await store.add_to_methods(session, analytics_method_daily_payments, counted)

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


class CatalogFacts:
    """CATALOG → product names and categories, category names, stock and prices per variant."""

    name = "admin-analytics-catalog"
    stream = CATALOG_STREAM
    filter_subjects = ["catalog.category.>", "catalog.product.>", "catalog.stock.>"]
    tables = (analytics_products, analytics_categories, analytics_stock, analytics_prices)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        await self.handle_batch(session, [envelope])

    async def handle_batch(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        changes = folds.fold_catalog(envelopes)
        await store.save_categories(session, changes.categories)
        await store.save_products(session, changes.products)
        await store.change_stock(
            session,
            [{"variant_id": v, **asdict(change)} for v, change in changes.stock.items()],
        )
        await store.replace_prices(session, changes.prices)

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


class AccountFacts:
    """AUTH → accounts by the day they registered."""

    name = "admin-analytics-accounts"
    stream = AUTH_STREAM
    filter_subjects = ["auth.user.registered"]
    tables = (analytics_accounts,)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        await self.handle_batch(session, [envelope])

    async def handle_batch(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        await store.add_accounts(session, folds.fold_accounts(envelopes))

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
        await self.handle_batch(session, [envelope])

    async def handle_batch(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        await store.change_conversations(session, folds.fold_conversations(envelopes))

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


class Durable(Protocol):
    """A durable consumer's stream and name (an analytics or a reports projection)."""

    @property
    def name(self) -> str: ...

    @property
    def stream(self) -> str: ...


AnalyticsProjection = OrderFacts | PaymentFacts | CatalogFacts | AccountFacts | SupportFacts


def analytics_projections() -> list[AnalyticsProjection]:
    return [OrderFacts(), PaymentFacts(), CatalogFacts(), AccountFacts(), SupportFacts()]


def analytics_consumers(
    js: JetStreamContext,
    sessions: async_sessionmaker[AsyncSession],
    projections: Sequence[AnalyticsProjection] | None = None,
) -> list[EventConsumer]:
    """Every durable consumer of the analytics (each waits until its stream exists): each
    fetched batch folded in one transaction (event by event only when a batch fails)."""
    return [
        EventConsumer(
            js,
            sessions,
            stream=p.stream,
            durable=p.name,
            filter_subjects=p.filter_subjects,
            handler=p.handle,
            batch_handler=p.handle_batch,
            batch=BATCH,
        )
        for p in projections or analytics_projections()
    ]


async def rebuild_analytics(
    sessions: async_sessionmaker[AsyncSession], js: JetStreamContext
) -> list[ConsumerInfo]:
    """Empty every analytics model and its inbox in one transaction, then replay each stream
    from its start (the running consumers then rebuild them). One transaction: the method
    rollup's halves (ORDERS' and PAYMENTS') add up to the join only when emptied together."""
    projections = analytics_projections()
    async with transaction(sessions) as session:
        for p in projections:
            await p.reset(session)
            await forget_processed(session, p.name)
    return [
        await replay(
            js, stream=p.stream, durable=p.name, from_seq=1, filter_subjects=p.filter_subjects
        )
        for p in projections
    ]


async def caught_up(js: JetStreamContext, projections: Sequence[Durable]) -> int:
    """How many events the analytics consumers have still to handle (waiting or unacked);
    0 once every one has caught up with its stream. A consumer not created yet counts its
    whole stream."""
    left = 0
    for p in projections:
        try:
            info = await js.consumer_info(p.stream, p.name)
        except NotFoundError:
            with contextlib.suppress(NotFoundError):
                left += (await js.stream_info(p.stream)).state.messages
            continue
        left += info.num_pending + info.num_ack_pending
    return left
