"""Exact rates and conversion between currencies: integer arithmetic with documented rounding."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agora.payments.conversion import (
    Rate,
    Rounding,
    convert,
    exact_conversion,
    format_rate,
    parse_rate,
)
from agora.platform.errors import InvalidArgument
from agora.platform.kernel.money import CURRENCIES, Money

AT = datetime(2025, 5, 2, tzinfo=UTC)
CODES = sorted(CURRENCIES)


def rate(base: str, quote: str, value: str) -> Rate:
    return Rate(base, quote, parse_rate(value), "test", AT)


def test_euros_convert_to_usdt_exactly() -> None:
    due = convert(Money(1999, "EUR"), rate("EUR", "USDT", "1.0823"), "USDT", Rounding.UP)
    assert due == Money(21_635_177, "USDT")


def test_yen_convert_to_dinars_across_exponents() -> None:
    # 1000 JPY at 0.00205 KWD/JPY = 2.050 KWD = 2050 fils
    assert convert(
        Money(1000, "JPY"), rate("JPY", "KWD", "0.00205"), "KWD", Rounding.HALF_EVEN
    ) == Money(2050, "KWD")


def test_token_amounts_exceed_int64_without_loss() -> None:
    converted = convert(Money(10_000_000, "EUR"), rate("EUR", "AGT", "2.5"), "AGT", Rounding.UP)
    assert converted.amount_minor == 250_000 * 10**18
    assert converted.amount_minor > 2**63


def test_an_inverse_rate_converts_the_other_way() -> None:
    converted = convert(Money(1082, "USD"), rate("EUR", "USD", "1.082"), "EUR", Rounding.HALF_EVEN)
    assert converted == Money(1000, "EUR")


def test_a_rate_of_other_currencies_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        convert(Money(1, "EUR"), rate("GBP", "USD", "1.3"), "USD", Rounding.UP)


def test_the_same_currency_converts_to_itself() -> None:
    assert convert(Money(7, "EUR"), rate("EUR", "USD", "2"), "EUR", Rounding.UP) == Money(7, "EUR")


@pytest.mark.parametrize(
    ("exact", "up", "half_even"),
    [("5/2", 3, 2), ("7/2", 4, 4), ("1/3", 1, 0), ("2", 2, 2), ("5/3", 2, 2)],
)
def test_rounding_modes(exact: str, up: int, half_even: int) -> None:
    amount = Money(1, "EUR")
    value = rate("EUR", "USD", exact)
    assert convert(amount, value, "USD", Rounding.UP).amount_minor == up
    assert convert(amount, value, "USD", Rounding.HALF_EVEN).amount_minor == half_even


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.0823", Fraction(10823, 10000)), ("3/7", Fraction(3, 7)), (" 150 ", Fraction(150))],
)
def test_rates_parse_exactly(text: str, value: Fraction) -> None:
    assert parse_rate(text) == value


@pytest.mark.parametrize("text", ["", "0", "1/0", "-1.2", "1e5", "nan", "1.2.3", "0.0", "9" * 65])
def test_bad_rates_are_rejected_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_rate(text, "rate")
    assert [v.field for v in error.value.violations] == ["rate"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(10823, 10000), "1.0823"),
        (Fraction(1, 3), "1/3"),
        (Fraction(150), "150"),
        (Fraction(1, 8), "0.125"),
    ],
)
def test_rates_format_exactly(value: Fraction, text: str) -> None:
    assert format_rate(value) == text
    assert parse_rate(text) == value


amounts = st.integers(min_value=0, max_value=10**15)
rates = st.fractions(min_value=Fraction(1, 10**6), max_value=Fraction(10**6), max_denominator=10**8)
codes = st.sampled_from(CODES)


@given(amounts, rates, codes, codes)
def test_conversion_is_within_one_smallest_unit_of_the_exact_value(
    amount: int, value: Fraction, source: str, target: str
) -> None:
    money, rated = Money(amount, source), Rate(source, target, value, "t", AT)
    exact = exact_conversion(money, rated, target)
    up = convert(money, rated, target, Rounding.UP).amount_minor
    half_even = convert(money, rated, target, Rounding.HALF_EVEN).amount_minor
    assert 0 <= up - exact < 1
    assert abs(half_even - exact) <= Fraction(1, 2)


@given(amounts, amounts, rates, codes, codes)
def test_conversion_is_monotonic(
    first: int, second: int, value: Fraction, source: str, target: str
) -> None:
    low, high = sorted((first, second))
    rated = Rate(source, target, value, "t", AT)
    for rounding in Rounding:
        assert (
            convert(Money(low, source), rated, target, rounding).amount_minor
            <= convert(Money(high, source), rated, target, rounding).amount_minor
        )


@given(amounts, rates, codes, codes)
def test_a_round_trip_loses_at_most_the_rounding_of_both_legs(
    amount: int, value: Fraction, source: str, target: str
) -> None:
    rated = Rate(source, target, value, "t", AT)
    there = convert(Money(amount, source), rated, target, Rounding.HALF_EVEN)
    back = convert(there, rated, source, Rounding.HALF_EVEN).amount_minor
    # The way back scales the half unit lost going there by the inverse rate.
    bound = Fraction(1, 2) + Fraction(1, 2) * abs(exact_conversion(Money(1, target), rated, source))
    assert abs(back - amount) <= bound


@given(amounts, rates)
def test_rounding_up_never_charges_less_than_the_price(amount: int, value: Fraction) -> None:
    rated = Rate("EUR", "AGT", value, "t", AT)
    due = convert(Money(amount, "EUR"), rated, "AGT", Rounding.UP)
    assert due.amount_minor >= exact_conversion(Money(amount, "EUR"), rated, "AGT")
