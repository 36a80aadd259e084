"""Currencies, exchange rates and conversion in exact integer arithmetic. Pure: no I/O.

An amount is an integer of the currency's smallest unit: minor units for ISO 4217 currencies
(cents; yen have none; KWD has fils, 3 decimals) and base units for crypto (USDT 6 decimals,
the shop token AGT 18). A rate is an exact fraction, never a float.

Rounding, chosen and documented once:
- `Rounding.HALF_EVEN` (banker's rounding) for quotes and display: unbiased over many amounts.
- `Rounding.UP` (toward +infinity) for what an invoice asks to be paid: a converted price is never
  less than the price, so rounding never costs the merchant. Either way a conversion is within
  one smallest unit of the exact value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from fractions import Fraction

from agora.platform.errors import InvalidArgument

# ISO 4217 minor-unit exponents of the currencies a shop is likely to price or be paid in.
ISO_EXPONENTS: Mapping[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "JPY": 0,
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
    "CNY": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "RON": 2,
    "BGN": 2,
    "ISK": 0,
    "TRY": 2,
    "INR": 2,
    "BRL": 2,
    "MXN": 2,
    "ZAR": 2,
    "SGD": 2,
    "HKD": 2,
    "KRW": 0,
    "IDR": 2,
    "ILS": 2,
    "MYR": 2,
    "PHP": 2,
    "THB": 2,
    "CLP": 0,
    "VND": 0,
    "AED": 2,
    "SAR": 2,
}

# Crypto assets: decimals of their base unit.
CRYPTO_DECIMALS: Mapping[str, int] = {
    "USDT": 6,
    "AGT": 18,  # the shop token
}

MAX_RATE_TEXT = 64
_AMOUNT_TEXT = re.compile(r"[0-9]{1,78}")  # 78 digits hold any uint256
_RATE_TEXT = re.compile(r"^\s*(\d+(\.\d+)?|\d+\s*/\s*\d+)\s*$")


@dataclass(frozen=True)
class Currency:
    code: str
    exponent: int
    crypto: bool


@dataclass(frozen=True)
class Money:
    """An integer amount of `currency`'s smallest unit (may exceed int64 for 18-decimal tokens)."""

    amount_minor: int
    currency: str


class Rounding(Enum):
    HALF_EVEN = "half_even"
    UP = "up"


@dataclass(frozen=True)
class Rate:
    """One unit of `base` is worth `value` units of `quote` (whole units, not minor units)."""

    base: str
    quote: str
    value: Fraction
    source: str
    as_of: datetime

    def inverted(self) -> Rate:
        return Rate(self.quote, self.base, 1 / self.value, self.source, self.as_of)


def currency(code: str, field: str = "currency") -> Currency:
    """The currency `code` names, or INVALID_ARGUMENT naming `field` and the code."""
    normalized = code.strip().upper()
    if normalized in ISO_EXPONENTS:
        return Currency(normalized, ISO_EXPONENTS[normalized], crypto=False)
    if normalized in CRYPTO_DECIMALS:
        return Currency(normalized, CRYPTO_DECIMALS[normalized], crypto=True)
    raise InvalidArgument.for_field(field, f"unknown currency {code!r}")


def all_currencies() -> list[Currency]:
    """Every currency payments knows, ISO ones first, each group by code."""
    iso = [Currency(c, e, crypto=False) for c, e in sorted(ISO_EXPONENTS.items())]
    crypto = [Currency(c, d, crypto=True) for c, d in sorted(CRYPTO_DECIMALS.items())]
    return iso + crypto


def round_fraction(value: Fraction, rounding: Rounding) -> int:
    """`value` as an integer, rounded the way `rounding` says."""
    match rounding:
        case Rounding.UP:
            return -((-value.numerator) // value.denominator)
        case Rounding.HALF_EVEN:
            return round(value)


def exact_conversion(amount: Money, rate: Rate, to: str) -> Fraction:
    """The exact (unrounded) amount of `to`'s smallest unit that `amount` is worth at `rate`."""
    source, target = currency(amount.currency), currency(to)
    if source.code == target.code:
        return Fraction(amount.amount_minor)
    if (rate.base, rate.quote) == (target.code, source.code):
        rate = rate.inverted()
    if (rate.base, rate.quote) != (source.code, target.code):
        raise InvalidArgument(
            f"a {rate.base}/{rate.quote} rate cannot convert {source.code} to {target.code}"
        )
    scale = Fraction(10) ** (target.exponent - source.exponent)
    return amount.amount_minor * rate.value * scale


def convert(amount: Money, rate: Rate, to: str, rounding: Rounding) -> Money:
    """`amount` in `to` at `rate`, rounded to `to`'s smallest unit the way `rounding` says."""
    target = currency(to).code
    return Money(round_fraction(exact_conversion(amount, rate, target), rounding), target)


def parse_rate(text: str, field: str = "rate") -> Fraction:
    """A positive exact rate from `"1.0823"` or `"10823/10000"`; INVALID_ARGUMENT otherwise."""
    if len(text) > MAX_RATE_TEXT or not _RATE_TEXT.match(text):
        raise InvalidArgument.for_field(
            field, "a positive decimal (1.0823) or fraction (10823/10000)"
        )
    try:
        if "/" in text:
            numerator, denominator = (int(part) for part in text.split("/"))
            value = Fraction(numerator, denominator)
        else:
            value = Fraction(Decimal(text.strip()))
    except (ZeroDivisionError, InvalidOperation):
        raise InvalidArgument.for_field(field, "the denominator must not be zero") from None
    if value <= 0:
        raise InvalidArgument.for_field(field, "must be greater than zero")
    return value


def format_rate(value: Fraction) -> str:
    """The exact decimal when there is one (`1.0823`), else the fraction (`10000/10823`)."""
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    scaled = value.numerator * 10**places // value.denominator
    digits = str(scaled).rjust(places + 1, "0")
    if places == 0:
        return digits
    return f"{digits[:-places]}.{digits[-places:]}".rstrip("0").rstrip(".")


def parse_amount(text: str, field: str) -> int:
    """A non-negative integer amount of smallest units from its decimal string (`"1500000"`)."""
    stripped = text.strip()
    if not _AMOUNT_TEXT.fullmatch(stripped):
        raise InvalidArgument.for_field(field, "a non-negative integer of smallest units")
    return int(stripped)
