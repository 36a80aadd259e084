"""Loads and saves the analytics read models (SQLAlchemy Core over asyncpg, statements built
from `analytics_tables.py`).

Decides nothing: the consumers say what an event changes, `analytics.py` what a report says.
Counters of the daily rollup are added to in one `INSERT … ON CONFLICT DO UPDATE` per batch, so
replicas handling events of the same day at once add up instead of overwriting each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.admin.analytics import (
    CohortMonth,
    ConversationFact,
    Converter,
    CustomerPeriod,
    DailySales,
    FunnelDay,
    Granularity,
    MethodDay,
    PaidDay,
    ProductFigures,
    Query,
    RateQuote,
    SupportDay,
    parse_rate,
)
from agora.admin.analytics_tables import (
    analytics_accounts as accounts,
)
from agora.admin.analytics_tables import (
    analytics_categories as categories,
)
from agora.admin.analytics_tables import (
    analytics_cohort_daily as cohort_daily,
)
from agora.admin.analytics_tables import (
    analytics_conversations as conversations,
)
from agora.admin.analytics_tables import (
    analytics_customer_daily as customer_daily,
)
from agora.admin.analytics_tables import (
    analytics_customer_first_paid as first_paid,
)
from agora.admin.analytics_tables import (
    analytics_daily_sales as daily_sales,
)
from agora.admin.analytics_tables import (
    analytics_funnel_daily as funnel_daily,
)
from agora.admin.analytics_tables import (
    analytics_invoices as invoices,
)
from agora.admin.analytics_tables import (
    analytics_method_daily_orders as method_daily_orders,
)
from agora.admin.analytics_tables import (
    analytics_method_daily_payments as method_daily_payments,
)
from agora.admin.analytics_tables import (
    analytics_order_lines as order_lines,
)
from agora.admin.analytics_tables import (
    analytics_orders as orders,
)
from agora.admin.analytics_tables import (
    analytics_prices as prices,
)
from agora.admin.analytics_tables import (
    analytics_product_daily as product_daily,
)
from agora.admin.analytics_tables import (
    analytics_products as products,
)
from agora.admin.analytics_tables import (
    analytics_rates as rates,
)
from agora.admin.analytics_tables import (
    analytics_stock as stock,
)
from agora.platform.db import driver_connection

Db = AsyncConnection | AsyncSession

DAILY_COUNTERS = (
    "orders_placed",
    "orders_paid",
    "revenue_minor",
    "units",
    "refunds",
    "refunded_minor",
    "returns_requested",
)


async def clear(session: AsyncSession, tables: Iterable[sa.Table]) -> None:
    for table in tables:
        await session.execute(sa.delete(table))


# --- Batch writes (the consumers', a whole fold each) -------------------------------------------
# Raw statements over unnest'ed arrays (asyncpg's prepared-statement cache), one per table and
# batch whatever its size: the SQLAlchemy compilation of one statement per event was the cost.

ORDER_COLUMNS = tuple(c.name for c in orders.columns)
LINE_COLUMNS = tuple(c.name for c in order_lines.columns)
_ORDER_CHANGES = (
    ("status", "text"),
    ("invoice_id", "text"),
    ("invoiced_at", "timestamptz"),
    ("paid_at", "timestamptz"),
    ("paid_day", "date"),
    ("refunded_minor", "bigint"),
)


def _unnest(columns: Sequence[tuple[str, str]]) -> str:
    arrays = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(columns, start=1))
    names = ", ".join(name for name, _ in columns)
    return f"unnest({arrays}) AS u ({names})"


def _insert(table: sa.Table, columns: Sequence[tuple[str, str]]) -> str:
    names = ", ".join(name for name, _ in columns)
    return f"INSERT INTO {table.name} ({names}) SELECT * FROM {_unnest(columns)}"


def _arrays(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> list[Any]:
    return [[row[name] for row in rows] for name, _ in columns]


_LOCK_ORDERS = (
    f"SELECT * FROM {orders.name} WHERE order_id = ANY($1::text[]) ORDER BY order_id FOR UPDATE"
)
_UPDATE_ORDERS = (
    f"UPDATE {orders.name} o SET "
    + ", ".join(f"{name} = u.{name}" for name, _ in _ORDER_CHANGES)
    + f" FROM {_unnest([('order_id', 'text'), *_ORDER_CHANGES])} WHERE o.order_id = u.order_id"
)
_DAY_COLUMNS = (("day", "date"), ("currency", "text"), *((n, "bigint") for n in DAILY_COUNTERS))
_ADD_TO_DAYS = (
    _insert(daily_sales, _DAY_COLUMNS) + " "
    "ON CONFLICT (day, currency) DO UPDATE SET "
    + ", ".join(f"{n} = {daily_sales.name}.{n} + excluded.{n}" for n in DAILY_COUNTERS)
)


async def order_facts(session: AsyncSession, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The facts of those of `order_ids` recorded already, locked for the change (in id order,
    so that concurrent batches never wait on each other in a circle)."""
    raw = await driver_connection(session)
    rows = await raw.fetch(_LOCK_ORDERS, sorted(set(order_ids)))
    return {row["order_id"]: dict(row) for row in rows}


async def add_orders(
    session: AsyncSession, facts: Iterable[Mapping[str, Any]], lines: Sequence[Mapping[str, Any]]
) -> None:
    """Record new orders and their lines (an order recorded meanwhile fails the batch, which is
    then redone event by event)."""
    raw = await driver_connection(session)
    records = [tuple(fact[c] for c in ORDER_COLUMNS) for fact in facts]
    if records:
        await raw.copy_records_to_table(orders.name, records=records, columns=ORDER_COLUMNS)
    if lines:
        await raw.copy_records_to_table(
            order_lines.name,
            records=[tuple(line[c] for c in LINE_COLUMNS) for line in lines],
            columns=LINE_COLUMNS,
        )


async def update_orders(session: AsyncSession, facts: Sequence[Mapping[str, Any]]) -> None:
    """Write the changing columns of recorded orders' facts."""
    if facts:
        raw = await driver_connection(session)
        await raw.execute(_UPDATE_ORDERS, *_arrays(facts, [("order_id", ""), *_ORDER_CHANGES]))


async def add_to_days(
    session: AsyncSession, days: Mapping[tuple[date, str], Sequence[int]]
) -> None:
    """Add each (day, currency)'s counters (in `DAILY_COUNTERS` order) to the daily rollup."""
    if not days:
        return
    keys = sorted(days)  # concurrent batches lock the rows they share in the same order
    columns: list[list[Any]] = [[day for day, _ in keys], [currency for _, currency in keys]]
    columns += [[days[key][n] for key in keys] for n in range(len(DAILY_COUNTERS))]
    raw = await driver_connection(session)
    await raw.execute(_ADD_TO_DAYS, *columns)


_FUNNEL_COUNTERS = ("placed", "invoiced", "paid")
_ADD_TO_FUNNEL = (
    _insert(
        funnel_daily,
        [("day", "date"), ("currency", "text"), *((n, "bigint") for n in _FUNNEL_COUNTERS)],
    )
    + " ON CONFLICT (day, currency) DO UPDATE SET "
    + ", ".join(f"{n} = {funnel_daily.name}.{n} + excluded.{n}" for n in _FUNNEL_COUNTERS)
)


async def add_to_funnel(
    session: AsyncSession, days: Mapping[tuple[date, str], Sequence[int]]
) -> None:
    """Add each (day placed, currency)'s (placed, invoiced, paid) to the funnel."""
    if not days:
        return
    keys = sorted(days)
    raw = await driver_connection(session)
    await raw.execute(
        _ADD_TO_FUNNEL,
        [day for day, _ in keys],
        [currency for _, currency in keys],
        *([days[key][n] for key in keys] for n in range(len(_FUNNEL_COUNTERS))),
    )


_PRODUCT_COUNTERS = ("units", "orders", "amount_minor")
_ADD_TO_PRODUCTS = (
    _insert(
        product_daily,
        [
            ("day", "date"),
            ("currency", "text"),
            ("product_id", "text"),
            *((n, "bigint") for n in _PRODUCT_COUNTERS),
        ],
    )
    + " ON CONFLICT (day, currency, product_id) DO UPDATE SET "
    + ", ".join(f"{n} = {product_daily.name}.{n} + excluded.{n}" for n in _PRODUCT_COUNTERS)
)
_ORDER_LINES = (
    f"SELECT order_id, product_id, quantity, amount_minor FROM {order_lines.name} "
    "WHERE order_id = ANY($1::text[]) ORDER BY order_id, line_no"
)


async def lines_of(
    session: AsyncSession, order_ids: Iterable[str]
) -> dict[str, list[tuple[str, int, int]]]:
    """(product id, quantity, amount) of each of those orders' lines."""
    ids = sorted(set(order_ids))
    found: dict[str, list[tuple[str, int, int]]] = {}
    if ids:
        raw = await driver_connection(session)
        for row in await raw.fetch(_ORDER_LINES, ids):
            found.setdefault(row[0], []).append((row[1], row[2], row[3]))
    return found


async def add_to_products(
    session: AsyncSession, sums: Mapping[tuple[date, str, str], Sequence[int]]
) -> None:
    """Add each (day paid, currency, product)'s (units, orders, amount) to the product rollup."""
    if not sums:
        return
    keys = sorted(sums)
    raw = await driver_connection(session)
    await raw.execute(
        _ADD_TO_PRODUCTS,
        [day for day, _, _ in keys],
        [currency for _, currency, _ in keys],
        [product for _, _, product in keys],
        *([sums[key][n] for key in keys] for n in range(len(_PRODUCT_COUNTERS))),
    )


_ADD_CUSTOMERS = (
    f"INSERT INTO {first_paid.name} (customer_id, first_day) "
    "SELECT c, 'infinity' FROM unnest($1::text[]) AS c ON CONFLICT (customer_id) DO NOTHING"
)
_LOCK_CUSTOMERS = (
    f"SELECT customer_id, first_day FROM {first_paid.name} "
    "WHERE customer_id = ANY($1::text[]) ORDER BY customer_id FOR UPDATE"
)
_PAID_DAYS_OF = (
    f"SELECT DISTINCT customer_id, paid_day FROM {orders.name} "
    "WHERE customer_id = ANY($1::text[]) AND paid_day IS NOT NULL "
    "AND NOT order_id = ANY($2::text[])"
)
_SET_FIRST_DAYS = (
    f"UPDATE {first_paid.name} f SET first_day = u.first_day "
    f"FROM {_unnest([('customer_id', 'text'), ('first_day', 'date')])} "
    "WHERE f.customer_id = u.customer_id"
)
_ADD_TO_CUSTOMER_DAYS = (
    _insert(customer_daily, [("day", "date"), ("customers", "bigint"), ("new_customers", "bigint")])
    + " ON CONFLICT (day) DO UPDATE SET "
    f"customers = {customer_daily.name}.customers + excluded.customers, "
    f"new_customers = {customer_daily.name}.new_customers + excluded.new_customers"
)
_ADD_TO_COHORTS = (
    _insert(cohort_daily, [("first_day", "date"), ("month", "date"), ("customers", "bigint")])
    + f" ON CONFLICT (first_day, month) DO UPDATE SET "
    f"customers = {cohort_daily.name}.customers + excluded.customers"
)
_DROP_EMPTY_COHORTS = (
    f"DELETE FROM {cohort_daily.name} c "
    "USING unnest($1::date[], $2::date[]) AS k (first_day, month) "
    "WHERE c.first_day = k.first_day AND c.month = k.month AND c.customers = 0"
)


async def lock_customers(session: AsyncSession, customers: Sequence[str]) -> dict[str, date | None]:
    """Each customer's first paid day (None: none yet), locked for the change (created when
    unseen, so that concurrent batches paying one customer's orders take turns)."""
    raw = await driver_connection(session)
    await raw.execute(_ADD_CUSTOMERS, list(customers))
    rows = await raw.fetch(_LOCK_CUSTOMERS, list(customers))
    return {r[0]: None if r[1] == date.max else r[1] for r in rows}  # asyncpg: infinity


async def paid_days_of(
    session: AsyncSession, customers: Sequence[str], except_orders: Sequence[str]
) -> dict[str, set[date]]:
    """The days each customer paid orders on, but for `except_orders` (the batch's)."""
    raw = await driver_connection(session)
    found: dict[str, set[date]] = {}
    for row in await raw.fetch(_PAID_DAYS_OF, list(customers), list(except_orders)):
        found.setdefault(row[0], set()).add(row[1])
    return found


async def save_customer_counts(
    session: AsyncSession,
    first_days: Mapping[str, date],
    days: Mapping[date, Sequence[int]],
    cohorts: Mapping[tuple[date, date], int],
) -> None:
    """Set first paid days; add each day's (customers, new customers) and each (first paid day,
    month) cohort's customers (a cohort that drops to none is removed)."""
    raw = await driver_connection(session)
    if first_days:
        keys = sorted(first_days)
        await raw.execute(_SET_FIRST_DAYS, keys, [first_days[k] for k in keys])
    changed = sorted(day for day, counts in days.items() if any(counts))
    if changed:
        await raw.execute(
            _ADD_TO_CUSTOMER_DAYS,
            changed,
            [days[d][0] for d in changed],
            [days[d][1] for d in changed],
        )
    touched = sorted(key for key, n in cohorts.items() if n)
    if touched:
        firsts, months = [first for first, _ in touched], [month for _, month in touched]
        await raw.execute(_ADD_TO_COHORTS, firsts, months, [cohorts[k] for k in touched])
        await raw.execute(_DROP_EMPTY_COHORTS, firsts, months)


# The advisory lock under which either consumer changes its half of the method rollup (and
# PAYMENTS its invoices): each computes its change against the other's committed facts.
METHODS_LOCK = 0x616E616C79746963  # "analytic"
_LOCK_METHODS = "SELECT pg_advisory_xact_lock($1)"
_INVOICE_METHODS = (
    f"SELECT invoice_id, provider, pay_currency, version FROM {invoices.name} "
    "WHERE invoice_id = ANY($1::text[])"
)
_PAID_ORDERS_OF = (
    f"SELECT invoice_id, paid_day, currency, total_minor, pay_currency FROM {orders.name} "
    "WHERE invoice_id = ANY($1::text[]) AND paid_day IS NOT NULL"
)
_METHOD_KEY = [
    ("day", "date"),
    ("currency", "text"),
    ("provider", "text"),
    ("pay_currency", "text"),
]


def _add_to_methods(table: sa.Table) -> str:
    return (
        _insert(table, [*_METHOD_KEY, ("orders", "bigint"), ("amount_minor", "bigint")])
        + " ON CONFLICT (day, currency, provider, pay_currency) DO UPDATE SET "
        f"orders = {table.name}.orders + excluded.orders, "
        f"amount_minor = {table.name}.amount_minor + excluded.amount_minor"
    )


def _drop_empty_methods(table: sa.Table) -> str:
    return (
        f"DELETE FROM {table.name} m USING {_unnest(_METHOD_KEY)} "
        "WHERE (m.day, m.currency, m.provider, m.pay_currency) = "
        "(u.day, u.currency, u.provider, u.pay_currency) AND m.orders = 0 AND m.amount_minor = 0"
    )


_METHOD_HALVES = {
    t.name: (_add_to_methods(t), _drop_empty_methods(t))
    for t in (method_daily_orders, method_daily_payments)
}


async def lock_methods(session: AsyncSession) -> None:
    """Take the method rollup's lock until the transaction ends."""
    raw = await driver_connection(session)
    await raw.execute(_LOCK_METHODS, METHODS_LOCK)


async def invoice_methods(
    session: AsyncSession, invoice_ids: Iterable[str]
) -> dict[str, tuple[str, str, int]]:
    """(provider, pay currency, version) of those invoices payments announced."""
    raw = await driver_connection(session)
    rows = await raw.fetch(_INVOICE_METHODS, sorted(set(invoice_ids)))
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


async def paid_orders_of(
    session: AsyncSession, invoice_ids: Iterable[str]
) -> list[tuple[str, tuple[date, str, int, str, str]]]:
    """(invoice id, (day paid, currency, total, pay currency, invoice id)) of the paid orders
    of those invoices."""
    raw = await driver_connection(session)
    rows = await raw.fetch(_PAID_ORDERS_OF, sorted(set(invoice_ids)))
    return [(r[0], (r[1], r[2], r[3], r[4], r[0])) for r in rows]


async def add_to_methods(
    session: AsyncSession, table: sa.Table, sums: Mapping[tuple[date, str, str, str], Sequence[int]]
) -> None:
    """Add (orders, amount) to each key of `table`, a half of the method rollup (rows that come
    to nothing are removed: a batch and its events one by one leave the same rows)."""
    keys = sorted(key for key, counts in sums.items() if any(counts))
    if not keys:
        return
    add, drop = _METHOD_HALVES[table.name]
    columns = [[key[n] for key in keys] for n in range(4)]
    raw = await driver_connection(session)
    await raw.execute(add, *columns, [sums[k][0] for k in keys], [sums[k][1] for k in keys])
    await raw.execute(drop, *columns)


_INVOICE_COLUMNS = (
    ("invoice_id", "text"),
    ("order_id", "text"),
    ("provider", "text"),
    ("pay_currency", "text"),
    ("price_currency", "text"),
    ("price_minor", "bigint"),
    ("rate", "text"),
    ("status", "text"),
    ("version", "bigint"),
)
_SAVE_INVOICES = (
    _insert(invoices, _INVOICE_COLUMNS) + " "
    "ON CONFLICT (invoice_id) DO UPDATE SET "
    + ", ".join(f"{n} = excluded.{n}" for n, _ in _INVOICE_COLUMNS[1:])
    + f" WHERE {invoices.name}.version < excluded.version"
)


async def save_invoices(session: AsyncSession, newest: Sequence[Mapping[str, Any]]) -> None:
    """Keep each invoice's newest state (an older version arriving late changes nothing)."""
    if newest:
        rows = sorted(newest, key=lambda invoice: invoice["invoice_id"])
        raw = await driver_connection(session)
        await raw.execute(_SAVE_INVOICES, *_arrays(rows, _INVOICE_COLUMNS))


async def add_rates(session: AsyncSession, quotes: Sequence[Mapping[str, Any]]) -> None:
    if quotes:
        await session.execute(insert(rates).values(list(quotes)).on_conflict_do_nothing())


_SAVE_CATEGORIES = (
    _insert(categories, [("category_id", "text"), ("name", "text")])
    + " ON CONFLICT (category_id) DO UPDATE SET name = excluded.name"
)
_SAVE_PRODUCTS = (
    _insert(products, [("product_id", "text"), ("title", "text"), ("category_id", "text")])
    + " ON CONFLICT (product_id) DO UPDATE SET title = excluded.title, "
    "category_id = excluded.category_id"
)
_STOCK_CHANGES = (
    ("variant_id", "text"),
    ("product_id", "text"),
    ("title", "text"),
    ("on_hand", "bigint"),
    ("reserved", "bigint"),
    ("on_hand_added", "bigint"),
    ("reserved_added", "bigint"),
)
# A variant unseen starts with no names and no stock; then names and counts are set where the
# batch set them (NULL where it did not), and the reservations since are added.
_ADD_VARIANTS = (
    f"INSERT INTO {stock.name} (variant_id, product_id, title, on_hand, reserved) "
    "SELECT v, '', '', 0, 0 FROM unnest($1::text[]) AS v "
    "ON CONFLICT (variant_id) DO NOTHING"
)
_CHANGE_STOCK = (
    f"UPDATE {stock.name} s SET product_id = coalesce(u.product_id, s.product_id), "
    "title = coalesce(u.title, s.title), "
    "on_hand = coalesce(u.on_hand, s.on_hand) + u.on_hand_added, "
    "reserved = coalesce(u.reserved, s.reserved) + u.reserved_added "
    f"FROM {_unnest(_STOCK_CHANGES)} WHERE s.variant_id = u.variant_id"
)
_DROP_PRICES = f"DELETE FROM {prices.name} WHERE variant_id = ANY($1::text[])"
_ADD_PRICES = _insert(
    prices, [("variant_id", "text"), ("currency", "text"), ("amount_minor", "bigint")]
)


async def save_categories(session: AsyncSession, names: Mapping[str, str]) -> None:
    if names:
        keys = sorted(names)
        raw = await driver_connection(session)
        await raw.execute(_SAVE_CATEGORIES, keys, [names[k] for k in keys])


async def save_products(session: AsyncSession, found: Mapping[str, tuple[str, str]]) -> None:
    """(title, category id) of each product."""
    if found:
        keys = sorted(found)
        raw = await driver_connection(session)
        await raw.execute(
            _SAVE_PRODUCTS, keys, [found[k][0] for k in keys], [found[k][1] for k in keys]
        )


async def change_stock(session: AsyncSession, changes: Sequence[Mapping[str, Any]]) -> None:
    """Per variant (`_STOCK_CHANGES`' keys): names and counts where set (else None), then the
    reservations' changes added."""
    if changes:
        rows = sorted(changes, key=lambda change: change["variant_id"])
        raw = await driver_connection(session)
        await raw.execute(_ADD_VARIANTS, [row["variant_id"] for row in rows])
        await raw.execute(_CHANGE_STOCK, *_arrays(rows, _STOCK_CHANGES))


async def replace_prices(session: AsyncSession, lists: Mapping[str, Mapping[str, int]]) -> None:
    """Replace each variant's price list ({currency: amount}) with the one given."""
    if not lists:
        return
    rows = sorted((v, c, a) for v, found in lists.items() for c, a in found.items())
    raw = await driver_connection(session)
    await raw.execute(_DROP_PRICES, sorted(lists))
    if rows:
        await raw.execute(_ADD_PRICES, *(list(column) for column in zip(*rows, strict=True)))


_ADD_ACCOUNTS = (
    _insert(accounts, [("user_id", "text"), ("registered_day", "date")]) + " ON CONFLICT DO NOTHING"
)


async def add_accounts(session: AsyncSession, registered: Mapping[str, date]) -> None:
    """Record accounts not recorded before, by the day they registered."""
    if registered:
        keys = sorted(registered)
        raw = await driver_connection(session)
        await raw.execute(_ADD_ACCOUNTS, keys, [registered[k] for k in keys])


_CONVERSATION_COLUMNS = (
    ("conversation_id", "text"),
    ("started_day", "date"),
    ("customer_id", "text"),
    ("answered", "boolean"),
    ("time_to_first_answer_ms", "bigint"),
    ("handed_over", "boolean"),
    ("closed", "boolean"),
    ("resolved_by_assistant", "boolean"),
)
# An unseen conversation starts with nothing known; then each column is set where the batch set
# it (NULL where it did not: none of the values set is ever NULL).
_ADD_CONVERSATIONS = (
    f"INSERT INTO {conversations.name} ("
    + ", ".join(n for n, _ in _CONVERSATION_COLUMNS)
    + ") SELECT c, NULL, '', false, 0, false, false, false "
    "FROM unnest($1::text[]) AS c ON CONFLICT (conversation_id) DO NOTHING"
)
_CHANGE_CONVERSATIONS = (
    f"UPDATE {conversations.name} c SET "
    + ", ".join(f"{n} = coalesce(u.{n}, c.{n})" for n, _ in _CONVERSATION_COLUMNS[1:])
    + f" FROM {_unnest(_CONVERSATION_COLUMNS)} WHERE c.conversation_id = u.conversation_id"
)


async def change_conversations(
    session: AsyncSession, changes: Mapping[str, Mapping[str, Any]]
) -> None:
    """Set, on each conversation's fact (created when unseen), the columns given for it."""
    if not changes:
        return
    keys = sorted(changes)
    rows = [{"conversation_id": k, **changes[k]} for k in keys]
    raw = await driver_connection(session)
    await raw.execute(_ADD_CONVERSATIONS, keys)
    await raw.execute(
        _CHANGE_CONVERSATIONS,
        *[[row.get(name) for row in rows] for name, _ in _CONVERSATION_COLUMNS],
    )


# --- Reads --------------------------------------------------------------------------------------


async def daily(db: Db, start: date, end: date) -> list[DailySales]:
    query = sa.select(daily_sales).where(daily_sales.c.day.between(start, end))
    return [
        DailySales(row.day, row.currency, *(getattr(row, n) for n in DAILY_COUNTERS))
        for row in await db.execute(query)
    ]


async def rate_quotes(db: Db, currency: str) -> list[RateQuote]:
    """Every announced rate into or out of `currency`."""
    query = sa.select(rates).where(sa.or_(rates.c.quote == currency, rates.c.base == currency))
    return [
        RateQuote(row.base, row.quote, parse_rate(row.rate), row.as_of)
        for row in await db.execute(query)
    ]


async def paid_days(db: Db, start: date, end: date) -> list[PaidDay]:
    """Each (customer, day) with a paid order in the range, with the customer's first paid day."""
    first = (
        sa.select(orders.c.customer_id, sa.func.min(orders.c.paid_day).label("first_day"))
        .where(orders.c.paid_day.is_not(None), orders.c.customer_id != "")
        .group_by(orders.c.customer_id)
        .subquery()
    )
    query = (
        sa.select(orders.c.customer_id, orders.c.paid_day, first.c.first_day)
        .distinct()
        .join(first, first.c.customer_id == orders.c.customer_id)
        .where(orders.c.paid_day.between(start, end))
    )
    return [PaidDay(r.customer_id, r.paid_day, r.first_day) for r in await db.execute(query)]


async def registered_days(db: Db, start: date, end: date) -> list[date]:
    query = sa.select(accounts.c.registered_day).where(
        accounts.c.registered_day.between(start, end)
    )
    return list((await db.execute(query)).scalars())


async def funnel_days(db: Db, start: date, end: date, currency: str | None) -> list[FunnelDay]:
    """Orders placed per day (of `currency`, or of every one), how many of them were invoiced
    and how many paid (the funnel rollup: a row per day and currency)."""
    query = (
        sa.select(
            funnel_daily.c.day,
            sa.func.sum(funnel_daily.c.placed),
            sa.func.sum(funnel_daily.c.invoiced),
            sa.func.sum(funnel_daily.c.paid),
        )
        .where(funnel_daily.c.day.between(start, end))
        .group_by(funnel_daily.c.day)
    )
    if currency is not None:
        query = query.where(funnel_daily.c.currency == currency)
    return [
        FunnelDay(row[0], int(row[1]), int(row[2]), int(row[3])) for row in await db.execute(query)
    ]


# Each (day, currency, product) row's amount converted alone, rounded half to even (the rule of
# `analytics.Converter.minor`): x = amount * factor's numerator, t its quotient by the
# denominator truncated, then floored, then rounded. In bigint arithmetic (several times faster
# than numeric); a product beyond bigint's range fails the statement, which is then made in
# exact numeric arithmetic.
def _products_converted(kind: str, quotient: str) -> str:
    return (
        f"WITH f AS (SELECT * FROM unnest($3::date[], $4::text[], $5::{kind}[], $6::{kind}[]) "
        "AS f (day, currency, num, den)), "
        "x AS (SELECT p.product_id, p.units, p.orders, f.den, p.amount_minor * f.num AS x "
        f"FROM {product_daily.name} p LEFT JOIN f ON f.day = p.day AND f.currency = p.currency "
        "WHERE p.day BETWEEN $1 AND $2), "
        f"t AS (SELECT product_id, units, orders, den, x, {quotient} AS t FROM x), "
        "q AS (SELECT product_id, units, orders, den, "
        "t - (x - t * den < 0)::int AS q, x - t * den + (x - t * den < 0)::int * den AS r FROM t) "
        "SELECT product_id, sum(units)::bigint, sum(orders)::bigint, coalesce(sum("
        "q + (2 * r > den OR (2 * r = den AND mod(q, 2) <> 0))::int), 0)::bigint "
        "FROM q GROUP BY product_id"
    )


_PRODUCTS_CONVERTED = _products_converted("bigint", "x / den")
_PRODUCTS_CONVERTED_EXACTLY = _products_converted("numeric", "div(x, den)")
_PRODUCTS_IN = (
    "SELECT product_id, sum(units)::bigint, sum(orders)::bigint, sum(amount_minor)::bigint "
    f"FROM {product_daily.name} WHERE day BETWEEN $1 AND $2 AND currency = $3 "
    "GROUP BY product_id"
)
_PAID_DAYS = (
    f"SELECT day, currency FROM {daily_sales.name} WHERE day BETWEEN $1 AND $2 AND orders_paid > 0"
)
_UNCONVERTED = (
    f"SELECT DISTINCT p.currency FROM {product_daily.name} p "
    "JOIN unnest($1::date[], $2::text[]) AS k (day, currency) "
    "ON k.day = p.day AND k.currency = p.currency"
)


async def product_figures(db: Db, converter: Converter) -> list[ProductFigures]:
    """Every product's paid lines in the query's range, summed by PostgreSQL from the product
    rollup (`analytics.product_sales`' figures, unranked): in the query's currency only, or
    every currency converted per (day, currency) with the converter's factors."""
    query = converter.query
    raw = await driver_connection(db)
    if not query.converted:
        rows = await raw.fetch(_PRODUCTS_IN, query.start, query.end, query.currency)
        return [ProductFigures(*r) for r in rows]
    factors, missing = [], []
    for day, currency in await raw.fetch(_PAID_DAYS, query.start, query.end):
        factor = converter.factor(currency, day)
        if factor is None:
            missing.append((day, currency))
        else:
            factors.append((day, currency, factor.numerator, factor.denominator))
    if missing:
        days, currencies = zip(*missing, strict=True)
        for row in await raw.fetch(_UNCONVERTED, list(days), list(currencies)):
            converter.unconverted.add(row[0])
    columns = [list(c) for c in zip(*factors, strict=True)] if factors else [[], [], [], []]
    try:
        async with raw.transaction():  # a savepoint inside the caller's transaction
            rows = await raw.fetch(_PRODUCTS_CONVERTED, query.start, query.end, *columns)
    except asyncpg.NumericValueOutOfRangeError:
        rows = await raw.fetch(_PRODUCTS_CONVERTED_EXACTLY, query.start, query.end, *columns)
    return [ProductFigures(*r) for r in rows]


async def product_names(db: Db, product_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(title, category id) of the products the catalog announced."""
    query = sa.select(products).where(products.c.product_id.in_(list(product_ids)))
    return {r.product_id: (r.title, r.category_id) for r in await db.execute(query)}


async def category_names(db: Db, category_ids: Sequence[str]) -> dict[str, str]:
    query = sa.select(categories).where(categories.c.category_id.in_(list(category_ids)))
    return {r.category_id: r.name for r in await db.execute(query)}


_METHOD_DAYS = (
    "SELECT provider, pay_currency, day, currency, sum(orders)::bigint, sum(amount_minor)::bigint "
    f"FROM (SELECT * FROM {method_daily_orders.name} WHERE day BETWEEN $1 AND $2 "
    f"UNION ALL SELECT * FROM {method_daily_payments.name} WHERE day BETWEEN $1 AND $2) m "
    "GROUP BY provider, pay_currency, day, currency HAVING sum(orders) <> 0"
)


async def method_days(db: Db, start: date, end: date) -> list[MethodDay]:
    """Paid orders per (provider, pay currency, day, currency): the invoice's when payments
    announced it, else the pay currency the order was placed with and no provider (the two
    halves of the method rollup added up)."""
    raw = await driver_connection(db)
    return [MethodDay(*r) for r in await raw.fetch(_METHOD_DAYS, start, end)]


async def low_stock(db: Db, threshold: int, limit: int) -> list[Any]:
    """Variants with at most `threshold` available, least first."""
    available = (stock.c.on_hand - stock.c.reserved).label("available")
    query = (
        sa.select(stock, available)
        .where(stock.c.on_hand - stock.c.reserved <= threshold)
        .order_by(available, stock.c.variant_id)
        .limit(limit)
    )
    return list(await db.execute(query))


async def count_low_stock(db: Db, threshold: int) -> tuple[int, int]:
    """(low, out): variants with 1..threshold available, and with none."""
    available = stock.c.on_hand - stock.c.reserved
    query = sa.select(
        sa.func.count().filter(available > 0, available <= threshold),
        sa.func.count().filter(available <= 0),
    )
    low, out = (await db.execute(query)).one()
    return low, out


async def conversation_facts(db: Db, start: date, end: date) -> list[ConversationFact]:
    query = sa.select(conversations).where(conversations.c.started_day.between(start, end))
    return [
        ConversationFact(
            r.started_day,
            r.answered,
            r.time_to_first_answer_ms,
            r.handed_over,
            r.closed,
            r.resolved_by_assistant,
        )
        for r in await db.execute(query)
    ]


async def dump(db: Db, table: sa.Table) -> list[tuple[Any, ...]]:
    """Every row of `table`, sorted (what a rebuild must reproduce)."""
    return sorted(tuple(r) for r in await db.execute(sa.select(table)))


METHOD_HALVES = (method_daily_orders.name, method_daily_payments.name)


async def dump_models(db: Db, tables: Iterable[sa.Table]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each table, sorted, by table name: what a rebuild must reproduce. The
    method rollup's halves, whose split depends on which stream came first, as one sum
    ("analytics_method_daily")."""
    found = {table.name: await dump(db, table) for table in tables}
    halves = [found.pop(name) for name in METHOD_HALVES if name in found]
    if halves:
        sums: dict[tuple[Any, ...], list[int]] = {}
        for row in (row for half in halves for row in half):
            counts = sums.setdefault(row[:4], [0, 0])
            counts[0] += row[4]
            counts[1] += row[5]
        found["analytics_method_daily"] = sorted((*k, *v) for k, v in sums.items() if v[0])
    return found


# --- Reads aggregated by PostgreSQL (a year by day is hundreds of rows, not 150k) --------------

_PERIOD_START = {
    Granularity.DAY: "{day}",
    Granularity.WEEK: "date_trunc('week', {day})::date",
    Granularity.MONTH: "date_trunc('month', {day})::date",
}

_FIRST_PAID = (
    f"SELECT customer_id, min(paid_day) AS first_day FROM {orders.name} "
    "WHERE paid_day IS NOT NULL AND customer_id <> '' GROUP BY customer_id"
)


def _customer_periods_sql(granularity: Granularity) -> str:
    natural = _PERIOD_START[granularity].format(day="o.paid_day")
    return (
        f"WITH first AS ({_FIRST_PAID}) "
        f"SELECT greatest({natural}, $1::date) AS period, "
        f"count(DISTINCT o.customer_id) FILTER (WHERE f.first_day >= {natural}), "
        f"count(DISTINCT o.customer_id) FILTER (WHERE f.first_day < {natural}) "
        f"FROM {orders.name} o JOIN first f ON f.customer_id = o.customer_id "
        "WHERE o.paid_day BETWEEN $1 AND $2 GROUP BY 1"
    )


_CUSTOMER_PERIODS = {grain: _customer_periods_sql(grain) for grain in Granularity}
_REGISTERED = (
    f"SELECT registered_day, count(*) FROM {accounts.name} "
    "WHERE registered_day BETWEEN $1 AND $2 GROUP BY 1"
)
_SUPPORT_DAYS = (
    "SELECT started_day, count(*), count(*) FILTER (WHERE answered), "
    "coalesce(sum(time_to_first_answer_ms) FILTER (WHERE answered), 0)::bigint, "
    "count(*) FILTER (WHERE handed_over), count(*) FILTER (WHERE closed), "
    "count(*) FILTER (WHERE resolved_by_assistant) "
    f"FROM {conversations.name} WHERE started_day BETWEEN $1 AND $2 GROUP BY 1"
)


_CUSTOMER_DAYS = (
    f"SELECT day, new_customers, customers - new_customers FROM {customer_daily.name} "
    "WHERE day BETWEEN $1 AND $2"
)
# Whole months from the cohort rollup ($3: the first month not wholly in the range); the last
# month, when the range ends inside it, from the orders paid in it up to the range's end.
_COHORT_MONTHS = (
    "SELECT date_trunc('month', first_day)::date, month, sum(customers)::bigint "
    f"FROM {cohort_daily.name} WHERE first_day BETWEEN $1 AND $2 AND month < $3 GROUP BY 1, 2"
)
_COHORT_LAST_MONTH = (
    "SELECT date_trunc('month', f.first_day)::date, $3::date, count(DISTINCT o.customer_id) "
    f"FROM {orders.name} o JOIN {first_paid.name} f ON f.customer_id = o.customer_id "
    "WHERE o.paid_day BETWEEN $3 AND $2 AND f.first_day >= $1 GROUP BY 1"
)


async def customer_periods(db: Db, query: Query) -> list[CustomerPeriod]:
    """Per period of `query` (clipped to its range): customers with a paid order in it, new
    (their first paid order ever is in the period's natural span) or returning. By day from
    the customer rollup; by week or month counted from the orders."""
    raw = await driver_connection(db)
    if query.granularity is Granularity.DAY:
        rows = await raw.fetch(_CUSTOMER_DAYS, query.start, query.end)
    else:
        rows = await raw.fetch(_CUSTOMER_PERIODS[query.granularity], query.start, query.end)
    return [CustomerPeriod(r[0], r[1], r[2]) for r in rows]


async def cohort_months(db: Db, start: date, end: date) -> list[CohortMonth]:
    """Customers whose first paid order is in the range, by its month and each month (in the
    range) they paid an order in."""
    raw = await driver_connection(db)
    last_month = end.replace(day=1)
    whole = end + timedelta(days=1)
    if whole.day == 1:  # the range ends with its last month
        return [CohortMonth(*r) for r in await raw.fetch(_COHORT_MONTHS, start, end, whole)]
    rows = await raw.fetch(_COHORT_MONTHS, start, end, last_month)
    rows += await raw.fetch(_COHORT_LAST_MONTH, start, end, last_month)
    return [CohortMonth(*r) for r in rows]


async def registered_counts(db: Db, start: date, end: date) -> list[tuple[date, int]]:
    raw = await driver_connection(db)
    return [(r[0], r[1]) for r in await raw.fetch(_REGISTERED, start, end)]


async def support_days(db: Db, start: date, end: date) -> list[SupportDay]:
    raw = await driver_connection(db)
    return [SupportDay(*r) for r in await raw.fetch(_SUPPORT_DAYS, start, end)]
