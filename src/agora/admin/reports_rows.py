"""Each report's rows, computed live: the store's grouped rows folded by `reports.py`'s rules,
one row at a time (a report of any size in bounded memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from agora.admin import reports_store as store
from agora.admin.analytics import Converter, Granularity, Query, sales_report
from agora.admin.reports import ReportKind, ReportRequest, Row, cells, fold_groups

Rows = Callable[[AsyncConnection, ReportRequest, Converter], AsyncIterator[Row]]


async def report_rows(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    """The report's rows in order (`conn` must be in a transaction: a server-side cursor)."""
    async for row in _ROWS[request.kind](conn, request, converter):
        yield row


async def _sales_by_day(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    query = request.query
    by_day = Query(query.start, query.end, Granularity.DAY, query.currency, query.converted)
    figures, _ = sales_report(by_day, await store.daily(conn, query.start, query.end), converter)
    for f in figures:
        yield cells(
            f.start.isoformat(),
            f.orders_placed,
            f.orders_paid,
            f.revenue_minor,
            f.average_order_value_minor,
            f.units,
            f.refunds,
            f.refunded_minor,
            f.returns_requested,
        )


async def _by_product(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    q = request.query
    groups = store.product_groups(conn, q.start, q.end)
    async for (product, title, category), (units, orders), (revenue,) in fold_groups(
        groups, converter
    ):
        yield cells(product, title, category, units, orders, revenue)


async def _by_category(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    q = request.query
    groups = store.category_groups(conn, q.start, q.end)
    async for (category, name), (units, orders), (revenue,) in fold_groups(groups, converter):
        yield cells(category, name, units, orders, revenue)


async def _by_country(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    q = request.query
    groups = store.country_groups(conn, q.start, q.end)
    async for (country,), (paid, units), (revenue,) in fold_groups(groups, converter):
        yield cells(country, paid, units, revenue)


async def _tax(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    q = request.query
    groups = store.tax_groups(conn, q.start, q.end)
    async for (country, rate, included), (paid,), (net, tax, gross) in fold_groups(
        groups, converter
    ):
        yield cells(country, rate, included, paid, net, tax, gross)


async def _payments(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    q = request.query
    groups = store.payment_groups(conn, q.start, q.end)
    async for (provider, pay), (payments, refunds), (paid, refunded) in fold_groups(
        groups, converter
    ):
        yield cells(provider, pay, payments, paid, refunds, refunded, paid - refunded)


async def _customers(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    q = request.query
    groups = store.customer_groups(conn, q.start, q.end)
    async for (customer, first), (paid,), (revenue,) in fold_groups(groups, converter):
        new = 1 if first >= q.start.isoformat() else 0
        yield cells(customer, first, new, paid, revenue)


async def _inventory(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    """Stock on hand now at the price list of the report's currency (unpriced: no value)."""
    async for r in store.inventory(conn, request.query.currency):
        price: int | None = r.amount_minor
        value = r.on_hand * price if price is not None else 0
        yield cells(r.variant_id, r.product_id, r.title, r.on_hand, price, value)


async def _reconciliation(
    conn: AsyncConnection, request: ReportRequest, converter: Converter
) -> AsyncIterator[Row]:
    q = request.query
    async for r in store.reconciliation_runs(conn, q.start, q.end):
        yield cells(
            r.run_id,
            r.chain_id,
            r.completed_day.isoformat(),
            _moment(r.since),
            _moment(r.until),
            r.matched,
            r.not_credited,
            r.not_on_chain,
            r.amount_mismatch,
            r.token_mismatch,
            r.sweeps,
            r.confirmed,
            r.reorged,
            r.status,
        )


def _moment(at: Any) -> str:
    return str(at.isoformat(timespec="seconds"))


_ROWS: dict[ReportKind, Rows] = {
    ReportKind.SALES_BY_DAY: _sales_by_day,
    ReportKind.SALES_BY_PRODUCT: _by_product,
    ReportKind.SALES_BY_CATEGORY: _by_category,
    ReportKind.SALES_BY_COUNTRY: _by_country,
    ReportKind.TAX: _tax,
    ReportKind.INVENTORY_VALUATION: _inventory,
    ReportKind.PAYMENTS_REFUNDS: _payments,
    ReportKind.CRYPTO_RECONCILIATION: _reconciliation,
    ReportKind.CUSTOMERS: _customers,
}
