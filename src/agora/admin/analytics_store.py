"""Loads and saves the analytics read models (SQLAlchemy Core over asyncpg, statements built
from `analytics_tables.py`).

Decides nothing: the consumers say what an event changes, `analytics.py` what a report says.
Counters of the daily rollup are added to in one `INSERT … ON CONFLICT DO UPDATE` each, so
replicas handling events of the same day at once add up instead of overwriting each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.admin.analytics import (
    ConversationFact,
    DailySales,
    FunnelDay,
    LineSales,
    MethodDay,
    PaidDay,
    RateQuote,
    parse_rate,
)
from agora.admin.analytics_tables import (
    analytics_accounts as accounts,
)
from agora.admin.analytics_tables import (
    analytics_categories as categories,
)
from agora.admin.analytics_tables import (
    analytics_conversations as conversations,
)
from agora.admin.analytics_tables import (
    analytics_daily_sales as daily_sales,
)
from agora.admin.analytics_tables import (
    analytics_invoices as invoices,
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
    analytics_products as products,
)
from agora.admin.analytics_tables import (
    analytics_rates as rates,
)
from agora.admin.analytics_tables import (
    analytics_stock as stock,
)

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


# --- Orders (the ORDERS consumer) ---------------------------------------------------------------


async def add_order(
    session: AsyncSession, order: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> bool:
    """Record a placed order and its lines; False when it was recorded already."""
    added = await session.execute(
        insert(orders).values(**order).on_conflict_do_nothing().returning(orders.c.order_id)
    )
    if added.first() is None:
        return False
    if lines:
        await session.execute(insert(order_lines), [dict(line) for line in lines])
    return True


async def order(session: AsyncSession, order_id: str) -> Any:
    """The order's fact row (locked for the change), or None for an order placed unseen."""
    query = sa.select(orders).where(orders.c.order_id == order_id).with_for_update()
    return (await session.execute(query)).first()


async def update_order(session: AsyncSession, order_id: str, **values: Any) -> None:
    await session.execute(sa.update(orders).where(orders.c.order_id == order_id).values(**values))


async def add_to_day(session: AsyncSession, day: date, currency: str, **counts: int) -> None:
    """Add `counts` to the day's rollup row of `currency`."""
    row = {name: counts.get(name, 0) for name in DAILY_COUNTERS}
    statement = insert(daily_sales).values(day=day, currency=currency, **row)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[daily_sales.c.day, daily_sales.c.currency],
            set_={
                name: daily_sales.c[name] + statement.excluded[name]
                for name in DAILY_COUNTERS
                if name in counts
            },
        )
    )


# --- Payments -----------------------------------------------------------------------------------


async def save_invoice(session: AsyncSession, invoice: Mapping[str, Any]) -> None:
    """Keep the invoice's newest state (an older version arriving late changes nothing)."""
    statement = insert(invoices).values(**invoice)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[invoices.c.invoice_id],
            set_={k: statement.excluded[k] for k in invoice if k != "invoice_id"},
            where=invoices.c.version < statement.excluded.version,
        )
    )


async def add_rates(session: AsyncSession, quotes: Sequence[Mapping[str, Any]]) -> None:
    if quotes:
        await session.execute(insert(rates).values(list(quotes)).on_conflict_do_nothing())


# --- Catalog ------------------------------------------------------------------------------------


async def save_product(session: AsyncSession, product_id: str, title: str, category: str) -> None:
    statement = insert(products).values(product_id=product_id, title=title, category_id=category)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[products.c.product_id],
            set_={"title": statement.excluded.title, "category_id": statement.excluded.category_id},
        )
    )


async def save_category(session: AsyncSession, category_id: str, name: str) -> None:
    statement = insert(categories).values(category_id=category_id, name=name)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[categories.c.category_id], set_={"name": statement.excluded.name}
        )
    )


async def name_variant(session: AsyncSession, variant_id: str, product_id: str, title: str) -> None:
    """Know the variant's product and title (its stock starts at nothing until counted)."""
    statement = insert(stock).values(
        variant_id=variant_id, product_id=product_id, title=title, on_hand=0, reserved=0
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[stock.c.variant_id],
            set_={"product_id": statement.excluded.product_id, "title": statement.excluded.title},
        )
    )


async def set_prices(session: AsyncSession, variant_id: str, money: Sequence[Any]) -> None:
    """Replace the variant's price list (`Money` messages) with `money`."""
    await session.execute(sa.delete(prices).where(prices.c.variant_id == variant_id))
    rows = {m.currency: m.amount_minor for m in money if m.currency}
    if rows:
        await session.execute(
            insert(prices),
            [{"variant_id": variant_id, "currency": c, "amount_minor": a} for c, a in rows.items()],
        )


async def set_stock(session: AsyncSession, variant_id: str, on_hand: int, reserved: int) -> None:
    statement = insert(stock).values(
        variant_id=variant_id, product_id="", title="", on_hand=on_hand, reserved=reserved
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[stock.c.variant_id],
            set_={"on_hand": statement.excluded.on_hand, "reserved": statement.excluded.reserved},
        )
    )


async def move_stock(
    session: AsyncSession, variant_id: str, *, on_hand: int = 0, reserved: int = 0
) -> None:
    """Add to the variant's counts (a reservation's effect)."""
    statement = insert(stock).values(
        variant_id=variant_id, product_id="", title="", on_hand=on_hand, reserved=reserved
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[stock.c.variant_id],
            set_={
                "on_hand": stock.c.on_hand + statement.excluded.on_hand,
                "reserved": stock.c.reserved + statement.excluded.reserved,
            },
        )
    )


# --- Accounts and support -----------------------------------------------------------------------


async def add_account(session: AsyncSession, user_id: str, day: date) -> None:
    await session.execute(
        insert(accounts).values(user_id=user_id, registered_day=day).on_conflict_do_nothing()
    )


_CONVERSATION_DEFAULTS: Mapping[str, Any] = {
    "started_day": None,
    "customer_id": "",
    "answered": False,
    "time_to_first_answer_ms": 0,
    "handed_over": False,
    "closed": False,
    "resolved_by_assistant": False,
}


async def save_conversation(session: AsyncSession, conversation_id: str, **values: Any) -> None:
    """Set `values` on the conversation's fact (created with defaults when unseen)."""
    statement = insert(conversations).values(
        conversation_id=conversation_id, **{**_CONVERSATION_DEFAULTS, **values}
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[conversations.c.conversation_id],
            set_={name: statement.excluded[name] for name in values},
        )
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
    query = (
        sa.select(
            orders.c.placed_day,
            sa.func.count(),
            sa.func.count(orders.c.invoiced_at),
            sa.func.count(orders.c.paid_at),
        )
        .where(orders.c.placed_day.between(start, end))
        .group_by(orders.c.placed_day)
    )
    if currency is not None:
        query = query.where(orders.c.currency == currency)
    return [FunnelDay(*row) for row in await db.execute(query)]


async def line_sales(db: Db, start: date, end: date) -> list[LineSales]:
    query = (
        sa.select(
            order_lines.c.product_id,
            orders.c.paid_day,
            orders.c.currency,
            sa.func.sum(order_lines.c.quantity),
            sa.func.count(sa.distinct(orders.c.order_id)),
            sa.func.sum(order_lines.c.amount_minor),
        )
        .join(orders, orders.c.order_id == order_lines.c.order_id)
        .where(orders.c.paid_day.between(start, end))
        .group_by(order_lines.c.product_id, orders.c.paid_day, orders.c.currency)
    )
    return [
        LineSales(r[0], r[1], r[2], int(r[3]), r[4], int(r[5])) for r in await db.execute(query)
    ]


async def product_names(db: Db, product_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(title, category id) of the products the catalog announced."""
    query = sa.select(products).where(products.c.product_id.in_(list(product_ids)))
    return {r.product_id: (r.title, r.category_id) for r in await db.execute(query)}


async def category_names(db: Db, category_ids: Sequence[str]) -> dict[str, str]:
    query = sa.select(categories).where(categories.c.category_id.in_(list(category_ids)))
    return {r.category_id: r.name for r in await db.execute(query)}


async def method_days(db: Db, start: date, end: date) -> list[MethodDay]:
    """Paid orders per (provider, pay currency, day, currency): the invoice's when payments
    announced it, else the pay currency the order was placed with and no provider."""
    provider = sa.func.coalesce(invoices.c.provider, "")
    pay = sa.func.coalesce(invoices.c.pay_currency, orders.c.pay_currency)
    query = (
        sa.select(
            provider,
            pay,
            orders.c.paid_day,
            orders.c.currency,
            sa.func.count(),
            sa.func.sum(orders.c.total_minor),
        )
        .select_from(orders.outerjoin(invoices, invoices.c.invoice_id == orders.c.invoice_id))
        .where(orders.c.paid_day.between(start, end))
        .group_by(provider, pay, orders.c.paid_day, orders.c.currency)
    )
    return [MethodDay(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in await db.execute(query)]


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
