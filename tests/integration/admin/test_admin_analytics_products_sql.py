"""The top products summed and converted by PostgreSQL equal `analytics.product_sales`' figures
(each (day, currency, product) converted alone, rounded half to even), in bigint arithmetic and,
for amounts beyond it, in exact numeric arithmetic."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from agora.admin import analytics as rules
from agora.admin import analytics_store
from agora.platform.db import create_engine
from agora.platform.migrations import migrate

DAY = date(2026, 3, 2)
QUOTES = [
    rules.RateQuote("USD", "EUR", Fraction("0.9213"), datetime(2026, 3, 1, tzinfo=UTC)),
    rules.RateQuote("EUR", "JPY", Fraction("161.37"), datetime(2026, 3, 1, tzinfo=UTC)),
    rules.RateQuote("CHF", "EUR", Fraction("1.5"), datetime(2026, 3, 1, tzinfo=UTC)),
]
HALVES = [  # (product, currency, amount): CHF amounts at 1.5 land on halves (x.5)
    ("p-even", "CHF", 5),  # 7.5 -> 8
    ("p-odd", "CHF", 3),  # 4.5 -> 4
    ("p-yen", "JPY", 1_234_567),
    ("p-usd", "USD", 98_765),
]
HUGE = [("p-huge", "USD", 9_000_000_000_000_000)]  # times 9213 is beyond bigint


def line_sales(rows: list[tuple[str, str, int]]) -> list[rules.LineSales]:
    return [rules.LineSales(p, DAY, c, n + 1, 1, amount) for n, (p, c, amount) in enumerate(rows)]


@pytest.mark.parametrize("rows", [HALVES, HALVES + HUGE], ids=["bigint", "numeric"])
async def test_products_converted_by_postgresql_equal_the_rules(
    rows: list[tuple[str, str, int]], database_url: str
) -> None:
    head, _, _ = database_url.rpartition("/")
    url = f"{head}/agora_products_{uuid.uuid4().hex[:8]}"
    await migrate("admin", url)
    engine = create_engine(url, "admin", pool_size=1)
    sales = line_sales(rows)
    try:
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            for s in sales:
                await driver.execute(
                    "INSERT INTO analytics_product_daily VALUES ($1, $2, $3, $4, $5, $6)",
                    s.day,
                    s.currency,
                    s.product_id,
                    s.units,
                    s.orders,
                    s.amount_minor,
                )
            for currency in {s.currency for s in sales}:
                await driver.execute(
                    "INSERT INTO analytics_daily_sales VALUES ($1, $2, 1, 1, 0, 0, 0, 0, 0)",
                    DAY,
                    currency,
                )
        query = rules.Query(DAY, DAY, rules.Granularity.DAY, "EUR", True)
        expected_converter = rules.Converter(query, rules.RateBook("EUR", QUOTES))
        expected = rules.product_sales(query, sales, expected_converter)
        converter = rules.Converter(query, rules.RateBook("EUR", QUOTES))
        async with engine.connect() as conn:
            got = rules.ranked_products(await analytics_store.product_figures(conn, converter))
    finally:
        await engine.dispose()
    assert got == expected
    assert {p.product_id: p.revenue_minor for p in got}["p-even"] == 8
    assert {p.product_id: p.revenue_minor for p in got}["p-odd"] == 4
