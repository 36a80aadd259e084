"""Exchange rates and conversion between currencies, in exact integer arithmetic. Pure: no I/O.

Amounts are `kernel.money.Money`: integers of the currency's smallest unit, whose exponents
come from the kernel's one currency table (ISO 4217 and crypto alike). A rate is an exact
fraction, never a float.

Rounding, chosen and documented once:
- `Rounding.HALF_EVEN` (banker's rounding) for quotes and display: unbiased over many amounts.
- `Rounding.UP` (toward +infinity) for what an invoice asks to be paid: a converted price is never
  less than the price, so rounding never costs the merchant. Either way a conversion is within
  one smallest unit of the exact value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from fractions import Fraction

from agora.platform.errors import InvalidArgument
from agora.platform.kernel.money import Money, currency

MAX_RATE_TEXT = 64
_RATE_TEXT = re.compile(r"^\s*(\d+(\.\d+)?|\d+\s*/\s*\d+)\s*$")


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
