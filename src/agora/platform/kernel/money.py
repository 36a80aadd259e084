"""Money in integer minor units of one currency, and the one currency table.

An amount is an integer of the currency's smallest unit: minor units for ISO 4217 currencies
(cents; yen have none; KWD has fils, 3 decimals) and base units for crypto assets (USDT 6
decimals, the shop token AGT 18). No float is ever involved. Arithmetic is checked: mixing
currencies or leaving the currency's range raises instead of producing a wrong amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agora.platform.errors import FieldViolation, InvalidArgument

# The largest fiat amount anywhere in Agora (10 billion in a 2-decimal currency): far above any
# real order, far below int64, so a sum of a few such amounts cannot overflow a BIGINT column.
MAX_AMOUNT_MINOR = 10**12
# Crypto amounts are uint256 on chain.
MAX_TOKEN_AMOUNT = 2**256 - 1

# ISO 4217 minor-unit exponents of the currencies a shop may price in or be paid in.
ISO_EXPONENTS: Mapping[str, int] = {
    "AED": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2,
    "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
    "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2,
    "OMR": 3, "PHP": 2, "PLN": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3,
    "TRY": 2, "USD": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip

# Crypto assets: decimals of their base unit.
CRYPTO_DECIMALS: Mapping[str, int] = {
    "USDT": 6,
    "AGT": 18,  # the shop token
}


@dataclass(frozen=True)
class Currency:
    code: str
    exponent: int
    crypto: bool

    @property
    def max_amount(self) -> int:
        """The largest amount of this currency Agora accepts, in its smallest unit."""
        return MAX_TOKEN_AMOUNT if self.crypto else MAX_AMOUNT_MINOR


CURRENCIES: Mapping[str, Currency] = {
    **{code: Currency(code, exponent, False) for code, exponent in ISO_EXPONENTS.items()},
    **{code: Currency(code, decimals, True) for code, decimals in CRYPTO_DECIMALS.items()},
}


def is_currency(code: str) -> bool:
    return code in CURRENCIES


def currency(code: str, path: str = "currency") -> Currency:
    """The currency `code` (exact, upper case), or INVALID_ARGUMENT naming `path`."""
    found = CURRENCIES.get(code)
    if found is None:
        raise InvalidArgument.for_field(path, f"unknown currency {code!r}")
    return found


def fiat_currency(code: str, path: str = "currency") -> Currency:
    """An ISO 4217 currency a shop prices in, or INVALID_ARGUMENT naming `path`."""
    found = CURRENCIES.get(code)
    if found is None or found.crypto:
        raise InvalidArgument.for_field(path, f"unknown ISO 4217 currency {code!r}")
    return found


class CurrencyMismatch(ValueError):
    """Two amounts of different currencies were combined: a programming error, never input."""


@dataclass(frozen=True, slots=True)
class Money:
    """An integer amount of `currency`'s smallest unit."""

    amount_minor: int
    currency: str

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def _checked(self, amount: int) -> Money:
        limit = CURRENCIES[self.currency].max_amount if self.currency in CURRENCIES else 0
        if not -limit <= amount <= limit:
            raise InvalidArgument(
                f"amount out of range: more than {limit} minor units of {self.currency}"
            )
        return Money(amount, self.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return self._checked(self.amount_minor + other.amount_minor)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return self._checked(self.amount_minor - other.amount_minor)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return self._checked(self.amount_minor * factor)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor >= other.amount_minor


def sum_money(amounts: Iterable[Money], currency: str) -> Money:
    """The checked sum of `amounts`, all in `currency` (zero when empty)."""
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total


def money_violations(money: Money, path: str, *, fiat_only: bool = True) -> list[FieldViolation]:
    """What is wrong with an amount given at JSON path `path` (`prices[0]`): its currency is
    unknown (or crypto where only fiat is allowed), or its amount is negative or too large."""
    violations = []
    known = CURRENCIES.get(money.currency)
    if known is None or (fiat_only and known.crypto):
        violations.append(
            FieldViolation(f"{path}.currency", f"unknown ISO 4217 currency {money.currency!r}")
        )
    if money.amount_minor < 0:
        violations.append(FieldViolation(f"{path}.amountMinor", "must not be negative"))
    elif money.amount_minor > (known.max_amount if known else MAX_AMOUNT_MINOR):
        violations.append(FieldViolation(f"{path}.amountMinor", "too large"))
    return violations
