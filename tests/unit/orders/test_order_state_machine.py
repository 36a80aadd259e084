"""The order aggregate: every (state, command) pair, the fold of its events, refunds."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

import pytest

from agora.orders.aggregate import (
    TRANSITIONS,
    AwaitingPayment,
    FulfilmentLine,
    Order,
    OrderCancelled,
    OrderCommand,
    OrderDelivered,
    OrderEvent,
    OrderExpired,
    OrderFulfilled,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    OrderShipped,
    OrderStatus,
    ReturnLine,
    ReturnRequested,
    next_status,
)
from agora.orders.domain import Address, totals
from agora.platform.errors import FailedPrecondition, InvalidArgument

S, C = OrderStatus, OrderCommand
TOTAL = 10_000

LINE = OrderLine("v-1", "p-1", "SKU-1", "Lamp", 2, 5_000)
PLACED = OrderPlaced(
    order_id="o-1",
    cart_id="c-1",
    customer_id="cust-1",
    currency="EUR",
    lines=(LINE,),
    totals=replace(
        totals([], currency="EUR", shipping_minor=0, tax_rate_bp=1900, prices_include_tax=True),
        subtotal=TOTAL,
        total=TOTAL,
    ),
    shipping_address=Address(name="A", line1="B", city="Berlin", postal_code="10115", country="DE"),
    shipping_method="de-standard",
    shipping_method_name="DHL Paket",
    reservation_id="r-1",
)

RETURN = ReturnRequested("ret-1", (ReturnLine("v-1", 1),), "too dim")
SHIPPED: list[OrderEvent] = [
    AwaitingPayment("inv-1"),
    OrderPaid("inv-1"),
    OrderFulfilled(),
    OrderShipped("DHL", "123"),
]

# The events that bring a new order into each state (shipped and later ones with a return
# requested, for staff to decide).
HISTORY: dict[OrderStatus, list[OrderEvent]] = {
    S.PLACED: [],
    S.AWAITING_PAYMENT: [AwaitingPayment("inv-1")],
    S.PAID: [AwaitingPayment("inv-1"), OrderPaid("inv-1")],
    S.FULFILLED: [AwaitingPayment("inv-1"), OrderPaid("inv-1"), OrderFulfilled()],
    S.SHIPPED: [*SHIPPED, RETURN],
    S.DELIVERED: [*SHIPPED, OrderDelivered(), RETURN],
    S.CANCELLED: [OrderCancelled("changed my mind")],
    S.EXPIRED: [AwaitingPayment("inv-1"), OrderExpired("invoice expired")],
    S.REFUNDED: [*SHIPPED, RETURN, OrderRefunded(TOTAL, full=True)],
}

# Each command as staff, the saga or the customer give it: the events it appends.
COMMANDS: dict[OrderCommand, Callable[[Order], list[OrderEvent]]] = {
    C.AWAIT_PAYMENT: lambda order: [order.await_payment("inv-1")],
    C.MARK_PAID: lambda order: [order.mark_paid("inv-1")],
    C.FULFIL: lambda order: order.fulfil_lines([]),
    C.FULFIL_PARTIALLY: lambda order: order.fulfil_lines([FulfilmentLine("v-1", 1)]),
    C.SHIP: lambda order: [order.ship("DHL", "123", "https://dhl.example/t/123")],
    C.DELIVER: lambda order: [order.deliver()],
    C.CANCEL: lambda order: [order.cancel("no longer needed")],
    C.CANCEL_PAID: lambda order: order.cancel_paid("out of stock after all", "ref-1"),
    C.EXPIRE: lambda order: [order.expire("invoice expired")],
    C.REFUND_PARTIALLY: lambda order: [order.refund(1_000)],
    C.REFUND_FULLY: lambda order: [order.refund(TOTAL - order.refunded_minor)],
    C.REQUEST_RETURN: lambda order: [order.request_return("r-1", [], "too small")],
    C.APPROVE_RETURN: lambda order: [order.decide_return("ret-1", approve=True, reason="")],
    C.REJECT_RETURN: lambda order: [order.decide_return("ret-1", approve=False, reason="worn")],
}


def order_in(status: OrderStatus) -> Order:
    return Order.replay([PLACED, *HISTORY[status]])


def test_every_state_is_reachable_by_its_history() -> None:
    for status in OrderStatus:
        assert order_in(status).status is status


@pytest.mark.parametrize(("status", "command"), list(itertools.product(OrderStatus, OrderCommand)))
def test_every_state_and_command_pair_follows_the_transition_table(
    status: OrderStatus, command: OrderCommand
) -> None:
    order = order_in(status)
    expected = TRANSITIONS.get((status, command))
    if expected is None:
        with pytest.raises(FailedPrecondition):
            COMMANDS[command](order)
        return
    events = COMMANDS[command](order)
    after = apply_all(order, events)
    assert after.status is expected
    assert after.version == order.version + len(events)


def apply_all(order: Order, events: list[OrderEvent]) -> Order:
    for event in events:
        order = order.apply(event)
    return order


def test_the_happy_path_runs_from_placed_to_delivered() -> None:
    order = Order.replay([PLACED])
    for step in (C.AWAIT_PAYMENT, C.MARK_PAID, C.FULFIL_PARTIALLY, C.FULFIL, C.SHIP, C.DELIVER):
        order = apply_all(order, COMMANDS[step](order))
    assert order.status is S.DELIVERED
    assert order.version == 8
    assert (order.invoice_id, order.carrier, order.tracking_number) == ("inv-1", "DHL", "123")
    assert order.tracking_url == "https://dhl.example/t/123"
    assert order.fulfilled_quantities() == {"v-1": 2}


def test_the_table_allows_exactly_the_documented_transitions() -> None:
    allowed = {(s.value, c.value, t.value) for (s, c), t in TRANSITIONS.items()}
    refundable = ("paid", "fulfilled", "shipped", "delivered")
    decidable = ("shipped", "delivered", "refunded")
    assert allowed == {
        ("placed", "await_payment", "awaiting_payment"),
        ("awaiting_payment", "mark_paid", "paid"),
        ("paid", "fulfil", "fulfilled"),
        ("paid", "fulfil_partially", "paid"),
        ("paid", "cancel_paid", "cancelled"),
        ("fulfilled", "cancel_paid", "cancelled"),
        ("fulfilled", "ship", "shipped"),
        ("shipped", "deliver", "delivered"),
        ("placed", "cancel", "cancelled"),
        ("awaiting_payment", "cancel", "cancelled"),
        ("placed", "expire", "expired"),
        ("awaiting_payment", "expire", "expired"),
        *((s, "refund_partially", s) for s in refundable),
        *((s, "refund_fully", "refunded") for s in refundable),
        ("shipped", "request_return", "shipped"),
        ("delivered", "request_return", "delivered"),
        *((s, "approve_return", s) for s in decidable),
        *((s, "reject_return", s) for s in decidable),
    }


def test_an_illegal_transition_says_why_in_the_api_words() -> None:
    with pytest.raises(FailedPrecondition) as error:
        next_status(S.AWAITING_PAYMENT, C.REFUND_PARTIALLY)
    assert str(error.value) == "the order is awaiting payment and cannot be refunded"
    assert error.value.metadata == {"status": "ORDER_STATUS_AWAITING_PAYMENT"}


@pytest.mark.parametrize(
    ("status", "command"),
    [pair for pair in itertools.product(OrderStatus, OrderCommand) if pair not in TRANSITIONS],
)
def test_no_refusal_names_an_internal_state_or_command(
    status: OrderStatus, command: OrderCommand
) -> None:
    with pytest.raises(FailedPrecondition) as error:
        next_status(status, command)
    assert "_" not in str(error.value)


@pytest.mark.parametrize(
    ("status", "command"),
    [pair for pair in itertools.product(OrderStatus, OrderCommand) if pair not in TRANSITIONS],
)
def test_every_refused_command_names_the_current_status(
    status: OrderStatus, command: OrderCommand
) -> None:
    with pytest.raises(FailedPrecondition) as error:
        COMMANDS[command](order_in(status))
    assert error.value.metadata["status"] == f"ORDER_STATUS_{status.name}"


def test_partial_refunds_keep_the_state_and_the_last_one_refunds_fully() -> None:
    order = order_in(S.SHIPPED)
    first = order.refund(3_000)
    order = order.apply(first)
    assert (first.full, order.status, order.refunded_minor) == (False, S.SHIPPED, 3_000)
    last = order.refund(7_000)
    order = order.apply(last)
    assert (last.full, order.status, order.refunded_minor) == (True, S.REFUNDED, TOTAL)


@pytest.mark.parametrize("amount", [0, -1, TOTAL + 1])
def test_a_refund_is_positive_and_at_most_what_is_left(amount: int) -> None:
    with pytest.raises(InvalidArgument) as error:
        order_in(S.PAID).refund(amount)
    assert [v.field for v in error.value.violations] == ["amount.amountMinor"]


def test_payment_of_another_invoice_is_refused() -> None:
    with pytest.raises(FailedPrecondition):
        order_in(S.AWAITING_PAYMENT).mark_paid("inv-other")


def test_awaiting_payment_needs_an_invoice() -> None:
    with pytest.raises(InvalidArgument):
        order_in(S.PLACED).await_payment(" ")


def test_a_history_must_start_with_the_placement() -> None:
    with pytest.raises(ValueError, match="starts with OrderPlaced"):
        Order.replay([AwaitingPayment("inv-1")])
    with pytest.raises(ValueError, match="placed once"):
        Order.replay([PLACED, PLACED])


def test_the_fold_keeps_what_the_events_say() -> None:
    order = order_in(S.CANCELLED)
    assert (order.id, order.closing_reason, order.version) == ("o-1", "changed my mind", 2)
    assert order.total_minor == TOTAL
