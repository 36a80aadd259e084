"""The invoice status machine, payments (partial, over, late, unconfirmed), tolerance, refunds."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from agora.payments.conversion import Rate
from agora.payments.domain import (
    DEFAULT_INVOICE_TTL,
    INVOICE_TRANSITIONS,
    Invoice,
    InvoicePolicy,
    InvoiceSettled,
    InvoiceStatus,
    InvoiceTrigger,
    NewInvoice,
    PaymentReport,
    cancel,
    ensure_payable,
    expire,
    next_invoice_status,
    open_invoice,
    receive_payment,
    refund,
    with_refund,
)
from agora.platform.errors import Conflict, FailedPrecondition, Gone, InvalidArgument
from agora.platform.kernel.money import Money

NOW = datetime(2025, 5, 2, 12, 0, tzinfo=UTC)
S, T = InvoiceStatus, InvoiceTrigger
EUR_USDT = Rate("EUR", "USDT", Fraction(10823, 10000), "db", NOW)


def new_invoice(
    *, amount: int = 1000, tolerance_bp: int | None = None, expires_in: int | None = None
) -> NewInvoice:
    return NewInvoice(
        reference="order-1",
        price=Money(amount, "EUR"),
        pay_currency="USDT",
        provider="dev",
        expires_in_seconds=expires_in,
        tolerance_bp=tolerance_bp,
    )


def invoice(*, confirmations: int = 1, **options: int) -> Invoice:
    return open_invoice(
        new_invoice(**options),
        invoice_id="inv-1",
        rate=EUR_USDT,
        confirmations_required=confirmations,
        policy=InvoicePolicy(),
        now=NOW,
    )


def pay(
    current: Invoice, amount: int, *, ref: str = "p1", confirmations: int = 1, after: int = 60
) -> Invoice:
    report = PaymentReport(ref, amount, confirmations, NOW + timedelta(seconds=after))
    return receive_payment(current, report).invoice


# --- the transition table -------------------------------------------------------------------

LEGAL = sorted(INVOICE_TRANSITIONS.items(), key=lambda item: (item[0][0].value, item[0][1].value))
ILLEGAL = [
    (status, trigger)
    for status, trigger in itertools.product(InvoiceStatus, InvoiceTrigger)
    if (status, trigger) not in INVOICE_TRANSITIONS
]


@pytest.mark.parametrize(("move", "target"), LEGAL)
def test_every_legal_transition_reaches_its_status(
    move: tuple[InvoiceStatus, InvoiceTrigger], target: InvoiceStatus
) -> None:
    assert next_invoice_status(*move) is target


@pytest.mark.parametrize(("status", "trigger"), ILLEGAL)
def test_every_illegal_transition_is_refused(
    status: InvoiceStatus, trigger: InvoiceTrigger
) -> None:
    with pytest.raises((FailedPrecondition, Conflict)) as error:
        next_invoice_status(status, trigger)
    assert error.value.metadata == {"status": f"INVOICE_STATUS_{status.name}"}
    assert "_" not in str(error.value)
    assert not str(error.value).startswith("cannot")


def test_paying_a_cancelled_invoice_says_it_is_cancelled_and_cannot_be_paid() -> None:
    cancelled = cancel(invoice()).invoice
    report = PaymentReport("dev-1", cancelled.due, 1, cancelled.created_at)
    with pytest.raises(FailedPrecondition) as error:
        receive_payment(cancelled, report)
    assert str(error.value) == "the invoice is cancelled and cannot be paid"
    assert error.value.metadata == {"status": "INVOICE_STATUS_INVALID"}


def test_refusing_a_refund_of_an_open_invoice_names_its_status_in_words() -> None:
    with pytest.raises(FailedPrecondition) as error:
        refund(invoice(), refund_id="r", amount=1, reason="", now=invoice().created_at)
    assert str(error.value) == "the invoice is new and cannot be refunded yet"


def test_the_table_has_twenty_legal_moves_and_twenty_five_illegal_ones() -> None:
    assert (len(LEGAL), len(ILLEGAL)) == (20, 25)


@pytest.mark.parametrize("trigger", [t for t in InvoiceTrigger if t.value.startswith("receive")])
def test_paying_a_settled_invoice_is_a_409_conflict(trigger: InvoiceTrigger) -> None:
    with pytest.raises(InvoiceSettled) as error:
        next_invoice_status(S.SETTLED, trigger)
    assert error.value.reason == "INVOICE_SETTLED"


# --- opening ---------------------------------------------------------------------------------


def test_a_new_invoice_locks_the_rate_and_rounds_due_up() -> None:
    opened = invoice(amount=1999)
    assert opened.status is S.NEW
    assert opened.rate == EUR_USDT
    assert opened.due == 21_635_177  # 19.99 EUR * 1.0823 = 21.635177 USDT
    assert opened.expires_at == NOW + DEFAULT_INVOICE_TTL
    assert (opened.paid, opened.refunded, opened.version) == (0, 0, 1)


def test_a_due_amount_between_units_is_rounded_up_for_the_merchant() -> None:
    third = Rate("EUR", "USDT", Fraction(1, 3), "db", NOW)
    opened = open_invoice(
        new_invoice(amount=1),
        invoice_id="i",
        rate=third,
        confirmations_required=1,
        policy=InvoicePolicy(),
        now=NOW,
    )
    assert opened.due == 3334  # 0.01 EUR / 3 = 0.003333… USDT


def test_every_bad_field_of_a_new_invoice_is_named() -> None:
    bad = NewInvoice(
        reference=" ",
        price=Money(0, "XXX"),
        pay_currency="DOGE",
        provider="dev",
        expires_in_seconds=0,
        tolerance_bp=10_000,
    )
    with pytest.raises(InvalidArgument) as error:
        open_invoice(
            bad,
            invoice_id="i",
            rate=EUR_USDT,
            confirmations_required=1,
            policy=InvoicePolicy(),
            now=NOW,
        )
    assert [v.field for v in error.value.violations] == [
        "reference",
        "price.amountMinor",
        "price.currency",
        "payCurrency",
        "expiresInSeconds",
        "paymentToleranceBp",
    ]
    assert "DOGE" in error.value.message


def test_the_policy_gives_the_default_lifetime_and_tolerance() -> None:
    policy = InvoicePolicy(ttl=timedelta(minutes=5), tolerance_bp=100)
    opened = open_invoice(
        new_invoice(),
        invoice_id="i",
        rate=EUR_USDT,
        confirmations_required=1,
        policy=policy,
        now=NOW,
    )
    assert (opened.expires_at, opened.tolerance_bp) == (NOW + timedelta(minutes=5), 100)


# --- payments --------------------------------------------------------------------------------


def test_full_confirmed_payment_settles() -> None:
    opened = invoice()
    change = receive_payment(opened, PaymentReport("p1", opened.due, 1, NOW))
    assert change.invoice.status is S.SETTLED
    assert change.entered == (S.SETTLED,)
    assert change.invoice.version == 2
    assert (change.invoice.paid_over, change.invoice.paid_partial) == (False, False)


def test_partial_then_complete_goes_processing_then_settled() -> None:
    opened = invoice()
    half = receive_payment(opened, PaymentReport("p1", opened.due // 2, 1, NOW))
    assert (half.invoice.status, half.entered) == (S.PROCESSING, (S.PROCESSING,))
    rest = opened.due - opened.due // 2
    done = receive_payment(half.invoice, PaymentReport("p2", rest, 1, NOW))
    assert (done.invoice.status, done.entered) == (S.SETTLED, (S.SETTLED,))
    assert done.invoice.paid == opened.due


def test_a_second_partial_payment_keeps_processing_without_entering_it_again() -> None:
    half = pay(invoice(), 10)
    change = receive_payment(half, PaymentReport("p2", 10, 1, NOW))
    assert (change.invoice.status, change.entered) == (S.PROCESSING, ())


def test_full_unconfirmed_payment_is_processing_until_confirmed() -> None:
    opened = invoice(confirmations=3)
    seen = pay(opened, opened.due, confirmations=1)
    assert seen.status is S.PROCESSING
    assert seen.paid_confirmed == 0
    confirmed = receive_payment(seen, PaymentReport("p1", opened.due, 3, NOW))
    assert confirmed.invoice.status is S.SETTLED
    assert len(confirmed.invoice.payments) == 1


def test_a_fully_paid_unconfirmed_invoice_does_not_expire() -> None:
    opened = invoice(confirmations=3)
    seen = pay(opened, opened.due, confirmations=0)
    with pytest.raises(FailedPrecondition):
        expire(seen, NOW + timedelta(hours=1))
    later = PaymentReport("p1", opened.due, 3, NOW + timedelta(hours=1))
    assert receive_payment(seen, later).invoice.status is S.SETTLED


def test_a_known_payment_reported_with_another_amount_is_refused() -> None:
    seen = pay(invoice(confirmations=3), 100, confirmations=1)
    with pytest.raises(FailedPrecondition):
        receive_payment(seen, PaymentReport("p1", 101, 2, NOW))


def test_confirmations_never_go_down() -> None:
    seen = pay(invoice(confirmations=3), 100, confirmations=2)
    again = pay(seen, 100, confirmations=1)
    assert again.payments[0].confirmations == 2


def test_underpayment_within_tolerance_settles() -> None:
    opened = invoice(tolerance_bp=100)  # 1 %
    assert opened.accepted_minimum == -(-opened.due * 99 // 100)
    assert pay(opened, opened.accepted_minimum).status is S.SETTLED


def test_underpayment_beyond_tolerance_stays_processing() -> None:
    opened = invoice(tolerance_bp=100)
    assert pay(opened, opened.accepted_minimum - 1).status is S.PROCESSING


def test_overpayment_settles_flagged_paid_over() -> None:
    opened = invoice()
    settled = pay(opened, opened.due + 1)
    assert (settled.status, settled.paid_over) == (S.SETTLED, True)


def test_a_payment_after_expiry_expires_the_invoice_and_is_late() -> None:
    opened = invoice()
    change = receive_payment(
        opened, PaymentReport("p1", opened.due, 1, opened.expires_at + timedelta(seconds=1))
    )
    assert change.entered == (S.EXPIRED,)
    late = change.invoice
    assert (late.status, late.paid_late, late.paid_partial) == (S.EXPIRED, True, False)
    assert late.payments[0].late


def test_a_late_payment_to_an_expired_invoice_keeps_it_expired() -> None:
    expired = expire(pay(invoice(), 5), NOW + timedelta(hours=1)).invoice
    change = receive_payment(expired, PaymentReport("p2", 10, 1, NOW + timedelta(hours=2)))
    assert (change.invoice.status, change.entered) == (S.EXPIRED, ())
    assert (change.invoice.paid_late, change.invoice.paid_partial) == (True, True)


@pytest.mark.parametrize("status", [S.SETTLED, S.INVALID])
def test_closed_invoices_take_no_payment(status: InvoiceStatus) -> None:
    closed = replace(invoice(), status=status)
    with pytest.raises((FailedPrecondition, Conflict)):
        receive_payment(closed, PaymentReport("p9", 1, 1, NOW))


@pytest.mark.parametrize(
    ("reference", "amount", "confirmations", "field"),
    [(" ", 1, 1, "reference"), ("p", 0, 1, "amount"), ("p", 1, -1, "confirmations")],
)
def test_bad_payment_reports_are_refused(
    reference: str, amount: int, confirmations: int, field: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        receive_payment(invoice(), PaymentReport(reference, amount, confirmations, NOW))
    assert [v.field for v in error.value.violations] == [field]


# --- expiry and cancellation -----------------------------------------------------------------


def test_an_unpaid_invoice_expires_without_flags() -> None:
    expired = expire(invoice(), NOW + DEFAULT_INVOICE_TTL).invoice
    assert (expired.status, expired.paid_partial, expired.paid_late) == (S.EXPIRED, False, False)


def test_a_partly_paid_invoice_expires_flagged_paid_partial() -> None:
    expired = expire(pay(invoice(), 5), NOW + DEFAULT_INVOICE_TTL).invoice
    assert (expired.status, expired.paid_partial) == (S.EXPIRED, True)


def test_an_invoice_does_not_expire_early() -> None:
    with pytest.raises(FailedPrecondition):
        expire(invoice(), NOW + DEFAULT_INVOICE_TTL - timedelta(seconds=1))


@pytest.mark.parametrize("status", [S.NEW, S.PROCESSING])
def test_open_invoices_can_be_cancelled(status: InvoiceStatus) -> None:
    assert cancel(replace(invoice(), status=status)).invoice.status is S.INVALID


@pytest.mark.parametrize("status", [S.SETTLED, S.EXPIRED, S.INVALID])
def test_closed_invoices_cannot_be_cancelled(status: InvoiceStatus) -> None:
    with pytest.raises(FailedPrecondition):
        cancel(replace(invoice(), status=status))


# --- what can be paid ------------------------------------------------------------------------


def test_an_open_invoice_is_payable() -> None:
    ensure_payable(invoice(), NOW)


def test_a_settled_invoice_is_not_payable_409() -> None:
    settled = pay(invoice(), invoice().due)
    with pytest.raises(InvoiceSettled):
        ensure_payable(settled, NOW)


@pytest.mark.parametrize("expired_by", ["status", "clock"])
def test_an_expired_invoice_is_gone_410(expired_by: str) -> None:
    opened = invoice()
    if expired_by == "status":
        opened = expire(opened, opened.expires_at).invoice
    with pytest.raises(Gone):
        ensure_payable(opened, opened.expires_at)


def test_an_invalid_invoice_is_not_payable() -> None:
    with pytest.raises(FailedPrecondition):
        ensure_payable(cancel(invoice()).invoice, NOW)


# --- refunds ---------------------------------------------------------------------------------


def test_partial_then_full_refunds_up_to_what_was_paid() -> None:
    settled = pay(invoice(), invoice().due)
    first = refund(settled, refund_id="r1", amount=100, reason=" damaged ", now=NOW)
    assert first.reason == "damaged"
    after_first = with_refund(settled, first)
    assert after_first.refundable == settled.due - 100
    second = refund(after_first, refund_id="r2", amount=after_first.refundable, reason="", now=NOW)
    done = with_refund(after_first, second)
    assert (done.refunded, done.refundable, done.status) == (settled.due, 0, S.SETTLED)
    with pytest.raises(FailedPrecondition):
        refund(done, refund_id="r3", amount=1, reason="", now=NOW)


def test_a_refund_beyond_what_was_paid_is_refused() -> None:
    settled = pay(invoice(), invoice().due + 7)
    with pytest.raises(FailedPrecondition) as error:
        refund(settled, refund_id="r", amount=settled.paid + 1, reason="", now=NOW)
    assert error.value.metadata == {"refundable": str(settled.paid)}


def test_a_late_payment_to_an_expired_invoice_can_be_refunded() -> None:
    late = pay(invoice(), 500, after=10_000)
    assert late.status is S.EXPIRED
    assert refund(late, refund_id="r", amount=500, reason="late", now=NOW).amount == 500


@pytest.mark.parametrize("status", [S.NEW, S.PROCESSING])
def test_open_invoices_cannot_be_refunded(status: InvoiceStatus) -> None:
    paid = replace(pay(invoice(), 10), status=status)
    with pytest.raises(FailedPrecondition):
        refund(paid, refund_id="r", amount=1, reason="", now=NOW)


def test_a_refund_must_be_positive() -> None:
    with pytest.raises(InvalidArgument):
        refund(pay(invoice(), invoice().due), refund_id="r", amount=0, reason="", now=NOW)
