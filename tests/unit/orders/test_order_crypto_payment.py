"""Paying an order in a chain token (the pay currency a checkout chooses, the provider orders
names) and a paid order whose payment was withdrawn by a chain reorg (flagged, never unpaid)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_order_state_machine import HISTORY, LINE
from test_order_state_machine import PLACED as PLACED_WITHOUT_LINE_TOTALS

from agora.orders.aggregate import (
    Order,
    OrderStatus,
    PaymentAtRisk,
    PaymentRestored,
)
from agora.orders.domain import invoice_provider, pay_currency, totals
from agora.orders.translation import event_from_pb, event_pb, order_pb, placed_from_pb
from agora.platform.errors import FailedPrecondition, InvalidArgument
from agora.platform.kernel.clock import utcnow

S = OrderStatus
PLACED = replace(
    PLACED_WITHOUT_LINE_TOTALS,
    totals=totals(
        [LINE], currency="EUR", shipping_minor=0, tax_rate_bp=1900, prices_include_tax=True
    ),
)


@pytest.mark.parametrize(
    ("requested", "chosen"),
    [("", "EUR"), ("EUR", "EUR"), ("eur", "EUR"), ("usdt", "USDT"), (" AGT ", "AGT")],
)
def test_a_checkout_pays_in_its_own_currency_or_a_chain_token(requested: str, chosen: str) -> None:
    assert pay_currency(requested, "EUR") == chosen


@pytest.mark.parametrize("requested", ["USD", "BTC", "ETH", "X" * 10])
def test_any_other_pay_currency_is_refused_naming_the_field(requested: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        pay_currency(requested, "EUR")
    assert "payCurrency" in str(refused.value.violations)


def test_token_invoices_go_to_the_chain_provider_others_to_the_default() -> None:
    assert invoice_provider("USDT") == invoice_provider("AGT") == "chain"
    assert invoice_provider("EUR") == ""


def test_the_pay_currency_is_kept_with_the_order_and_old_orders_read_their_currency() -> None:
    placed = replace(PLACED, pay_currency="USDT")
    message = event_pb(placed, None)
    assert message.pay_currency == "USDT"  # type: ignore[attr-defined]
    assert placed_from_pb(message).invoice_pay_currency == "USDT"  # type: ignore[arg-type]
    old = event_pb(PLACED, None)
    old.ClearField("pay_currency")  # type: ignore[attr-defined]
    assert placed_from_pb(old).pay_currency == "EUR"  # type: ignore[arg-type]


def order_in(status: OrderStatus) -> Order:
    return Order.replay([PLACED, *HISTORY[status]])


@pytest.mark.parametrize("status", [S.PAID, S.FULFILLED, S.SHIPPED, S.DELIVERED])
def test_a_withdrawn_payment_flags_a_paid_order_once_and_leaves_it_paid(
    status: OrderStatus,
) -> None:
    order = order_in(status)
    (flag,) = order.payment_withdrawn("inv-1", "reorg")
    flagged = order.apply(flag)
    assert flagged.status is status
    assert flagged.payment_at_risk
    assert flagged.payment_withdrawn("inv-1", "reorg") == []
    view = order_pb(flagged, placed_at=utcnow(), updated_at=utcnow())
    assert view.payment_at_risk


@pytest.mark.parametrize("status", [S.PLACED, S.AWAITING_PAYMENT, S.CANCELLED, S.EXPIRED])
def test_an_order_not_paid_is_not_flagged(status: OrderStatus) -> None:
    assert order_in(status).payment_withdrawn("inv-1", "reorg") == []


def test_another_invoices_withdrawal_flags_nothing() -> None:
    assert order_in(S.PAID).payment_withdrawn("inv-2", "reorg") == []


def test_a_flagged_order_is_not_fulfilled_until_its_invoice_settles_again() -> None:
    order = order_in(S.PAID)
    flagged = order.apply(order.payment_withdrawn("inv-1", "reorg")[0])
    with pytest.raises(FailedPrecondition):
        flagged.fulfil()

    (restored,) = flagged.payment_settled_again("inv-1")
    again = flagged.apply(restored)

    assert not again.payment_at_risk
    assert again.fulfil() is not None
    assert order.payment_settled_again("inv-1") == []  # nothing to restore when not flagged


@pytest.mark.parametrize("event", [PaymentAtRisk("inv-1", "reorg"), PaymentRestored("inv-1")])
def test_the_flag_events_round_trip(event: PaymentAtRisk | PaymentRestored) -> None:
    message = event_pb(event, order_in(S.PAID))
    assert message.order_id == "o-1"  # type: ignore[attr-defined]
    assert event_from_pb(message) == event
