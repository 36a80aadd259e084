"""The shop's checkout rules: carts and their lines, taxes, shipping zones and rates, addresses,
the totals of a cart, the catalog's offers as a cart sees them, and what order lists show. Pure:
no I/O, no database, no gRPC (the order itself is `aggregate.py`).

Money is always integer minor units of one currency (`agora.platform.kernel.money`); no float is
ever involved.

Rounding (documented, and the same everywhere): tax is computed **per line**, as an integer
division rounded half to even (banker's rounding) of the line amount by the tax rate in basis
points; the cart's and the order's tax is the **sum of the line taxes** (shipping is one more
line). So a total never differs from the sum of its lines by a rounding remainder.

- Prices exclusive of tax: `tax = round_half_even(net * rate / 10000)`, `gross = net + tax`.
- Prices inclusive of tax: `net = round_half_even(gross * 10000 / (10000 + rate))`,
  `tax = gross - net`.

Weights: the catalog keeps no weights yet, so every unit weighs the shop's default
(`ShopRules.default_unit_weight_grams`, 500 g unless configured) for weight-based shipping.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum

from agora.platform.errors import (
    Conflict,
    FailedPrecondition,
    FieldViolation,
    Gone,
    InvalidArgument,
    PreconditionViolation,
)
from agora.platform.kernel.checks import raise_if_any, text_violations
from agora.platform.kernel.money import MAX_AMOUNT_MINOR, fiat_currency
from agora.platform.kernel.paging import DEFAULT_PAGE_SIZE

MIN_QUANTITY = 1
MAX_QUANTITY = 99
MAX_CART_LINES = 100
BASIS_POINTS = 10_000
DEFAULT_UNIT_WEIGHT_GRAMS = 500
DEFAULT_CART_TTL = timedelta(days=7)

# Tokens of the chain an order may be paid in, besides its own currency; their invoices are made
# by payments' `chain` provider (a deposit address and router calldata per invoice).
CHAIN_PAY_CURRENCIES = ("USDT", "AGT")
CHAIN_PROVIDER = "chain"

# VAT / sales tax of the destination country, in basis points (1900 = 19 %). US sales tax is
# collected per state by the merchant's own arrangements: 0 here.
DEFAULT_TAX_RATES_BP: Mapping[str, int] = {
    "DE": 1900,
    "AT": 2000,
    "FR": 2000,
    "NL": 2100,
    "BE": 2100,
    "ES": 2100,
    "IT": 2200,
    "GB": 2000,
    "CH": 810,
    "US": 0,
    "JP": 1000,
}


# --- taxes ----------------------------------------------------------------------------------


def divide_half_even(numerator: int, denominator: int) -> int:
    """`numerator / denominator` rounded half to even, in integers (denominator > 0)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


@dataclass(frozen=True)
class Taxed:
    """One amount split into net, tax and gross (all minor units)."""

    net: int
    tax: int
    gross: int


def taxed(amount_minor: int, rate_bp: int, *, prices_include_tax: bool) -> Taxed:
    """Split a line amount at `rate_bp`, the amount being gross or net per the shop setting."""
    if amount_minor < 0 or rate_bp < 0:
        raise ValueError("amounts and rates are never negative")
    if prices_include_tax:
        net = divide_half_even(amount_minor * BASIS_POINTS, BASIS_POINTS + rate_bp)
        return Taxed(net=net, tax=amount_minor - net, gross=amount_minor)
    tax = divide_half_even(amount_minor * rate_bp, BASIS_POINTS)
    return Taxed(net=amount_minor, tax=tax, gross=amount_minor + tax)


# --- addresses -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """A postal address; `country` is an ISO 3166-1 alpha-2 code."""

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class AddressRule:
    """What a country's addresses need: a postal code of a shape, perhaps a region."""

    postal_code: re.Pattern[str]
    example: str
    region_required: bool = False


ADDRESS_RULES: Mapping[str, AddressRule] = {
    "DE": AddressRule(re.compile(r"\d{5}"), "10115"),
    "AT": AddressRule(re.compile(r"\d{4}"), "1010"),
    "FR": AddressRule(re.compile(r"\d{5}"), "75001"),
    "NL": AddressRule(re.compile(r"\d{4} ?[A-Z]{2}"), "1012 AB"),
    "BE": AddressRule(re.compile(r"\d{4}"), "1000"),
    "ES": AddressRule(re.compile(r"\d{5}"), "28001"),
    "IT": AddressRule(re.compile(r"\d{5}"), "00118"),
    "CH": AddressRule(re.compile(r"\d{4}"), "8001"),
    "GB": AddressRule(re.compile(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"), "SW1A 1AA"),
    "US": AddressRule(re.compile(r"\d{5}(?:-\d{4})?"), "94103", region_required=True),
    "JP": AddressRule(re.compile(r"\d{3}-?\d{4}"), "100-0001", region_required=True),
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_ADDRESS_FIELD = 200
_REQUIRED_ADDRESS_FIELDS = frozenset({"name", "line1", "city", "country"})


def normalize_address(address: Address) -> Address:
    """Trimmed fields; country and postal code upper-cased (`sw1a 1aa` is `SW1A 1AA`)."""
    trimmed = {name: getattr(address, name).strip() for name in Address.__dataclass_fields__}
    trimmed["country"] = trimmed["country"].upper()
    trimmed["postal_code"] = trimmed["postal_code"].upper()
    return Address(**trimmed)


def address_violations(address: Address, path: str) -> list[FieldViolation]:
    """Every problem of a normalized address, each named `path.fieldName`."""
    violations = [
        violation
        for name in Address.__dataclass_fields__
        for violation in text_violations(
            getattr(address, name),
            f"{path}.{_camel(name)}",
            max_len=MAX_ADDRESS_FIELD,
            required=name in _REQUIRED_ADDRESS_FIELDS,
        )
    ]
    if address.email and not _EMAIL.fullmatch(address.email):
        violations.append(FieldViolation(f"{path}.email", "not an email address"))
    if not address.country:
        return violations
    rule = ADDRESS_RULES.get(address.country)
    if rule is None:
        violations.append(
            FieldViolation(f"{path}.country", f"unsupported country {address.country!r}")
        )
        return violations
    if not rule.postal_code.fullmatch(address.postal_code):
        violations.append(
            FieldViolation(
                f"{path}.postalCode",
                f"not a postal code of {address.country} (like {rule.example!r})",
            )
        )
    if rule.region_required and not address.region:
        violations.append(FieldViolation(f"{path}.region", "required in " + address.country))
    return violations


def validate_address(address: Address, path: str = "shippingAddress") -> Address:
    """The normalized address, or INVALID_ARGUMENT listing every bad field."""
    normalized = normalize_address(address)
    raise_if_any(address_violations(normalized, path))
    return normalized


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# --- shipping ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlatRate:
    """One price per currency, whatever the parcel weighs."""

    prices: Mapping[str, int]


@dataclass(frozen=True)
class WeightBracket:
    """Parcels up to `up_to_grams` (inclusive) cost `price_minor`."""

    up_to_grams: int
    price_minor: int


@dataclass(frozen=True)
class WeightRate:
    """Brackets by weight, per currency, in increasing `up_to_grams`; heavier is not offered."""

    brackets: Mapping[str, tuple[WeightBracket, ...]]


@dataclass(frozen=True)
class ShippingMethod:
    code: str
    name: str
    zone: str
    rate: FlatRate | WeightRate


@dataclass(frozen=True)
class ShippingTable:
    """Zones (name -> countries) and the methods offered in each."""

    zones: Mapping[str, frozenset[str]]
    methods: tuple[ShippingMethod, ...]

    def zone_of(self, country: str) -> str | None:
        for zone, countries in self.zones.items():
            if country in countries:
                return zone
        return None


@dataclass(frozen=True)
class ShippingOption:
    """A method offered for one parcel, with its price in the cart's currency."""

    method: ShippingMethod
    price_minor: int


def shipping_price(method: ShippingMethod, currency: str, grams: int) -> int | None:
    """The method's price for a parcel of `grams` in `currency`; None when it is not offered."""
    match method.rate:
        case FlatRate(prices=prices):
            return prices.get(currency)
        case WeightRate(brackets=brackets):
            for bracket in brackets.get(currency, ()):
                if grams <= bracket.up_to_grams:
                    return bracket.price_minor
            return None


def shipping_options(
    table: ShippingTable, country: str, currency: str, grams: int
) -> list[ShippingOption]:
    """The methods of `country`'s zone priced in `currency` for this weight, cheapest first."""
    zone = table.zone_of(country)
    options = []
    for method in table.methods:
        price = shipping_price(method, currency, grams) if method.zone == zone else None
        if price is not None:
            options.append(ShippingOption(method, price))
    return sorted(options, key=lambda option: (option.price_minor, option.method.code))


def _brackets(*pairs: tuple[int, int]) -> tuple[WeightBracket, ...]:
    return tuple(WeightBracket(grams, price) for grams, price in pairs)


DEFAULT_SHIPPING = ShippingTable(
    zones={
        "domestic": frozenset({"DE"}),
        "eu": frozenset({"AT", "FR", "NL", "BE", "ES", "IT"}),
        "europe": frozenset({"GB", "CH"}),
        "world": frozenset({"US", "JP"}),
    },
    methods=(
        ShippingMethod("de-standard", "DHL Paket", "domestic", FlatRate({"EUR": 490})),
        ShippingMethod(
            "de-express",
            "DHL Express",
            "domestic",
            WeightRate({"EUR": _brackets((2_000, 990), (10_000, 1490), (31_500, 2490))}),
        ),
        ShippingMethod(
            "eu-standard",
            "EU Standard",
            "eu",
            WeightRate({"EUR": _brackets((2_000, 990), (10_000, 1990), (31_500, 3490))}),
        ),
        ShippingMethod(
            "europe-standard",
            "Europe Standard",
            "europe",
            WeightRate(
                {
                    "EUR": _brackets((2_000, 1490), (10_000, 2990)),
                    "GBP": _brackets((2_000, 1290), (10_000, 2590)),
                    "CHF": _brackets((2_000, 1490), (10_000, 2990)),
                }
            ),
        ),
        ShippingMethod(
            "world-standard",
            "World Standard",
            "world",
            WeightRate(
                {
                    "EUR": _brackets((2_000, 2490), (10_000, 5990)),
                    "USD": _brackets((2_000, 2690), (10_000, 6490)),
                    "JPY": _brackets((2_000, 3900), (10_000, 9500)),
                }
            ),
        ),
        ShippingMethod(
            "world-express",
            "World Express",
            "world",
            FlatRate({"EUR": 4990, "USD": 5490, "JPY": 7800}),
        ),
    ),
)


# --- the shop's configuration --------------------------------------------------------------


@dataclass(frozen=True)
class ShopRules:
    """How this shop taxes and ships: chosen by configuration, fixed while it runs."""

    prices_include_tax: bool = True
    # Whose tax rate applies before the customer gives an address (the shop's own country).
    origin_country: str = "DE"
    tax_rates_bp: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_TAX_RATES_BP))
    shipping: ShippingTable = DEFAULT_SHIPPING
    default_unit_weight_grams: int = DEFAULT_UNIT_WEIGHT_GRAMS
    cart_ttl: timedelta = DEFAULT_CART_TTL

    def tax_rate_bp(self, country: str) -> int:
        """The destination's rate; a country without a rate is taxed at 0."""
        return self.tax_rates_bp.get(country, 0)


# --- carts ---------------------------------------------------------------------------------


class CartStatus(Enum):
    OPEN = "open"
    ORDERED = "ordered"


@dataclass(frozen=True)
class CartLine:
    """A variant in a cart, with the unit price taken from the catalog when it was set."""

    variant_id: str
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True)
class Cart:
    id: str
    token: str
    currency: str
    customer_id: str
    status: CartStatus
    expires_at: datetime
    lines: tuple[CartLine, ...] = ()
    shipping_address: Address | None = None
    shipping_method: str = ""
    order_id: str = ""
    version: int = 1


def new_cart(
    *, token: str, currency: str, customer_id: str, now: datetime, rules: ShopRules
) -> Cart:
    """An empty open cart in a known ISO 4217 currency (`eur` is EUR), expiring
    `rules.cart_ttl` from `now`."""
    return Cart(
        id=str(uuid.uuid4()),
        token=token,
        currency=fiat_currency(currency.strip().upper()).code,
        customer_id=customer_id.strip(),
        status=CartStatus.OPEN,
        expires_at=now + rules.cart_ttl,
    )


def ensure_open(cart: Cart, now: datetime) -> None:
    """Expired carts are gone (410); a cart that became an order takes no more changes."""
    if cart.status is CartStatus.ORDERED:
        raise FailedPrecondition(
            f"cart already became order {cart.order_id}", metadata={"orderId": cart.order_id}
        )
    if cart.expires_at <= now:
        raise Gone(f"cart expired at {cart.expires_at.isoformat()}")


def touched(cart: Cart, now: datetime, rules: ShopRules) -> Cart:
    """A cart in use lives on: every change pushes its expiry out again."""
    return replace(cart, expires_at=now + rules.cart_ttl, version=cart.version + 1)


def require_quantity(quantity: int, path: str = "quantity") -> int:
    """Quantities are whole units from 1 to 99."""
    if not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
        raise InvalidArgument.for_field(path, f"must be between {MIN_QUANTITY} and {MAX_QUANTITY}")
    return quantity


def with_line(cart: Cart, line: CartLine) -> Cart:
    """`line` added; a variant already in the cart gets the quantities summed and the new price."""
    existing = _line_of(cart, line.variant_id)
    if existing is None:
        if len(cart.lines) >= MAX_CART_LINES:
            raise FailedPrecondition(f"a cart holds at most {MAX_CART_LINES} lines")
        require_quantity(line.quantity)
        return _within_largest_amount(replace(cart, lines=(*cart.lines, line)))
    merged = replace(line, quantity=require_quantity(existing.quantity + line.quantity))
    return _within_largest_amount(_replace_line(cart, merged))


def with_quantity(cart: Cart, variant_id: str, quantity: int, unit_price_minor: int) -> Cart:
    """The line of `variant_id` set to `quantity` at the current unit price."""
    existing = _line_of(cart, variant_id)
    if existing is None:
        raise InvalidArgument.for_field("variantId", f"variant {variant_id} is not in the cart")
    updated = replace(
        existing, quantity=require_quantity(quantity), unit_price_minor=unit_price_minor
    )
    return _within_largest_amount(_replace_line(cart, updated))


def _within_largest_amount(cart: Cart, path: str = "quantity") -> Cart:
    """`cart` if its goods stay within the shop's largest amount (docs/adr/0008): totals,
    taxes and the invoice then never leave int64, whatever the prices and quantities."""
    goods = sum(line.unit_price_minor * line.quantity for line in cart.lines)
    if goods > MAX_AMOUNT_MINOR:
        raise InvalidArgument.for_field(
            path, f"the cart would exceed the largest amount of {MAX_AMOUNT_MINOR} minor units"
        )
    return cart


def without_line(cart: Cart, variant_id: str) -> Cart:
    """The cart without `variant_id` (already absent: unchanged, so a retry is harmless)."""
    return replace(cart, lines=tuple(x for x in cart.lines if x.variant_id != variant_id))


def _line_of(cart: Cart, variant_id: str) -> CartLine | None:
    return next((x for x in cart.lines if x.variant_id == variant_id), None)


def _replace_line(cart: Cart, line: CartLine) -> Cart:
    return replace(
        cart, lines=tuple(line if x.variant_id == line.variant_id else x for x in cart.lines)
    )


# --- totals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineTotal:
    """A line's amount (unit price x quantity) split into net, tax and gross."""

    variant_id: str
    quantity: int
    unit_price_minor: int
    amount: Taxed


@dataclass(frozen=True)
class Totals:
    """A cart's or order's totals in minor units of `currency`.

    `subtotal` and `shipping` are as the shop shows its prices (gross when prices include tax,
    net otherwise); `tax` is the sum of the line taxes and the shipping tax; `total` is what the
    customer pays: the sum of the gross amounts of every line and of shipping.
    """

    currency: str
    subtotal: int
    shipping: int
    tax: int
    total: int
    prices_include_tax: bool
    tax_rate_bp: int
    lines: tuple[LineTotal, ...] = ()


def parcel_weight(lines: Iterable[CartLine], rules: ShopRules) -> int:
    """Grams of the parcel: every unit weighs the shop's default (the catalog has no weights)."""
    return sum(line.quantity for line in lines) * rules.default_unit_weight_grams


def totals(
    lines: Sequence[CartLine],
    *,
    currency: str,
    shipping_minor: int,
    tax_rate_bp: int,
    prices_include_tax: bool,
) -> Totals:
    """Totals of `lines` plus shipping at one tax rate, taxed line by line (see module doc)."""
    line_totals = tuple(
        LineTotal(
            variant_id=line.variant_id,
            quantity=line.quantity,
            unit_price_minor=line.unit_price_minor,
            amount=taxed(
                line.unit_price_minor * line.quantity,
                tax_rate_bp,
                prices_include_tax=prices_include_tax,
            ),
        )
        for line in lines
    )
    shipping = taxed(shipping_minor, tax_rate_bp, prices_include_tax=prices_include_tax)

    def shown(amount: Taxed) -> int:
        return amount.gross if prices_include_tax else amount.net

    total = sum(x.amount.gross for x in line_totals) + shipping.gross
    if total > MAX_AMOUNT_MINOR:
        # Tax added to net prices, or shipping, can carry a cart at the limit over it.
        raise InvalidArgument.for_field(
            "totals.total", f"more than the largest amount of {MAX_AMOUNT_MINOR} minor units"
        )
    return Totals(
        currency=currency,
        subtotal=sum(shown(x.amount) for x in line_totals),
        shipping=shown(shipping),
        tax=sum(x.amount.tax for x in line_totals) + shipping.tax,
        total=total,
        prices_include_tax=prices_include_tax,
        tax_rate_bp=tax_rate_bp,
        lines=line_totals,
    )


def chosen_shipping(cart: Cart, rules: ShopRules) -> ShippingOption | None:
    """The cart's shipping method with its current price, if chosen and still offered."""
    if not cart.shipping_method or cart.shipping_address is None:
        return None
    options = shipping_options(
        rules.shipping,
        cart.shipping_address.country,
        cart.currency,
        parcel_weight(cart.lines, rules),
    )
    return next((o for o in options if o.method.code == cart.shipping_method), None)


def cart_totals(cart: Cart, rules: ShopRules) -> Totals:
    """The cart's totals: taxed for its destination (the shop's country until it has one)."""
    country = cart.shipping_address.country if cart.shipping_address else rules.origin_country
    shipping = chosen_shipping(cart, rules)
    return totals(
        cart.lines,
        currency=cart.currency,
        shipping_minor=shipping.price_minor if shipping else 0,
        tax_rate_bp=rules.tax_rate_bp(country),
        prices_include_tax=rules.prices_include_tax,
    )


def with_shipping_address(cart: Cart, address: Address, rules: ShopRules) -> Cart:
    """The cart shipping to a valid `address` in a country the shop ships to.

    A chosen method that the new destination does not offer is dropped.
    """
    valid = validate_address(address)
    if rules.shipping.zone_of(valid.country) is None:
        raise InvalidArgument.for_field(
            "shippingAddress.country", f"the shop does not ship to {valid.country}"
        )
    updated = replace(cart, shipping_address=valid)
    if cart.shipping_method and chosen_shipping(updated, rules) is None:
        updated = replace(updated, shipping_method="")
    return updated


def with_shipping_method(cart: Cart, code: str, rules: ShopRules) -> Cart:
    """The cart with the method `code`, which must be offered for its address and parcel."""
    if cart.shipping_address is None:
        raise FailedPrecondition("set a shipping address before choosing a shipping method")
    updated = replace(cart, shipping_method=code.strip())
    if chosen_shipping(updated, rules) is None:
        raise InvalidArgument.for_field(
            "shippingMethod", f"method {code!r} is not offered for this cart"
        )
    return updated


def ready_for_checkout(cart: Cart, rules: ShopRules) -> ShippingOption:
    """The chosen shipping, when the cart has lines, an address and a method still offered."""
    if not cart.lines:
        raise FailedPrecondition("the cart is empty")
    if cart.shipping_address is None:
        raise FailedPrecondition("the cart has no shipping address")
    chosen = chosen_shipping(cart, rules)
    if chosen is None:
        raise FailedPrecondition("choose a shipping method offered for this cart")
    return chosen


# --- the catalog as orders sees it, and re-checking a cart against it -----------------------


@dataclass(frozen=True)
class Offer:
    """A variant as it may go into a cart: what it is and what one unit costs."""

    product_id: str
    variant_id: str
    sku: str
    title: str
    unit_price_minor: int


@dataclass(frozen=True)
class CatalogVariant:
    """A variant as the catalog has it now: whether it may be sold, and its prices."""

    variant_id: str
    for_sale: bool
    prices: Mapping[str, int]


class LineProblem(Enum):
    """Why a cart line can no longer be ordered as it stands."""

    NOT_FOR_SALE = "no longer for sale"
    UNPRICED = "no longer priced in the cart's currency"
    PRICE_CHANGED = "price changed"


@dataclass(frozen=True)
class LineChange:
    """A cart line the catalog no longer agrees with; `new_price_minor` for a new price."""

    variant_id: str
    problem: LineProblem
    old_price_minor: int
    new_price_minor: int | None = None

    def describe(self, currency: str) -> str:
        if self.problem is LineProblem.PRICE_CHANGED:
            return f"price changed from {self.old_price_minor} to {self.new_price_minor} {currency}"
        if self.problem is LineProblem.UNPRICED:
            return f"no longer priced in {currency}"
        return str(self.problem.value)


class CartChanged(Conflict):
    """The catalog changed under a cart's lines since they were added: 409 at the HTTP edge,
    naming each line as a precondition (type NOT_FOR_SALE, UNPRICED or PRICE_CHANGED; subject
    the variant id; what changed in words). The cart has been updated."""

    reason = "CART_CHANGED"

    def __init__(self, changes: Sequence[LineChange], currency: str) -> None:
        unmet = [
            PreconditionViolation(c.problem.name, c.variant_id, c.describe(currency))
            for c in changes
        ]
        summary = "; ".join(f"{p.subject}: {p.description}" for p in unmet)
        super().__init__(
            f"the cart changed since its lines were added, check the new total: {summary}",
            preconditions=unmet,
        )
        self.changes = tuple(changes)


def catalog_changes(cart: Cart, catalog: Mapping[str, CatalogVariant]) -> list[LineChange]:
    """The lines of `cart` the catalog now disagrees with: a product archived or withdrawn, a
    variant gone, a price removed or changed in the cart's currency."""
    changes = []
    for line in cart.lines:
        now = catalog.get(line.variant_id)
        price = now.prices.get(cart.currency) if now is not None else None
        was = line.unit_price_minor
        if now is None or not now.for_sale:
            changes.append(LineChange(line.variant_id, LineProblem.NOT_FOR_SALE, was))
        elif price is None:
            changes.append(LineChange(line.variant_id, LineProblem.UNPRICED, was))
        elif price != was:
            changes.append(LineChange(line.variant_id, LineProblem.PRICE_CHANGED, was, price))
    return changes


def with_catalog_changes(cart: Cart, changes: Sequence[LineChange]) -> Cart:
    """The cart as the customer may still order it: repriced lines at their new price, lines
    that can no longer be sold removed."""
    updated = cart
    for change in changes:
        if change.new_price_minor is None:
            updated = without_line(updated, change.variant_id)
        else:
            line = _line_of(updated, change.variant_id)
            if line is not None:
                repriced = replace(line, unit_price_minor=change.new_price_minor)
                updated = _replace_line(updated, repriced)
    return updated


# --- order listings --------------------------------------------------------------------------

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class PlacedDays:
    """The UTC days an order was placed on, both ends included; an end left out is open."""

    first: date | None = None
    last: date | None = None

    @classmethod
    def parse(cls, first: str, last: str) -> PlacedDays:
        """Days written `YYYY-MM-DD` (empty: open); the first not after the last."""
        days = cls(_day(first, "placedFrom"), _day(last, "placedTo"))
        if days.first and days.last and days.first > days.last:
            raise InvalidArgument.for_field("placedTo", "must not be before placedFrom")
        return days

    def since(self) -> datetime | None:
        """The first moment in the range (None: open)."""
        return datetime.combine(self.first, time(), UTC) if self.first else None

    def until(self) -> datetime | None:
        """The first moment after the range (None: open)."""
        if self.last is None or self.last == date.max:  # no day after 9999-12-31
            return None
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)


def _day(text: str, field_path: str) -> date | None:
    if not text:
        return None
    if _DAY.fullmatch(text):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text)
    raise InvalidArgument.for_field(field_path, "not a day written YYYY-MM-DD")


@dataclass(frozen=True)
class OrderListQuery:
    """A page of orders, newest first: a customer's, or staff's search by status, words and
    the days placed on."""

    customer_id: str | None = None
    status: str | None = None
    words: tuple[str, ...] = ()
    placed: PlacedDays = PlacedDays()
    page_size: int = DEFAULT_PAGE_SIZE
    page_token: str = ""

    def fingerprint(self) -> str:
        """What a page token of this listing is bound to: its filters, not its page size."""
        days = (
            f"|{self.placed.first or ''}|{self.placed.last or ''}"
            if self.placed.first or self.placed.last
            else ""
        )
        return f"orders|{self.customer_id or ''}|{self.status or ''}|{' '.join(self.words)}{days}"


@dataclass(frozen=True)
class OrderSummary:
    """An order as lists show it."""

    order_id: str
    customer_id: str
    status: str
    currency: str
    total_minor: int
    item_count: int
    customer_name: str
    email: str
    country: str
    placed_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OrderListPage:
    orders: tuple[OrderSummary, ...]
    next_page_token: str


# --- paying ----------------------------------------------------------------------------------


def pay_currency(requested: str, order_currency: str) -> str:
    """What a checkout pays in: the order's currency (when none is named) or a chain token."""
    code = requested.strip().upper()
    if code in ("", order_currency) or code in CHAIN_PAY_CURRENCIES:
        return code or order_currency
    allowed = ", ".join((order_currency, *CHAIN_PAY_CURRENCIES))
    raise InvalidArgument.for_field("payCurrency", f"pay in one of {allowed}, not {code!r}")


def invoice_provider(pay_currency: str) -> str:
    """The payment provider orders names for an invoice in `pay_currency` ("" = payments'
    default): the chain's for its tokens."""
    return CHAIN_PROVIDER if pay_currency in CHAIN_PAY_CURRENCIES else ""
