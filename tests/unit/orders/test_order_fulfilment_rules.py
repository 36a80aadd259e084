"""Staff's commands on the order aggregate: partial fulfilment, shipping with a tracking link,
cancelling a paid order with its refund, deciding returns, and what a refund gives back in the
invoice's pay currency."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_order_state_machine import PLACED, TOTAL, order_in

from agora.orders.aggregate import (
    AwaitingPayment,
    FulfilmentLine,
    Order,
    OrderCancelled,
    OrderEvent,
    OrderFulfilled,
    OrderLine,
    OrderLinesFulfilled,
    OrderPaid,
    OrderRefunded,
    OrderStatus,
    PaymentAtRisk,
    ReturnApproved,
    ReturnLine,
    ReturnRejected,
    ReturnStatus,
    refund_in_pay_currency,
)
from agora.platform.errors import FailedPrecondition, InvalidArgument, NotFound

S = OrderStatus
LAMP, SHADE = "v-1", "v-2"


def two_line_order() -> Order:
    """A paid order of 2 lamps and 3 shades."""
    shade = OrderLine(SHADE, "p-2", "SKU-2", "Shade", 3, 0)
    placed = replace(PLACED, lines=(*PLACED.lines, shade))
    return Order.replay([placed, AwaitingPayment("inv-1"), OrderPaid("inv-1")])


def apply_all(order: Order, events: list[OrderEvent]) -> Order:
    for event in events:
        order = order.apply(event)
    return order


# --- fulfilment ----------------------------------------------------------------------------


def test_an_order_fulfilled_in_parts_stays_paid_until_the_last_line_is_fulfilled() -> None:
    order = two_line_order()

    first = order.fulfil_lines([FulfilmentLine(LAMP, 2), FulfilmentLine(SHADE, 1)])
    order = apply_all(order, first)
    second = order.fulfil_lines([FulfilmentLine(SHADE, 2)])
    order = apply_all(order, second)

    assert [type(e) for e in first] == [OrderLinesFulfilled]
    assert [type(e) for e in second] == [OrderLinesFulfilled, OrderFulfilled]
    assert order.status is S.FULFILLED
    assert order.fulfilled_quantities() == {LAMP: 2, SHADE: 3}
    assert order.unfulfilled() == {LAMP: 0, SHADE: 0}


def test_fulfilling_without_lines_fulfils_whatever_is_left() -> None:
    order = apply_all(two_line_order(), two_line_order().fulfil_lines([FulfilmentLine(LAMP, 1)]))

    events = order.fulfil_lines([])

    assert events[0] == OrderLinesFulfilled((FulfilmentLine(LAMP, 1), FulfilmentLine(SHADE, 3)))
    assert apply_all(order, events).status is S.FULFILLED


def test_an_old_history_fulfilled_at_once_reads_as_every_line_fulfilled() -> None:
    order = order_in(S.FULFILLED)

    assert order.fulfilled_quantities() == {LAMP: 2}


def test_more_than_is_left_to_fulfil_is_refused_naming_what_is_left() -> None:
    order = apply_all(two_line_order(), two_line_order().fulfil_lines([FulfilmentLine(LAMP, 1)]))

    with pytest.raises(FailedPrecondition) as error:
        order.fulfil_lines([FulfilmentLine(LAMP, 2)])

    assert error.value.metadata == {"field": "lines[0].quantity", "unfulfilled": "1"}
    assert "at most 1 more of variant v-1 can be fulfilled" in str(error.value)


def test_a_variant_not_ordered_or_named_twice_is_refused() -> None:
    order = two_line_order()

    with pytest.raises(FailedPrecondition, match="not a line of the order"):
        order.fulfil_lines([FulfilmentLine("v-9", 1)])
    with pytest.raises(InvalidArgument) as twice:
        order.fulfil_lines([FulfilmentLine(LAMP, 1), FulfilmentLine(LAMP, 1)])
    with pytest.raises(InvalidArgument) as none:
        order.fulfil_lines([FulfilmentLine(LAMP, 0)])

    assert [v.field for v in twice.value.violations] == ["lines[1].variantId"]
    assert [v.field for v in none.value.violations] == ["lines[0].quantity"]


def test_an_order_whose_payment_is_at_risk_is_neither_fulfilled_nor_shipped() -> None:
    at_risk = order_in(S.PAID).apply(PaymentAtRisk("inv-1", "reorg"))
    fulfilled_at_risk = order_in(S.FULFILLED).apply(PaymentAtRisk("inv-1", "reorg"))

    with pytest.raises(FailedPrecondition) as fulfil:
        at_risk.fulfil_lines([])
    with pytest.raises(FailedPrecondition) as ship:
        fulfilled_at_risk.ship("DHL", "123")

    assert fulfil.value.metadata == {"status": "ORDER_STATUS_PAID", "paymentAtRisk": "true"}
    assert ship.value.metadata["status"] == "ORDER_STATUS_FULFILLED"


# --- shipping ------------------------------------------------------------------------------


def test_shipping_keeps_the_carrier_the_tracking_number_and_link() -> None:
    order = order_in(S.FULFILLED)

    shipped = order.apply(order.ship(" DHL ", " 0034 ", "https://www.dhl.de/track?id=0034"))

    assert (shipped.carrier, shipped.tracking_number) == ("DHL", "0034")
    assert shipped.tracking_url == "https://www.dhl.de/track?id=0034"


@pytest.mark.parametrize(
    "url",
    [
        "http://www.dhl.de/track",
        "javascript:alert(1)",
        "https://",
        "https://user:pw@evil.example/",
        "https://dhl.de/track id",
        "ftp://dhl.de/",
        "https://dhl.de/\x00",
        "https://dhl.de/" + "a" * 2000,
    ],
)
def test_a_tracking_link_must_be_a_plain_https_url(url: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        order_in(S.FULFILLED).ship("DHL", "123", url)

    assert [v.field for v in error.value.violations] == ["trackingUrl"]


@pytest.mark.parametrize(
    ("carrier", "number", "field"),
    [("", "123", "carrier"), ("DHL", " ", "trackingNumber"), ("D" * 101, "1", "carrier")],
)
def test_a_shipment_needs_a_carrier_and_a_tracking_number(
    carrier: str, number: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        order_in(S.FULFILLED).ship(carrier, number)

    assert [v.field for v in error.value.violations] == [field]


# --- cancelling a paid order ---------------------------------------------------------------


def test_a_paid_order_cancelled_by_staff_is_refunded_in_full_and_stays_cancelled() -> None:
    order = order_in(S.PAID)

    events = order.cancel_paid("damaged in the warehouse", "ref-1")
    after = apply_all(order, events)

    assert events == [
        OrderCancelled("damaged in the warehouse"),
        OrderRefunded(TOTAL, full=True, refund_id="ref-1"),
    ]
    assert (after.status, after.refunded_minor) == (S.CANCELLED, TOTAL)


def test_cancelling_after_a_partial_refund_refunds_the_rest() -> None:
    order = order_in(S.FULFILLED)
    order = order.apply(order.refund(2_500))

    events = order.cancel_paid("customer changed their mind")

    assert events[1] == OrderRefunded(TOTAL - 2_500, full=True)
    assert apply_all(order, events).refunded_minor == TOTAL


def test_staff_say_why_they_cancel_a_paid_order() -> None:
    with pytest.raises(InvalidArgument) as error:
        order_in(S.PAID).cancel_paid("  ")

    assert [v.field for v in error.value.violations] == ["reason"]


# --- returns -------------------------------------------------------------------------------


def test_an_approved_return_is_decided_once() -> None:
    order = order_in(S.DELIVERED)

    approved = order.decide_return("ret-1", approve=True, reason="")
    after = order.apply(approved)

    assert approved == ReturnApproved("ret-1", "")
    assert after.return_status("ret-1") is ReturnStatus.APPROVED
    with pytest.raises(FailedPrecondition) as again:
        after.decide_return("ret-1", approve=False, reason="late")
    assert again.value.metadata == {
        "status": "ORDER_STATUS_DELIVERED",
        "returnStatus": "RETURN_STATUS_APPROVED",
    }


def test_a_rejected_return_gives_its_lines_back_to_what_may_be_returned() -> None:
    order = order_in(S.SHIPPED)
    assert order.returnable() == {LAMP: 1}

    rejected = order.apply(order.decide_return("ret-1", approve=False, reason="used"))

    assert rejected.returnable() == {LAMP: 2}
    assert rejected.request_return("ret-2", [ReturnLine(LAMP, 2)], "").lines == (
        ReturnLine(LAMP, 2),
    )


def test_a_rejection_says_why_and_an_unknown_return_is_not_found() -> None:
    order = order_in(S.SHIPPED)

    with pytest.raises(InvalidArgument) as no_reason:
        order.decide_return("ret-1", approve=False, reason="")
    with pytest.raises(NotFound):
        order.decide_return("ret-9", approve=True, reason="")

    assert [v.field for v in no_reason.value.violations] == ["reason"]
    assert isinstance(order.decide_return("ret-1", approve=False, reason="x"), ReturnRejected)


# --- refunds in the pay currency -----------------------------------------------------------


def test_a_refund_in_the_invoice_currency_is_the_same_amount() -> None:
    assert (
        refund_in_pay_currency(price_minor=TOTAL, due=TOTAL, refunded_minor=1_000, amount_minor=7)
        == 7
    )


@pytest.mark.parametrize("parts", [[1, 1, 9_998], [3_333, 3_333, 3_334], [10_000], [7, 9_993]])
def test_partial_refunds_in_a_token_sum_to_exactly_what_was_due(parts: list[int]) -> None:
    due = 107_237_813  # USDT base units (6 decimals) that bought 100.00 EUR
    refunded, given = 0, []
    for amount in parts:
        given.append(
            refund_in_pay_currency(
                price_minor=TOTAL, due=due, refunded_minor=refunded, amount_minor=amount
            )
        )
        refunded += amount

    assert sum(given) == due
    assert all(g >= 0 for g in given)
