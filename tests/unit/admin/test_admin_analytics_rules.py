"""The analytics' rules: query bounds, periods, conversion and rounding, report arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from agora.admin import analytics as rules
from agora.platform.errors import InvalidArgument


def query(start: str, end: str, grain: str = "day", currency: str = "") -> rules.Query:
    return rules.parse_query(start, end, grain, currency, reporting="EUR")


@pytest.mark.parametrize(
    ("start", "end", "grain", "currency", "field"),
    [
        ("2026-02-01", "2026-01-31", "day", "", "end_date"),
        ("2023-01-01", "2026-01-31", "day", "", "end_date"),
        ("2026-01-01", "2026-01-31", "quarter", "", "granularity"),
        ("2026-01-01", "2026-01-31", "day", "EURO", "currency"),
        ("26-01-01", "2026-01-31", "day", "", "start_date"),
    ],
)
def test_a_bad_query_names_its_field(
    start: str, end: str, grain: str, currency: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        query(start, end, grain, currency)
    assert field in str(raised.value.violations)


def test_three_years_by_day_are_allowed_and_ten_by_week() -> None:
    assert query("2023-01-01", "2025-12-31").granularity is rules.Granularity.DAY
    assert query("2016-01-01", "2025-12-31", "week").converted


def test_weeks_start_on_monday_and_the_first_period_is_clipped_to_the_range() -> None:
    q = query("2026-01-01", "2026-01-12", "week")  # a Thursday
    assert rules.periods(q) == [date(2026, 1, 1), date(2026, 1, 5), date(2026, 1, 12)]
    assert rules.period_of(date(2026, 1, 7), q) == date(2026, 1, 5)


def test_conversion_rounds_half_to_even_across_exponents() -> None:
    assert rules.convert_minor(1, "EUR", "EUR", Fraction(1, 2)) == 0
    assert rules.convert_minor(3, "EUR", "EUR", Fraction(1, 2)) == 2
    assert rules.convert_minor(1_000, "JPY", "EUR", Fraction(1, 160)) == 625
    assert rules.convert_minor(1_00, "EUR", "JPY", Fraction(160)) == 160


def test_the_rate_of_a_day_is_the_last_announced_before_its_end_or_the_inverse() -> None:
    at = datetime(2026, 1, 10, 23, 59, tzinfo=UTC)
    book = rules.RateBook(
        "EUR",
        [
            rules.RateQuote("USD", "EUR", Fraction(9, 10), at),
            rules.RateQuote("EUR", "GBP", Fraction(4, 5), at),
        ],
    )
    assert book.rate("USD", date(2026, 1, 9)) is None
    assert book.rate("USD", date(2026, 1, 10)) == Fraction(9, 10)
    assert book.rate("GBP", date(2026, 1, 11)) == Fraction(5, 4)
    assert book.rate("EUR", date(2000, 1, 1)) == 1


def test_sales_without_a_rate_are_left_out_and_named() -> None:
    q = query("2026-01-01", "2026-01-31", "month")
    converter = rules.Converter(q, rules.RateBook("EUR", []))
    rows = [
        rules.DailySales(date(2026, 1, 2), "EUR", orders_paid=2, revenue_minor=3_001),
        rules.DailySales(date(2026, 1, 3), "USD", orders_paid=1, revenue_minor=1_000),
    ]
    (month,), total = rules.sales_report(q, rows, converter)
    assert (month.orders_paid, month.revenue_minor) == (3, 3_001)
    assert month.average_order_value_minor == 1_000  # 3001 / 3 rounded half-even
    assert converter.unconverted == {"USD"}
    assert total.revenue_minor == 3_001


def test_a_customer_is_new_in_the_period_of_their_first_paid_order_then_returning() -> None:
    q = query("2026-01-01", "2026-03-31", "month")
    first = date(2026, 1, 5)
    paid = [
        rules.PaidDay("a", first, first),
        rules.PaidDay("a", date(2026, 1, 20), first),
        rules.PaidDay("a", date(2026, 3, 1), first),
        rules.PaidDay("b", date(2026, 2, 1), date(2025, 12, 1)),
    ]
    jan, feb, mar = rules.customers_report(q, paid, [date(2026, 1, 1)])
    assert (jan.new_accounts, jan.new_customers, jan.returning_customers) == (1, 1, 0)
    assert (feb.new_customers, feb.returning_customers) == (0, 1)
    assert (mar.new_customers, mar.returning_customers) == (0, 1)
    assert rules.cohorts(q, paid) == [(date(2026, 1, 1), [1, 0, 1])]


def test_crypto_share_counts_orders_paid_in_a_crypto_asset() -> None:
    q = query("2026-01-01", "2026-01-31")
    converter = rules.Converter(q, rules.RateBook("EUR", []))
    day = date(2026, 1, 2)
    rows = [
        rules.MethodDay("evm", "USDT", day, "EUR", 1, 500),
        rules.MethodDay("dev", "EUR", day, "EUR", 2, 900),
    ]
    methods, paid, crypto_bp = rules.payment_methods(q, rows, converter)
    assert (paid, crypto_bp) == (3, 3_333)
    assert [m.provider for m in methods] == ["dev", "evm"]


def test_stock_levels() -> None:
    assert rules.stock_level(0, 5) is rules.StockLevel.OUT
    assert rules.stock_level(-1, 5) is rules.StockLevel.OUT
    assert rules.stock_level(5, 5) is rules.StockLevel.LOW
    assert rules.stock_level(6, 5) is None


def test_support_means_and_rates() -> None:
    q = query("2026-01-01", "2026-01-01")
    day = date(2026, 1, 1)
    facts = [
        rules.ConversationFact(day, True, 1_000, False, True, True),
        rules.ConversationFact(day, True, 2_001, True, False, False),
        rules.ConversationFact(day, False, 0, False, False, False),
    ]
    (figures,), _ = rules.support_report(q, facts)
    assert figures.mean_time_to_first_answer_ms == 1_500
    assert figures.handover_rate_bp == 3_333
