"""Loads and saves the reports' data (SQLAlchemy Core over asyncpg): the grouped rows each
report folds, read from the analytics read models and the reports' own facts through a
server-side cursor (never the whole result in memory); frozen reports; schedules and sends.

Decides nothing: `reports.py` says what a report's rows are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.admin.analytics import DailySales, RateQuote, parse_rate
from agora.admin.analytics_tables import analytics_categories as categories
from agora.admin.analytics_tables import analytics_daily_sales as daily_sales
from agora.admin.analytics_tables import analytics_invoices as invoices
from agora.admin.analytics_tables import analytics_order_lines as order_lines
from agora.admin.analytics_tables import analytics_orders as orders
from agora.admin.analytics_tables import analytics_prices as prices
from agora.admin.analytics_tables import analytics_products as products
from agora.admin.analytics_tables import analytics_rates as rates
from agora.admin.analytics_tables import analytics_stock as stock
from agora.admin.reports import Group
from agora.admin.reports_tables import report_schedule_sends as sends
from agora.admin.reports_tables import report_schedules as schedules
from agora.admin.reports_tables import report_snapshot_rows as snapshot_rows
from agora.admin.reports_tables import report_snapshots as snapshots
from agora.admin.reports_tables import reports_chain_runs as chain_runs
from agora.admin.reports_tables import reports_chain_transfers as transfers
from agora.admin.reports_tables import reports_refunds as refunds
from agora.platform.db import driver_connection

Db = AsyncConnection | AsyncSession
CURSOR_ROWS = 1000
DAILY_COUNTERS = (
    "orders_placed",
    "orders_paid",
    "revenue_minor",
    "units",
    "refunds",
    "refunded_minor",
    "returns_requested",
)


async def _stream(conn: AsyncConnection, query: sa.Select[Any]) -> AsyncIterator[Any]:
    """The query's rows through a server-side cursor, CURSOR_ROWS at a time."""
    result = await conn.stream(query.execution_options(yield_per=CURSOR_ROWS))
    # By partition: a row at a time would cost a switch into SQLAlchemy's greenlet per row.
    async for partition in result.partitions(CURSOR_ROWS):
        for row in partition:
            yield row


# --- What reports read -------------------------------------------------------------------------


async def rate_quotes(db: Db, currency: str) -> list[RateQuote]:
    """Every announced rate into or out of `currency`."""
    query = sa.select(rates).where(sa.or_(rates.c.quote == currency, rates.c.base == currency))
    return [
        RateQuote(row.base, row.quote, parse_rate(row.rate), row.as_of)
        for row in await db.execute(query)
    ]


async def daily(db: Db, start: date, end: date) -> list[DailySales]:
    """The daily rollup of the range (a row per day and currency: at most a few thousand)."""
    query = sa.select(daily_sales).where(daily_sales.c.day.between(start, end))
    return [
        DailySales(row.day, row.currency, *(getattr(row, n) for n in DAILY_COUNTERS))
        for row in await db.execute(query)
    ]


def _paid_in(start: date, end: date) -> sa.ColumnElement[bool]:
    return orders.c.paid_day.between(start, end)


async def product_groups(conn: AsyncConnection, start: date, end: date) -> AsyncIterator[Group]:
    """Paid lines per (product, day, currency), by product id; key (id, title, category)."""
    title = sa.func.coalesce(products.c.title, sa.func.min(order_lines.c.title))
    category = sa.func.coalesce(products.c.category_id, "")
    query = (
        sa.select(
            order_lines.c.product_id,
            title,
            category,
            orders.c.paid_day,
            orders.c.currency,
            sa.func.sum(order_lines.c.quantity),
            sa.func.count(sa.distinct(orders.c.order_id)),
            sa.func.sum(order_lines.c.amount_minor),
        )
        .select_from(
            order_lines.join(orders, orders.c.order_id == order_lines.c.order_id).outerjoin(
                products, products.c.product_id == order_lines.c.product_id
            )
        )
        .where(_paid_in(start, end))
        .group_by(
            order_lines.c.product_id,
            products.c.title,
            products.c.category_id,
            orders.c.paid_day,
            orders.c.currency,
        )
        .order_by(order_lines.c.product_id)
    )
    async for r in _stream(conn, query):
        yield Group((r[0], r[1], r[2]), r[3], r[4], (int(r[5]), r[6]), (int(r[7]),))


async def category_groups(conn: AsyncConnection, start: date, end: date) -> AsyncIterator[Group]:
    """Paid lines per (category, day, currency), by category id ("" for none known)."""
    category = sa.func.coalesce(products.c.category_id, "")
    name = sa.func.coalesce(categories.c.name, "")
    query = (
        sa.select(
            category,
            name,
            orders.c.paid_day,
            orders.c.currency,
            sa.func.sum(order_lines.c.quantity),
            sa.func.count(sa.distinct(orders.c.order_id)),
            sa.func.sum(order_lines.c.amount_minor),
        )
        .select_from(
            order_lines.join(orders, orders.c.order_id == order_lines.c.order_id)
            .outerjoin(products, products.c.product_id == order_lines.c.product_id)
            .outerjoin(categories, categories.c.category_id == products.c.category_id)
        )
        .where(_paid_in(start, end))
        .group_by(category, name, orders.c.paid_day, orders.c.currency)
        .order_by(category, name)
    )
    async for r in _stream(conn, query):
        yield Group((r[0], r[1]), r[2], r[3], (int(r[4]), r[5]), (int(r[6]),))


async def country_groups(conn: AsyncConnection, start: date, end: date) -> AsyncIterator[Group]:
    query = (
        sa.select(
            orders.c.country,
            orders.c.paid_day,
            orders.c.currency,
            sa.func.count(),
            sa.func.sum(orders.c.units),
            sa.func.sum(orders.c.total_minor),
        )
        .where(_paid_in(start, end))
        .group_by(orders.c.country, orders.c.paid_day, orders.c.currency)
        .order_by(orders.c.country)
    )
    async for r in _stream(conn, query):
        yield Group((r[0],), r[1], r[2], (r[3], int(r[4])), (int(r[5]),))


async def tax_groups(conn: AsyncConnection, start: date, end: date) -> AsyncIterator[Group]:
    """Paid orders per (country, rate, prices include tax, day, currency): net, tax, gross."""
    query = (
        sa.select(
            orders.c.country,
            orders.c.tax_rate_bp,
            orders.c.prices_include_tax,
            orders.c.paid_day,
            orders.c.currency,
            sa.func.count(),
            sa.func.sum(orders.c.total_minor - orders.c.tax_minor),
            sa.func.sum(orders.c.tax_minor),
            sa.func.sum(orders.c.total_minor),
        )
        .where(_paid_in(start, end))
        .group_by(
            orders.c.country,
            orders.c.tax_rate_bp,
            orders.c.prices_include_tax,
            orders.c.paid_day,
            orders.c.currency,
        )
        .order_by(orders.c.country, orders.c.tax_rate_bp, orders.c.prices_include_tax)
    )
    async for r in _stream(conn, query):
        key = (r[0], str(r[1]), "yes" if r[2] else "no")
        yield Group(key, r[3], r[4], (r[5],), (int(r[6]), int(r[7]), int(r[8])))


async def customer_groups(conn: AsyncConnection, start: date, end: date) -> AsyncIterator[Group]:
    """Paid orders per (customer, day, currency), by customer; key (id, first paid day)."""
    first = (
        sa.select(orders.c.customer_id, sa.func.min(orders.c.paid_day).label("first_day"))
        .where(orders.c.paid_day.is_not(None), orders.c.customer_id != "")
        .group_by(orders.c.customer_id)
        .subquery()
    )
    query = (
        sa.select(
            orders.c.customer_id,
            first.c.first_day,
            orders.c.paid_day,
            orders.c.currency,
            sa.func.count(),
            sa.func.sum(orders.c.total_minor),
        )
        .join(first, first.c.customer_id == orders.c.customer_id)
        .where(_paid_in(start, end))
        .group_by(orders.c.customer_id, first.c.first_day, orders.c.paid_day, orders.c.currency)
        .order_by(orders.c.customer_id)
    )
    async for r in _stream(conn, query):
        yield Group((r[0], r[1].isoformat()), r[2], r[3], (r[4],), (int(r[5]),))


async def payment_groups(conn: AsyncConnection, start: date, end: date) -> AsyncIterator[Group]:
    """Per (provider, pay currency, day, currency): payments (orders paid that day) and refunds
    (made that day); counts (payments, refunds), money (paid, refunded)."""
    provider = sa.func.coalesce(invoices.c.provider, "").label("provider")
    pay = sa.func.coalesce(invoices.c.pay_currency, orders.c.pay_currency).label("pay")
    with_invoice = orders.outerjoin(invoices, invoices.c.invoice_id == orders.c.invoice_id)
    paid = (
        sa.select(
            provider,
            pay,
            orders.c.paid_day.label("day"),
            orders.c.currency,
            sa.literal(1).label("payments"),
            orders.c.total_minor.label("paid"),
            sa.literal(0).label("refunds"),
            sa.literal(0).label("refunded"),
        )
        .select_from(with_invoice)
        .where(_paid_in(start, end))
    )
    refunded = (
        sa.select(
            provider,
            pay,
            refunds.c.day,
            orders.c.currency,
            sa.literal(0),
            sa.literal(0),
            sa.literal(1),
            refunds.c.amount_minor,
        )
        .select_from(
            refunds.join(orders, orders.c.order_id == refunds.c.order_id).outerjoin(
                invoices, invoices.c.invoice_id == orders.c.invoice_id
            )
        )
        .where(refunds.c.day.between(start, end))
    )
    every = sa.union_all(paid, refunded).subquery()
    query = (
        sa.select(
            every.c.provider,
            every.c.pay,
            every.c.day,
            every.c.currency,
            sa.func.sum(every.c.payments),
            sa.func.sum(every.c.refunds),
            sa.func.sum(every.c.paid),
            sa.func.sum(every.c.refunded),
        )
        .group_by(every.c.provider, every.c.pay, every.c.day, every.c.currency)
        .order_by(every.c.provider, every.c.pay)
    )
    async for r in _stream(conn, query):
        yield Group((r[0], r[1]), r[2], r[3], (int(r[4]), int(r[5])), (int(r[6]), int(r[7])))


async def inventory(conn: AsyncConnection, currency: str) -> AsyncIterator[Any]:
    """Variants with stock on hand, by id, with their price in `currency` (None: unpriced)."""
    query = (
        sa.select(
            stock.c.variant_id,
            stock.c.product_id,
            stock.c.title,
            stock.c.on_hand,
            prices.c.amount_minor,
        )
        .select_from(
            stock.outerjoin(
                prices,
                sa.and_(prices.c.variant_id == stock.c.variant_id, prices.c.currency == currency),
            )
        )
        .where(stock.c.on_hand != 0)
        .order_by(stock.c.variant_id)
    )
    async for r in _stream(conn, query):
        yield r


async def reconciliation_runs(conn: AsyncConnection, start: date, end: date) -> AsyncIterator[Any]:
    """Runs completed in the range, with the transfers confirmed and reorged that the CHAIN
    stream announced for the run's chain and period."""

    def seen(status: str) -> sa.ScalarSelect[Any]:
        return (
            sa.select(sa.func.count())
            .where(
                transfers.c.chain_id == chain_runs.c.chain_id,
                transfers.c.block_time >= chain_runs.c.since,
                transfers.c.block_time < chain_runs.c.until,
                transfers.c.status == status,
            )
            .scalar_subquery()
        )

    query = (
        sa.select(
            chain_runs, seen("confirmed").label("confirmed"), seen("reorged").label("reorged")
        )
        .where(chain_runs.c.completed_day.between(start, end))
        .order_by(chain_runs.c.completed_day, chain_runs.c.since, chain_runs.c.run_id)
    )
    async for r in _stream(conn, query):
        yield r


# --- The reports' own facts (reports_consumers) -------------------------------------------------


async def save_transfer(session: AsyncSession, transfer: Mapping[str, Any]) -> None:
    statement = insert(transfers).values(**transfer)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[transfers.c.reference],
            set_={k: statement.excluded[k] for k in transfer if k != "reference"},
        )
    )


async def save_run(session: AsyncSession, run: Mapping[str, Any]) -> None:
    statement = insert(chain_runs).values(**run)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[chain_runs.c.run_id],
            set_={k: statement.excluded[k] for k in run if k != "run_id"},
        )
    )


async def add_refund(
    session: AsyncSession, event_id: str, order_id: str, day: date, amount: int
) -> None:
    await session.execute(
        insert(refunds)
        .values(event_id=event_id, order_id=order_id, day=day, amount_minor=amount)
        .on_conflict_do_nothing()
    )


async def clear(session: AsyncSession, tables: Sequence[sa.Table]) -> None:
    for table in tables:
        await session.execute(sa.delete(table))


# --- Frozen reports ----------------------------------------------------------------------------


def _snapshot_key(kind: str, start: date, end: date, currency: str, converted: bool) -> Any:
    return sa.and_(
        snapshots.c.kind == kind,
        snapshots.c.start_date == start,
        snapshots.c.end_date == end,
        snapshots.c.currency == currency,
        snapshots.c.converted == converted,
    )


async def snapshot(
    db: Db, kind: str, start: date, end: date, currency: str, converted: bool
) -> Any:
    query = sa.select(snapshots).where(_snapshot_key(kind, start, end, currency, converted))
    return (await db.execute(query)).first()


async def claim_snapshot(session: AsyncSession, header: Mapping[str, Any]) -> bool:
    """Start freezing a report; False when another one froze it first (a concurrent claim
    waits here until that one commits)."""
    claimed = await session.execute(
        insert(snapshots).values(**header).on_conflict_do_nothing().returning(snapshots.c.id)
    )
    return claimed.first() is not None


async def add_snapshot_rows(
    session: AsyncSession, snapshot_id: str, first_no: int, rows: Sequence[list[str]]
) -> None:
    """Add `rows`, numbered from `first_no`, with COPY (a frozen report may be large)."""
    if rows:
        raw = await driver_connection(session)
        await raw.copy_records_to_table(
            snapshot_rows.name,
            schema_name=snapshot_rows.schema,
            columns=["snapshot_id", "row_no", "cells"],
            records=[(snapshot_id, first_no + n, row) for n, row in enumerate(rows)],
        )


async def finish_snapshot(session: AsyncSession, snapshot_id: str, **values: Any) -> None:
    await session.execute(
        sa.update(snapshots).where(snapshots.c.id == snapshot_id).values(**values)
    )


async def snapshot_page(
    db: Db, snapshot_id: str, after: int, limit: int
) -> list[tuple[int, list[str]]]:
    """Frozen rows after row `after`, in order (keyset paging)."""
    query = (
        sa.select(snapshot_rows.c.row_no, snapshot_rows.c.cells)
        .where(snapshot_rows.c.snapshot_id == snapshot_id, snapshot_rows.c.row_no > after)
        .order_by(snapshot_rows.c.row_no)
        .limit(limit)
    )
    return [(r.row_no, list(r.cells)) for r in await db.execute(query)]


# --- Schedules ---------------------------------------------------------------------------------


async def add_schedule(session: AsyncSession, schedule: Mapping[str, Any]) -> None:
    await session.execute(insert(schedules).values(**schedule))


async def last_sent(db: Db, schedule_ids: Sequence[str]) -> dict[str, date]:
    query = (
        sa.select(sends.c.schedule_id, sa.func.max(sends.c.period_start))
        .where(sends.c.schedule_id.in_(list(schedule_ids)))
        .group_by(sends.c.schedule_id)
    )
    return {r[0]: r[1] for r in await db.execute(query)}


async def list_schedules(db: Db, after: tuple[datetime, str] | None, limit: int) -> list[Any]:
    """Schedules, oldest first (keyset on (created_at, id))."""
    query = sa.select(schedules).order_by(schedules.c.created_at, schedules.c.id).limit(limit)
    if after is not None:
        query = query.where(sa.tuple_(schedules.c.created_at, schedules.c.id) > sa.tuple_(*after))
    return list(await db.execute(query))


async def delete_schedule(session: AsyncSession, schedule_id: str) -> bool:
    deleted = await session.execute(
        sa.delete(schedules).where(schedules.c.id == schedule_id).returning(schedules.c.id)
    )
    return deleted.first() is not None


async def claim_unsent(
    session: AsyncSession, cadence: str, period_start: date, limit: int
) -> list[Any]:
    """Schedules of `cadence` that have not mailed the period starting `period_start`, locked
    for this transaction (skipping those another replica is sending)."""
    already = sa.exists().where(
        sends.c.schedule_id == schedules.c.id, sends.c.period_start == period_start
    )
    query = (
        sa.select(schedules)
        .where(schedules.c.cadence == cadence, ~already)
        .order_by(schedules.c.created_at, schedules.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.execute(query))


async def record_send(session: AsyncSession, send: Mapping[str, Any]) -> bool:
    """Record a period's mail; False when it was recorded already."""
    added = await session.execute(
        insert(sends).values(**send).on_conflict_do_nothing().returning(sends.c.schedule_id)
    )
    return added.first() is not None
