"""One currency table and one Money type with checked integer arithmetic."""

from __future__ import annotations

import pytest

from agora.platform.errors import InvalidArgument
from agora.platform.kernel.money import (
    CURRENCIES,
    MAX_AMOUNT_MINOR,
    CurrencyMismatch,
    Money,
    currency,
    fiat_currency,
    money_violations,
    sum_money,
)


def test_the_table_holds_iso_exponents_and_crypto_decimals() -> None:
    assert (CURRENCIES["EUR"].exponent, CURRENCIES["JPY"].exponent) == (2, 0)
    assert CURRENCIES["KWD"].exponent == 3
    assert (CURRENCIES["USDT"].exponent, CURRENCIES["USDT"].crypto) == (6, True)
    assert (CURRENCIES["AGT"].exponent, CURRENCIES["AGT"].crypto) == (18, True)
    assert not CURRENCIES["USD"].crypto


def test_unknown_currencies_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        currency("XXX", "price.currency")
    assert refused.value.violations[0].field == "price.currency"
    with pytest.raises(InvalidArgument):
        currency("eur")


def test_a_shop_prices_in_fiat_only() -> None:
    assert fiat_currency("CHF").code == "CHF"
    with pytest.raises(InvalidArgument):
        fiat_currency("USDT")


def test_arithmetic_stays_in_one_currency() -> None:
    assert Money(250, "EUR") + Money(1, "EUR") == Money(251, "EUR")
    assert Money(250, "EUR") - Money(300, "EUR") == Money(-50, "EUR")
    assert 3 * Money(7, "JPY") == Money(21, "JPY") == Money(7, "JPY") * 3
    assert Money(1, "EUR") < Money(2, "EUR")
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "EUR") + Money(1, "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "EUR") < Money(1, "USD")


def test_leaving_the_range_raises_instead_of_overflowing() -> None:
    top = Money(MAX_AMOUNT_MINOR, "EUR")
    with pytest.raises(InvalidArgument):
        _ = top + Money(1, "EUR")
    with pytest.raises(InvalidArgument):
        _ = Money(MAX_AMOUNT_MINOR // 2 + 1, "USD") * 2


def test_token_amounts_range_over_uint256() -> None:
    whale = Money(10**30, "AGT") * 1000
    assert whale.amount_minor == 10**33
    with pytest.raises(InvalidArgument):
        _ = Money(2**255, "AGT") * 2


def test_sums_are_checked_and_start_at_zero() -> None:
    assert sum_money([], "EUR") == Money(0, "EUR")
    assert sum_money([Money(5, "EUR"), Money(6, "EUR")], "EUR") == Money(11, "EUR")
    with pytest.raises(CurrencyMismatch):
        sum_money([Money(5, "USD")], "EUR")


def test_price_violations_name_each_bad_field() -> None:
    assert money_violations(Money(100, "EUR"), "prices[0]") == []
    fields = {v.field for v in money_violations(Money(-1, "USDT"), "prices[1]")}
    assert fields == {"prices[1].currency", "prices[1].amountMinor"}
    assert money_violations(Money(10**13, "EUR"), "p")[0].description == "too large"
    assert money_violations(Money(10**20, "AGT"), "p", fiat_only=False) == []
