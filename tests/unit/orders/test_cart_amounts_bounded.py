"""Cart amounts stay within the shop's largest amount (issue 8, finding 10): a cart of two
items at the largest price is refused naming the quantity, never an int64 overflow later."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agora.orders.domain import CartLine, ShopRules, new_cart, totals, with_line, with_quantity
from agora.platform.errors import InvalidArgument
from agora.platform.kernel.money import MAX_AMOUNT_MINOR

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def line(variant: str, quantity: int, price: int) -> CartLine:
    return CartLine(variant, "p-1", f"SKU-{variant}", "Gold Lamp", quantity, price)


def test_two_of_the_largest_price_are_refused_naming_the_quantity() -> None:
    cart = new_cart(token="t", currency="EUR", customer_id="", now=NOW, rules=ShopRules())
    one = with_line(cart, line("a", 1, MAX_AMOUNT_MINOR))
    with pytest.raises(InvalidArgument) as raised:
        with_line(one, line("a", 1, MAX_AMOUNT_MINOR))
    assert [v.field for v in raised.value.violations] == ["quantity"]
    with pytest.raises(InvalidArgument):
        with_quantity(one, "a", 2, MAX_AMOUNT_MINOR)
    with pytest.raises(InvalidArgument):
        with_line(one, line("b", 1, 1))


def test_a_price_of_int64_max_never_reaches_a_total() -> None:
    cart = new_cart(token="t", currency="EUR", customer_id="", now=NOW, rules=ShopRules())
    with pytest.raises(InvalidArgument):
        with_line(cart, line("a", 2, 2**63 - 1))


def test_tax_added_to_a_cart_at_the_limit_is_refused_naming_the_total() -> None:
    at_limit = (line("a", 1, MAX_AMOUNT_MINOR),)
    with pytest.raises(InvalidArgument) as raised:
        totals(
            at_limit, currency="EUR", shipping_minor=0, tax_rate_bp=1900, prices_include_tax=False
        )
    assert [v.field for v in raised.value.violations] == ["totals.total"]
    included = totals(
        at_limit, currency="EUR", shipping_minor=0, tax_rate_bp=1900, prices_include_tax=True
    )
    assert included.total == MAX_AMOUNT_MINOR
