"""Cart lines, taxes and their rounding, shipping zones and rates, addresses, cart totals."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agora.gateway.problem import problem_from_domain_error
from agora.orders.domain import (
    DEFAULT_SHIPPING,
    Address,
    Cart,
    CartChanged,
    CartLine,
    CartStatus,
    CatalogVariant,
    LineChange,
    LineProblem,
    ShopRules,
    cart_totals,
    catalog_changes,
    divide_half_even,
    ensure_open,
    new_cart,
    ready_for_checkout,
    shipping_options,
    taxed,
    totals,
    validate_address,
    with_catalog_changes,
    with_line,
    with_quantity,
    with_shipping_address,
    with_shipping_method,
    without_line,
)
from agora.platform.errors import (
    FailedPrecondition,
    Gone,
    InvalidArgument,
    PreconditionViolation,
)

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
RULES = ShopRules()
BERLIN = Address(
    name="Erika Mustermann",
    line1="Unter den Linden 1",
    city="Berlin",
    postal_code="10117",
    country="DE",
)


def line(variant: str = "v-1", quantity: int = 1, price: int = 1_000) -> CartLine:
    return CartLine(variant, "p-1", f"SKU-{variant}", "Lamp", quantity, price)


def cart(*lines: CartLine, currency: str = "EUR") -> Cart:
    empty = new_cart(token="t", currency=currency, customer_id="", now=NOW, rules=RULES)
    return replace(empty, lines=tuple(lines))


def fields(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


# --- rounding and taxes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(5, 2, 2), (7, 2, 4), (1, 2, 0), (3, 2, 2), (10, 3, 3), (11, 3, 4), (0, 7, 0), (-5, 2, -2)],
)
def test_division_rounds_half_to_even(numerator: int, denominator: int, expected: int) -> None:
    assert divide_half_even(numerator, denominator) == expected


def test_exclusive_prices_get_tax_added() -> None:
    amount = taxed(1_000, 1900, prices_include_tax=False)
    assert (amount.net, amount.tax, amount.gross) == (1_000, 190, 1_190)


def test_inclusive_prices_contain_their_tax() -> None:
    amount = taxed(1_190, 1900, prices_include_tax=True)
    assert (amount.net, amount.tax, amount.gross) == (1_000, 190, 1_190)


def test_a_half_cent_of_tax_rounds_to_the_even_cent() -> None:
    # 50 * 19 % = 9.5 -> 10 (even); 150 * 19 % = 28.5 -> 28 (even)
    assert taxed(50, 1900, prices_include_tax=False).tax == 10
    assert taxed(150, 1900, prices_include_tax=False).tax == 28


def test_tax_is_rounded_per_line_and_the_total_tax_is_their_sum() -> None:
    # Each line's 9.5 cent rounds to 10; taxing the 100-cent sum at once would give 19.
    result = totals(
        [line("a", 1, 50), line("b", 1, 50)],
        currency="EUR",
        shipping_minor=0,
        tax_rate_bp=1900,
        prices_include_tax=False,
    )
    assert [x.amount.tax for x in result.lines] == [10, 10]
    assert result.tax == 20


amounts = st.integers(min_value=0, max_value=10**12)
rates = st.integers(min_value=0, max_value=5_000)


@given(amounts, rates, st.booleans())
def test_net_plus_tax_is_gross_and_nothing_is_negative(
    amount: int, rate: int, inclusive: bool
) -> None:
    result = taxed(amount, rate, prices_include_tax=inclusive)
    assert result.net + result.tax == result.gross
    assert min(result.net, result.tax, result.gross) >= 0
    assert all(isinstance(x, int) for x in (result.net, result.tax, result.gross))


cart_lines = st.lists(
    st.builds(
        CartLine,
        variant_id=st.uuids().map(str),
        product_id=st.just("p"),
        sku=st.just("s"),
        title=st.just("t"),
        quantity=st.integers(1, 99),
        unit_price_minor=st.integers(0, 10**9),
    ),
    max_size=20,
)


@given(cart_lines, st.integers(0, 10**7), rates, st.booleans())
def test_totals_are_the_sum_of_lines_shipping_and_tax(
    lines: list[CartLine], shipping: int, rate: int, inclusive: bool
) -> None:
    result = totals(
        lines,
        currency="EUR",
        shipping_minor=shipping,
        tax_rate_bp=rate,
        prices_include_tax=inclusive,
    )
    if inclusive:
        assert result.total == result.subtotal + result.shipping
        assert result.subtotal == sum(x.unit_price_minor * x.quantity for x in lines)
    else:
        assert result.total == result.subtotal + result.shipping + result.tax
        assert result.subtotal == sum(x.unit_price_minor * x.quantity for x in lines)
    shipping_tax = taxed(shipping, rate, prices_include_tax=inclusive).tax
    assert result.tax == sum(x.amount.tax for x in result.lines) + shipping_tax
    assert min(result.subtotal, result.shipping, result.tax, result.total) >= 0
    assert all(type(v) is int for v in (result.subtotal, result.shipping, result.tax, result.total))


# --- carts -------------------------------------------------------------------------------------


def test_a_cart_needs_a_known_iso_currency_and_names_the_unknown_one() -> None:
    for unknown in ("XXX", "USDT"):  # a crypto asset is no currency a shop prices in
        with pytest.raises(InvalidArgument, match=unknown) as error:
            cart(currency=unknown)
        assert fields(error) == ["currency"]
    assert cart(currency=" eur ").currency == "EUR"


def test_adding_a_variant_twice_sums_the_quantities() -> None:
    updated = with_line(with_line(cart(), line("a", 2)), line("a", 3, price=1_200))
    assert [(x.variant_id, x.quantity, x.unit_price_minor) for x in updated.lines] == [
        ("a", 5, 1_200)
    ]


@pytest.mark.parametrize("quantity", [0, -1, 100])
def test_quantities_are_between_1_and_99(quantity: int) -> None:
    with pytest.raises(InvalidArgument) as error:
        with_line(cart(), line("a", quantity))
    assert fields(error) == ["quantity"]


def test_merged_quantities_may_not_pass_99() -> None:
    with pytest.raises(InvalidArgument):
        with_line(cart(line("a", 60)), line("a", 40))


def test_updating_sets_the_quantity_and_the_current_price() -> None:
    updated = with_quantity(cart(line("a", 2)), "a", 7, 900)
    assert [(x.quantity, x.unit_price_minor) for x in updated.lines] == [(7, 900)]


def test_updating_a_variant_not_in_the_cart_names_it() -> None:
    with pytest.raises(InvalidArgument, match="v-9") as error:
        with_quantity(cart(), "v-9", 1, 100)
    assert fields(error) == ["variantId"]


def test_removing_is_harmless_when_repeated() -> None:
    once = without_line(cart(line("a"), line("b")), "a")
    assert without_line(once, "a") == once
    assert [x.variant_id for x in once.lines] == ["b"]


def test_an_expired_cart_is_gone() -> None:
    with pytest.raises(Gone):
        ensure_open(cart(), NOW + RULES.cart_ttl)
    ensure_open(cart(), NOW + RULES.cart_ttl - timedelta(seconds=1))


def test_an_ordered_cart_takes_no_more_changes() -> None:
    ordered = replace(cart(), status=CartStatus.ORDERED, order_id="o-1")
    with pytest.raises(FailedPrecondition) as error:
        ensure_open(ordered, NOW)
    assert error.value.metadata == {"orderId": "o-1"}


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "postal_code", "region"),
    [
        ("DE", "10115", ""),
        ("FR", "75001", ""),
        ("NL", "1012 ab", ""),
        ("NL", "1012AB", ""),
        ("GB", "sw1a 1aa", ""),
        ("GB", "M1 1AE", ""),
        ("US", "94103", "CA"),
        ("US", "94103-1234", "CA"),
        ("JP", "100-0001", "Tokyo"),
        ("JP", "1000001", "Tokyo"),
    ],
)
def test_well_formed_postal_codes_are_accepted(country: str, postal_code: str, region: str) -> None:
    address = Address(
        name="A",
        line1="B",
        city="C",
        postal_code=postal_code,
        country=country.lower(),
        region=region,
    )
    valid = validate_address(address)
    assert valid.country == country
    assert valid.postal_code == postal_code.upper()


@pytest.mark.parametrize(
    ("country", "postal_code"),
    [
        ("DE", "1011"),
        ("DE", "ABCDE"),
        ("FR", "7500"),
        ("NL", "ABCD 12"),
        ("GB", "12345"),
        ("US", "9410"),
        ("JP", "1000-001"),
    ],
)
def test_malformed_postal_codes_are_named(country: str, postal_code: str) -> None:
    address = Address(
        name="A", line1="B", city="C", postal_code=postal_code, country=country, region="R"
    )
    with pytest.raises(InvalidArgument) as error:
        validate_address(address)
    assert fields(error) == ["shippingAddress.postalCode"]


def test_every_missing_field_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_address(Address(country="US", postal_code="94103"))
    assert fields(error) == [
        "shippingAddress.name",
        "shippingAddress.line1",
        "shippingAddress.city",
        "shippingAddress.region",
    ]


def test_an_unknown_country_and_a_bad_email_are_named() -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_address(replace(BERLIN, country="XX", email="not-mail"))
    assert fields(error) == ["shippingAddress.email", "shippingAddress.country"]


# --- shipping ----------------------------------------------------------------------------------


def test_germany_is_offered_the_domestic_methods_cheapest_first() -> None:
    options = shipping_options(DEFAULT_SHIPPING, "DE", "EUR", 1_000)
    assert [(o.method.code, o.price_minor) for o in options] == [
        ("de-standard", 490),
        ("de-express", 990),
    ]


def test_weight_based_rates_take_the_first_bracket_that_fits() -> None:
    by_weight = {
        grams: [o.price_minor for o in shipping_options(DEFAULT_SHIPPING, "FR", "EUR", grams)]
        for grams in (2_000, 2_001, 31_500, 31_501)
    }
    assert by_weight == {2_000: [990], 2_001: [1990], 31_500: [3490], 31_501: []}


def test_methods_not_priced_in_the_currency_are_not_offered() -> None:
    assert shipping_options(DEFAULT_SHIPPING, "DE", "USD", 500) == []
    assert [o.method.code for o in shipping_options(DEFAULT_SHIPPING, "US", "USD", 500)] == [
        "world-standard",
        "world-express",
    ]


def test_a_country_outside_every_zone_cannot_be_shipped_to() -> None:
    rules = replace(
        RULES, shipping=replace(DEFAULT_SHIPPING, zones={"domestic": frozenset({"DE"})})
    )
    with pytest.raises(InvalidArgument) as error:
        with_shipping_address(cart(), replace(BERLIN, country="FR", postal_code="75001"), rules)
    assert fields(error) == ["shippingAddress.country"]


def test_a_method_needs_an_address_and_must_be_offered() -> None:
    with pytest.raises(FailedPrecondition):
        with_shipping_method(cart(line()), "de-standard", RULES)
    addressed = with_shipping_address(cart(line()), BERLIN, RULES)
    with pytest.raises(InvalidArgument) as error:
        with_shipping_method(addressed, "world-express", RULES)
    assert fields(error) == ["shippingMethod"]


def test_a_new_destination_drops_a_method_it_does_not_offer() -> None:
    shipped = with_shipping_method(
        with_shipping_address(cart(line()), BERLIN, RULES), "de-standard", RULES
    )
    moved = with_shipping_address(
        shipped, replace(BERLIN, country="FR", postal_code="75001"), RULES
    )
    assert moved.shipping_method == ""


# --- cart totals -------------------------------------------------------------------------------


def test_a_german_cart_with_inclusive_prices() -> None:
    ready = with_shipping_method(
        with_shipping_address(cart(line("a", 2, 1_190)), BERLIN, RULES), "de-standard", RULES
    )
    result = cart_totals(ready, RULES)
    # 2 x 11.90 + 4.90 shipping, 19 % included: 23.80 -> 3.80 tax, 4.90 -> 0.78 tax
    assert (result.subtotal, result.shipping, result.tax, result.total) == (2_380, 490, 458, 2_870)


def test_a_german_cart_with_exclusive_prices() -> None:
    rules = replace(RULES, prices_include_tax=False)
    ready = with_shipping_method(
        with_shipping_address(cart(line("a", 2, 1_000)), BERLIN, rules), "de-standard", rules
    )
    result = cart_totals(ready, rules)
    # 20.00 + 19 % = 3.80; 4.90 + 19 % = 0.931 -> 0.93
    assert (result.subtotal, result.shipping, result.tax, result.total) == (2_000, 490, 473, 2_963)


def test_before_an_address_the_shops_own_country_rate_applies() -> None:
    result = cart_totals(cart(line("a", 1, 1_190)), RULES)
    assert (result.tax_rate_bp, result.tax, result.shipping) == (1900, 190, 0)


def test_checkout_needs_lines_an_address_and_an_offered_method() -> None:
    with pytest.raises(FailedPrecondition, match="empty"):
        ready_for_checkout(cart(), RULES)
    with pytest.raises(FailedPrecondition, match="address"):
        ready_for_checkout(cart(line()), RULES)
    addressed = with_shipping_address(cart(line()), BERLIN, RULES)
    with pytest.raises(FailedPrecondition, match="shipping method"):
        ready_for_checkout(addressed, RULES)
    chosen = ready_for_checkout(with_shipping_method(addressed, "de-standard", RULES), RULES)
    assert chosen.price_minor == 490


# --- re-checking a cart against the catalog ------------------------------------------------


def offered(variant: str, *, for_sale: bool = True, **prices: int) -> CatalogVariant:
    return CatalogVariant(variant, for_sale, prices)


def test_a_cart_the_catalog_still_agrees_with_has_no_changes() -> None:
    checked = cart(line("v-1", price=1_000))

    assert catalog_changes(checked, {"v-1": offered("v-1", EUR=1_000, USD=1_100)}) == []


def test_each_line_the_catalog_no_longer_agrees_with_is_named_with_what_changed() -> None:
    checked = cart(line("gone"), line("archived"), line("unpriced"), line("dearer"), line("same"))
    catalog = {
        "archived": offered("archived", for_sale=False, EUR=1_000),
        "unpriced": offered("unpriced", USD=1_000),
        "dearer": offered("dearer", EUR=1_250),
        "same": offered("same", EUR=1_000),
    }

    changes = catalog_changes(checked, catalog)

    assert {c.variant_id: c.describe("EUR") for c in changes} == {
        "gone": "no longer for sale",
        "archived": "no longer for sale",
        "unpriced": "no longer priced in EUR",
        "dearer": "price changed from 1000 to 1250 EUR",
    }


def test_the_cart_brought_up_to_date_keeps_repriced_lines_and_drops_unsellable_ones() -> None:
    checked = cart(line("archived", quantity=2), line("dearer", quantity=3), line("same"))
    changes = catalog_changes(
        checked,
        {"dearer": offered("dearer", EUR=1_250), "same": offered("same", EUR=1_000)},
    )

    updated = with_catalog_changes(checked, changes)

    assert [(x.variant_id, x.quantity, x.unit_price_minor) for x in updated.lines] == [
        ("dearer", 3, 1_250),
        ("same", 1, 1_000),
    ]
    assert cart_totals(updated, RULES).subtotal == 3 * 1_250 + 1_000


def test_a_changed_cart_is_a_409_cart_changed_naming_each_line() -> None:
    error = CartChanged([LineChange("v-9", LineProblem.UNPRICED, 1_000)], "JPY")

    assert error.reason == "CART_CHANGED"
    assert error.preconditions == [
        PreconditionViolation("UNPRICED", "v-9", "no longer priced in JPY")
    ]
    assert problem_from_domain_error(error).status == 409
