"""On-chain rules: withdrawing a reorged payment from every status, crediting it again once,
flagged payments that never count, verification of a transfer, and what is due for refund."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from agora.payments.conversion import Rate
from agora.payments.domain import (
    INVOICE_TRANSITIONS,
    Invoice,
    InvoicePolicy,
    InvoiceRecord,
    InvoiceStatus,
    InvoiceTrigger,
    NewInvoice,
    ObservedTransfer,
    PaymentReport,
    PaymentStatus,
    cancel,
    expire,
    open_invoice,
    receive_payment,
    receive_transfer,
    record_flagged,
    refund,
    verification_flags,
    with_refund,
    withdraw_payment,
)
from agora.platform.errors import FailedPrecondition, InvalidArgument
from agora.platform.kernel.money import Money

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
S, T = InvoiceStatus, InvoiceTrigger
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ROUTER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
DEPOSIT = "0x1111111111111111111111111111111111111111"
INVOICE_ID = "7b0e1a5c-8a53-4a8e-9a3c-2f0f5c2e6a11"


def invoice(confirmations: int = 3) -> Invoice:
    opened = open_invoice(
        NewInvoice("order-1", Money(1000, "EUR"), "USDT", "chain"),
        invoice_id=INVOICE_ID,
        rate=Rate("EUR", "USDT", Fraction(1), "staff", NOW),
        confirmations_required=confirmations,
        policy=InvoicePolicy(),
        now=NOW,
    )
    return replace(opened, chain_id=31337, token_address=TOKEN, router_address=ROUTER)


def report(ref: str, amount: int, confirmations: int = 3, after: int = 60) -> PaymentReport:
    return PaymentReport(ref, amount, confirmations, NOW + timedelta(seconds=after))


def pay(current: Invoice, ref: str, amount: int, confirmations: int = 3) -> Invoice:
    return receive_transfer(current, report(ref, amount, confirmations)).invoice


def withdrawn(current: Invoice, ref: str) -> tuple[Invoice, tuple[InvoiceStatus, ...]]:
    change = withdraw_payment(current, ref)
    assert change is not None
    return change.invoice, change.entered


# --- withdrawing, from every status --------------------------------------------------------


def test_the_table_withdraws_from_every_status_that_can_hold_a_credited_payment() -> None:
    withdraws = {k: v for k, v in INVOICE_TRANSITIONS.items() if k[1].value.startswith("withdraw")}
    assert withdraws == {
        (S.PROCESSING, T.WITHDRAW_LEAVING_NONE): S.NEW,
        (S.PROCESSING, T.WITHDRAW_LEAVING_SOME): S.PROCESSING,
        (S.SETTLED, T.WITHDRAW_LEAVING_NONE): S.NEW,
        (S.SETTLED, T.WITHDRAW_LEAVING_SOME): S.PROCESSING,
        (S.SETTLED, T.WITHDRAW_STILL_SETTLED): S.SETTLED,
        (S.EXPIRED, T.WITHDRAW_LEAVING_NONE): S.EXPIRED,
        (S.EXPIRED, T.WITHDRAW_LEAVING_SOME): S.EXPIRED,
        (S.INVALID, T.WITHDRAW_LEAVING_NONE): S.INVALID,
        (S.INVALID, T.WITHDRAW_LEAVING_SOME): S.INVALID,
    }


def test_a_new_invoice_has_nothing_to_withdraw() -> None:
    assert withdraw_payment(invoice(), "nope") is None


def test_withdrawing_from_processing_leaving_some_stays_processing() -> None:
    current = pay(pay(invoice(), "a", 100, 1), "b", 200, 1)
    assert current.status is S.PROCESSING
    after, entered = withdrawn(current, "b")
    assert (after.status, entered, after.paid) == (S.PROCESSING, (), 100)


def test_withdrawing_from_processing_leaving_none_is_new_again() -> None:
    current = pay(invoice(), "a", 100, 1)
    after, entered = withdrawn(current, "a")
    assert (after.status, entered, after.paid) == (S.NEW, (S.NEW,), 0)
    assert after.payments[0].status is PaymentStatus.WITHDRAWN


def test_withdrawing_from_settled_goes_back_to_processing_or_new() -> None:
    settled = pay(pay(invoice(), "a", 500), "b", invoice().due - 500)
    assert settled.status is S.SETTLED
    after, entered = withdrawn(settled, "b")
    assert (after.status, entered, after.paid) == (S.PROCESSING, (S.PROCESSING,), 500)
    alone = pay(invoice(), "a", invoice().due)
    after, entered = withdrawn(alone, "a")
    assert (after.status, entered) == (S.NEW, (S.NEW,))
    assert not after.paid_over


def test_a_settled_invoice_overpaid_enough_stays_settled_when_one_payment_goes() -> None:
    due = invoice().due
    settled = pay(pay(invoice(), "a", due), "b", due)  # the second one is an overpayment
    assert settled.paid_over
    assert settled.refund_due == due
    after, entered = withdrawn(settled, "b")
    assert (after.status, entered, after.refund_due, after.paid_over) == (S.SETTLED, (), 0, False)


def test_withdrawing_from_expired_or_cancelled_stays_there_with_less_to_refund() -> None:
    partly = pay(invoice(), "a", 100, 1)
    expired = expire(partly, NOW + timedelta(hours=1)).invoice
    after, entered = withdrawn(expired, "a")
    assert (after.status, entered, after.refund_due, after.paid_partial) == (
        S.EXPIRED,
        (),
        0,
        False,
    )
    cancelled = cancel(partly).invoice
    assert cancelled.refund_due == 100
    after, entered = withdrawn(cancelled, "a")
    assert (after.status, entered, after.refund_due) == (S.INVALID, (), 0)


def test_a_withdrawn_or_flagged_payment_cannot_be_withdrawn_again() -> None:
    after, _ = withdrawn(pay(invoice(), "a", 100, 1), "a")
    assert withdraw_payment(after, "a") is None
    flagged = record_flagged(invoice(), report("f", 100), ("WRONG_TOKEN",)).invoice
    assert withdraw_payment(flagged, "f") is None


# --- crediting again -----------------------------------------------------------------------


def test_a_withdrawn_payment_reported_again_is_credited_once() -> None:
    due = invoice().due
    settled = pay(invoice(), "a", due)
    gone, _ = withdrawn(settled, "a")
    back = receive_transfer(gone, report("a", due, 1)).invoice
    assert (back.status, back.paid, len(back.payments)) == (S.PROCESSING, due, 1)
    assert back.payments[0].confirmations == 1  # the new block's count
    again = receive_transfer(back, report("a", due, 3))
    assert (again.invoice.status, again.invoice.paid, again.entered) == (
        S.SETTLED,
        due,
        (S.SETTLED,),
    )
    # A repeated report of a settled invoice's payment only adds confirmations.
    repeated = receive_transfer(again.invoice, report("a", due, 9))
    assert (repeated.invoice.status, repeated.invoice.paid, repeated.entered) == (
        S.SETTLED,
        due,
        (),
    )
    assert repeated.invoice.payments[0].confirmations == 9


def test_a_withdrawn_payment_reported_again_on_a_still_settled_invoice_is_owed_back() -> None:
    due = invoice().due
    settled = pay(pay(invoice(), "a", due), "b", 10)
    gone, _ = withdrawn(settled, "b")
    back = receive_transfer(gone, report("b", 10))
    assert (back.invoice.status, back.invoice.paid, back.invoice.refund_due) == (
        S.SETTLED,
        due + 10,
        10,
    )


def test_a_reported_payment_with_another_amount_is_refused() -> None:
    current = pay(invoice(), "a", 100, 1)
    with pytest.raises(FailedPrecondition):
        receive_transfer(current, report("a", 101, 2))


# --- money after the end ------------------------------------------------------------------


def test_money_sent_to_a_settled_or_cancelled_invoice_is_credited_for_refund() -> None:
    due = invoice().due
    settled = pay(invoice(), "a", due)
    extra = receive_transfer(settled, report("b", 70))
    assert (extra.invoice.status, extra.entered, extra.invoice.refund_due) == (S.SETTLED, (), 70)
    assert extra.invoice.paid_over
    cancelled = cancel(invoice()).invoice
    late = receive_transfer(cancelled, report("c", 30)).invoice
    assert (late.status, late.refund_due) == (S.INVALID, 30)


def test_a_late_payment_is_due_for_refund_and_refunds_lower_it() -> None:
    late = receive_payment(invoice(), report("a", 40, after=3600)).invoice
    assert (late.status, late.paid_late, late.refund_due) == (S.EXPIRED, True, 40)
    made = refund(late, refund_id="r", amount=15, reason="late", now=NOW + timedelta(hours=2))
    assert with_refund(late, made).refund_due == 25


def test_nothing_is_due_for_refund_while_an_invoice_is_open() -> None:
    assert pay(invoice(), "a", 10, 1).refund_due == 0


# --- flagged payments ---------------------------------------------------------------------


def test_a_flagged_payment_is_kept_but_never_counts() -> None:
    change = record_flagged(invoice(), report("f", invoice().due), ("WRONG_TOKEN", "BELOW_DUST"))
    flagged = change.invoice
    assert (flagged.status, flagged.paid, change.entered) == (S.NEW, 0, ())
    assert flagged.has_flagged_payments
    [payment] = flagged.payments
    assert (payment.status, payment.flags) == (PaymentStatus.FLAGGED, ("BELOW_DUST", "WRONG_TOKEN"))
    more = record_flagged(flagged, report("f", invoice().due, 7), ("WRONG_TOKEN",)).invoice
    assert (more.payments[0].confirmations, more.paid, len(more.payments)) == (7, 0, 1)
    # A clean report of the same reference later does not credit it either.
    clean = receive_transfer(more, report("f", invoice().due, 9)).invoice
    assert (clean.paid, clean.payments[0].status) == (0, PaymentStatus.FLAGGED)


def test_a_flagged_payment_needs_a_reason_and_an_amount() -> None:
    with pytest.raises(InvalidArgument):
        record_flagged(invoice(), report("f", 10), ())
    with pytest.raises(InvalidArgument):
        record_flagged(invoice(), report("f", 0), ("WRONG_TOKEN",))


# --- verification -------------------------------------------------------------------------


def transfer(**changes: object) -> ObservedTransfer:
    clean = ObservedTransfer(
        reference="31337:0xabc:0",
        chain_id=31337,
        token_address=TOKEN.lower(),
        symbol="USDT",
        to_address=DEPOSIT.upper().replace("0X", "0x"),
        amount=1000,
        confirmations=3,
        at=NOW,
        via_router=False,
        invoice_id=INVOICE_ID,
    )
    return replace(clean, **changes)  # type: ignore[arg-type]


RECORD = InvoiceRecord(invoice(), DEPOSIT, "ethereum:…")


def test_a_matching_transfer_has_no_flags_whatever_the_address_case() -> None:
    assert verification_flags(RECORD, transfer()) == ()


@pytest.mark.parametrize(
    ("changes", "flags"),
    [
        ({"chain_id": 1}, ("WRONG_CHAIN",)),
        ({"token_address": ROUTER}, ("WRONG_TOKEN",)),
        ({"symbol": "AGT"}, ("WRONG_TOKEN",)),
        ({"to_address": ROUTER}, ("WRONG_RECIPIENT",)),
        ({"amount": 0}, ("NOT_POSITIVE",)),
        ({"flags": ("BELOW_DUST",)}, ("BELOW_DUST",)),
        ({"flags": ("UNKNOWN_CONTRACT",), "chain_id": 5}, ("UNKNOWN_CONTRACT", "WRONG_CHAIN")),
        ({"via_router": True, "to_address": ROUTER}, ()),
        ({"via_router": True, "invoice_id": "someone-else"}, ("WRONG_RECIPIENT",)),
        # Lateness is payments' to decide (credited late, due for refund), not a flag.
        ({"flags": ("INVOICE_EXPIRED",)}, ()),
    ],
)
def test_a_transfer_must_match_chain_token_recipient_and_amount(
    changes: dict[str, object], flags: tuple[str, ...]
) -> None:
    assert verification_flags(RECORD, transfer(**changes)) == flags
