"""Return requests on the order aggregate: what may be asked back, and how a request that asks
too much, or for something never ordered, is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agora.orders.aggregate import (
    AwaitingPayment,
    Order,
    OrderDelivered,
    OrderFulfilled,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    ReturnLine,
    ReturnRequested,
)
from agora.orders.domain import Address, totals
from agora.platform.errors import FailedPrecondition, InvalidArgument

LAMP = OrderLine("v-lamp", "p-1", "SKU-1", "Lamp", 2, 5_000)
SHADE = OrderLine("v-shade", "p-2", "SKU-2", "Shade", 1, 2_000)
PLACED = OrderPlaced(
    order_id="o-1",
    cart_id="c-1",
    customer_id="cust-1",
    currency="EUR",
    lines=(LAMP, SHADE),
    totals=replace(
        totals([], currency="EUR", shipping_minor=0, tax_rate_bp=1900, prices_include_tax=True),
        subtotal=12_000,
        total=12_000,
    ),
    shipping_address=Address(name="A", line1="B", city="Berlin", postal_code="10115", country="DE"),
    shipping_method="de-standard",
    shipping_method_name="DHL Paket",
    reservation_id="r-1",
)
SHIPPED = [AwaitingPayment("i"), OrderPaid("i"), OrderFulfilled(), OrderShipped("DHL", "1")]


def shipped(*more: ReturnRequested) -> Order:
    return Order.replay([PLACED, *SHIPPED, *more])


def test_no_lines_asks_back_every_line_in_full() -> None:
    requested = shipped().request_return("r-1", [], "  wrong colour ")

    assert requested.lines == (ReturnLine("v-lamp", 2), ReturnLine("v-shade", 1))
    assert requested.reason == "wrong colour"


def test_a_delivered_order_may_be_returned_and_the_request_keeps_its_state() -> None:
    order = Order.replay([PLACED, *SHIPPED, OrderDelivered()])
    after = order.apply(order.request_return("r-1", [ReturnLine("v-lamp", 1)], ""))

    assert (after.status, after.version) == (order.status, order.version + 1)
    assert after.returnable() == {"v-lamp": 1, "v-shade": 1}


def test_no_lines_after_a_partial_return_asks_back_what_is_left() -> None:
    order = shipped(ReturnRequested("r-1", (ReturnLine("v-lamp", 1),), ""))

    assert order.request_return("r-2", [], "").lines == (
        ReturnLine("v-lamp", 1),
        ReturnLine("v-shade", 1),
    )


def test_two_requests_together_cannot_ask_more_than_was_ordered() -> None:
    order = shipped(ReturnRequested("r-1", (ReturnLine("v-lamp", 2),), ""))

    with pytest.raises(FailedPrecondition) as refused:
        order.request_return("r-2", [ReturnLine("v-lamp", 1)], "")

    assert refused.value.metadata == {"field": "lines[0].quantity", "returnable": "0"}
    assert refused.value.preconditions[0].type == "RETURN_QUANTITY"


def test_when_everything_was_asked_back_a_request_for_the_rest_is_refused() -> None:
    order = shipped(ReturnRequested("r-1", (ReturnLine("v-lamp", 2), ReturnLine("v-shade", 1)), ""))

    with pytest.raises(FailedPrecondition):
        order.request_return("r-2", [], "")


def test_a_variant_not_in_the_order_is_refused_naming_its_line() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        shipped().request_return("r-1", [ReturnLine("v-lamp", 1), ReturnLine("v-x", 1)], "")

    assert refused.value.metadata == {"field": "lines[1].variantId"}


@pytest.mark.parametrize(
    ("lines", "reason", "field"),
    [
        ([ReturnLine("v-lamp", 1), ReturnLine("v-lamp", 1)], "", "lines[1].variantId"),
        ([ReturnLine("v-lamp", 0)], "", "lines[0].quantity"),
        ([], "x" * 2001, "reason"),
        ([], "nul\x00", "reason"),
    ],
)
def test_malformed_requests_are_invalid_naming_the_field(
    lines: list[ReturnLine], reason: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        shipped().request_return("r-1", lines, reason)

    assert [v.field for v in refused.value.violations] == [field]


def test_an_order_not_yet_shipped_cannot_be_returned() -> None:
    order = Order.replay([PLACED, AwaitingPayment("i"), OrderPaid("i")])

    with pytest.raises(FailedPrecondition) as refused:
        order.request_return("r-1", [], "")

    assert refused.value.metadata == {"status": "ORDER_STATUS_PAID"}
