"""Invoices, modelled on BTCPay Server: rules and the status machine. Pure: no I/O.

An invoice asks for `price` (e.g. EUR) to be paid in `pay_currency` (e.g. USDT) at a rate locked
when it is opened; `due` is the price converted with `Rounding.UP`. Payments accumulate (partial,
over, late), each reported by a payment provider with its confirmations; refunds are records of
their own and never exceed what was paid.

Statuses:
- new: nothing received yet.
- processing: payments received but the invoice is not settled: partly paid, or paid in full
  with confirmations still missing. (BTCPay keeps a partly paid invoice `new`; Agora reports it as
  processing so the order sees money arriving.)
- settled: confirmed payments reach `due` less the underpayment tolerance.
- expired: not paid in full before `expires_at`; flags tell `paid_partial` and `paid_late`.
- invalid: cancelled by staff (or the orders service) before settlement.
`paid_over` flags any invoice paid more than `due`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from agora.payments.conversion import Rate, Rounding, convert
from agora.platform.errors import (
    Conflict,
    FailedPrecondition,
    FieldViolation,
    Gone,
    InvalidArgument,
)
from agora.platform.kernel.checks import raise_if_any, text_violations
from agora.platform.kernel.money import Money, is_currency

DEFAULT_INVOICE_TTL = timedelta(minutes=15)
MAX_INVOICE_TTL = timedelta(days=7)
BASIS_POINTS = 10_000
MAX_REFERENCE_LENGTH = 200


class InvoiceStatus(Enum):
    NEW = "new"
    PROCESSING = "processing"
    SETTLED = "settled"
    EXPIRED = "expired"
    INVALID = "invalid"


class InvoiceTrigger(Enum):
    """What happens to an invoice; payments are classified by what they add up to."""

    RECEIVE_PARTIAL = "receive_partial"  # still short of the accepted minimum
    RECEIVE_UNCONFIRMED = "receive_unconfirmed"  # enough, but not all confirmed yet
    RECEIVE_SETTLING = "receive_settling"  # enough confirmed
    RECEIVE_LATE = "receive_late"  # arrives after the invoice expired
    EXPIRE = "expire"
    CANCEL = "cancel"


_S, _T = InvoiceStatus, InvoiceTrigger
INVOICE_TRANSITIONS: Mapping[tuple[InvoiceStatus, InvoiceTrigger], InvoiceStatus] = {
    (_S.NEW, _T.RECEIVE_PARTIAL): _S.PROCESSING,
    (_S.NEW, _T.RECEIVE_UNCONFIRMED): _S.PROCESSING,
    (_S.NEW, _T.RECEIVE_SETTLING): _S.SETTLED,
    (_S.NEW, _T.EXPIRE): _S.EXPIRED,
    (_S.NEW, _T.CANCEL): _S.INVALID,
    (_S.PROCESSING, _T.RECEIVE_PARTIAL): _S.PROCESSING,
    (_S.PROCESSING, _T.RECEIVE_UNCONFIRMED): _S.PROCESSING,
    (_S.PROCESSING, _T.RECEIVE_SETTLING): _S.SETTLED,
    (_S.PROCESSING, _T.EXPIRE): _S.EXPIRED,
    (_S.PROCESSING, _T.CANCEL): _S.INVALID,
    (_S.EXPIRED, _T.RECEIVE_LATE): _S.EXPIRED,
}

# Refunds give back money that has stopped arriving: never while an invoice is still open.
REFUNDABLE = frozenset({_S.SETTLED, _S.EXPIRED, _S.INVALID})
# Open invoices: the statuses the table lets expire.
EXPIRABLE = frozenset(status for status, trigger in INVOICE_TRANSITIONS if trigger is _T.EXPIRE)


class InvoiceSettled(Conflict):
    """A settled invoice cannot be paid again: ABORTED on gRPC, 409 at the HTTP edge."""

    reason = "INVOICE_SETTLED"


# How errors name a status: the API's words (INVOICE_STATUS_INVALID is a cancelled invoice).
STATUS_WORDS: Mapping[InvoiceStatus, str] = {
    _S.NEW: "new",
    _S.PROCESSING: "processing",
    _S.SETTLED: "settled",
    _S.EXPIRED: "expired",
    _S.INVALID: "cancelled",
}
# What a refused trigger would have done, as the caller asked for it.
_REFUSED: Mapping[InvoiceTrigger, str] = {
    _T.RECEIVE_PARTIAL: "cannot be paid",
    _T.RECEIVE_UNCONFIRMED: "cannot be paid",
    _T.RECEIVE_SETTLING: "cannot be paid",
    _T.RECEIVE_LATE: "cannot be paid",
    _T.EXPIRE: "cannot expire",
    _T.CANCEL: "cannot be cancelled",
}


def status_metadata(status: InvoiceStatus) -> dict[str, str]:
    """Error metadata naming the invoice's status as the API does (`INVOICE_STATUS_…`)."""
    return {"status": f"INVOICE_STATUS_{status.name}"}


def next_invoice_status(status: InvoiceStatus, trigger: InvoiceTrigger) -> InvoiceStatus:
    """The status after `trigger`, or the error that explains why it cannot happen."""
    try:
        return INVOICE_TRANSITIONS[(status, trigger)]
    except KeyError:
        pass
    message = f"the invoice is {STATUS_WORDS[status]} and {_REFUSED[trigger]}"
    if status is InvoiceStatus.SETTLED and trigger.value.startswith("receive"):
        raise InvoiceSettled("the invoice is already settled", metadata=status_metadata(status))
    raise FailedPrecondition(message, metadata=status_metadata(status))


@dataclass(frozen=True)
class Payment:
    """Money a provider saw for an invoice, in the pay currency's smallest unit."""

    reference: str  # the provider's id for it: a transaction hash, a dev payment id
    amount: int
    confirmations: int
    received_at: datetime
    late: bool = False


@dataclass(frozen=True)
class PaymentReport:
    """What a provider tells the service: a new payment, or more confirmations of a known one."""

    reference: str
    amount: int
    confirmations: int
    at: datetime


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class InvoicePolicy:
    """The service's defaults for new invoices."""

    ttl: timedelta = DEFAULT_INVOICE_TTL
    tolerance_bp: int = 0


@dataclass(frozen=True)
class NewInvoice:
    reference: str
    price: Money
    pay_currency: str
    provider: str
    expires_in_seconds: int | None = None
    tolerance_bp: int | None = None
    customer_id: str = ""


@dataclass(frozen=True)
class Invoice:
    id: str
    reference: str
    status: InvoiceStatus
    price: Money
    pay_currency: str
    rate: Rate
    due: int
    tolerance_bp: int
    provider: str
    confirmations_required: int
    expires_at: datetime
    created_at: datetime
    payments: tuple[Payment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    paid_partial: bool = False
    paid_late: bool = False
    paid_over: bool = False
    version: int = 1
    # The customer the invoice is for, who may read it (empty: a guest's).
    customer_id: str = ""

    @property
    def paid(self) -> int:
        return sum(p.amount for p in self.payments)

    @property
    def paid_confirmed(self) -> int:
        return sum(p.amount for p in self.payments if self._confirmed(p))

    @property
    def refunded(self) -> int:
        return sum(r.amount for r in self.refunds)

    @property
    def refundable(self) -> int:
        return self.paid - self.refunded

    @property
    def accepted_minimum(self) -> int:
        """`due` less the underpayment tolerance, rounded up: the least that settles."""
        return -((-self.due * (BASIS_POINTS - self.tolerance_bp)) // BASIS_POINTS)

    def _confirmed(self, payment: Payment) -> bool:
        return payment.confirmations >= self.confirmations_required


@dataclass(frozen=True)
class InvoiceRecord:
    """An invoice with how to pay it (the provider's instructions are kept beside it)."""

    invoice: Invoice
    pay_to: str
    memo: str


@dataclass(frozen=True)
class InvoiceChange:
    """An invoice after something happened to it, and which statuses it went through."""

    invoice: Invoice
    entered: tuple[InvoiceStatus, ...]  # statuses newly entered, in order (may be empty)


def validate_new_invoice(new: NewInvoice, policy: InvoicePolicy) -> tuple[timedelta, int]:
    """The invoice's lifetime and tolerance, or INVALID_ARGUMENT naming every bad field."""
    ttl, tolerance = policy.ttl, policy.tolerance_bp
    violations = text_violations(
        new.reference, "reference", max_len=MAX_REFERENCE_LENGTH, required=True
    )
    if new.price.amount_minor <= 0:
        violations.append(FieldViolation("price.amountMinor", "must be positive"))
    for code, field in ((new.price.currency, "price.currency"), (new.pay_currency, "payCurrency")):
        if not is_currency(code):
            violations.append(FieldViolation(field, f"unknown currency {code!r}"))
    if new.expires_in_seconds is not None:
        ttl = timedelta(seconds=new.expires_in_seconds)
        if not timedelta(seconds=1) <= ttl <= MAX_INVOICE_TTL:
            violations.append(FieldViolation("expiresInSeconds", "between 1 second and 7 days"))
    if new.tolerance_bp is not None:
        tolerance = new.tolerance_bp
        if not 0 <= tolerance < BASIS_POINTS:
            violations.append(FieldViolation("paymentToleranceBp", "0 to 9999 basis points"))
    raise_if_any(violations)
    return ttl, tolerance


def open_invoice(
    new: NewInvoice,
    *,
    invoice_id: str,
    rate: Rate,
    confirmations_required: int,
    policy: InvoicePolicy,
    now: datetime,
) -> Invoice:
    """A new invoice with the rate locked in and `due` rounded up in the merchant's favour."""
    ttl, tolerance = validate_new_invoice(new, policy)
    due = convert(new.price, rate, new.pay_currency, Rounding.UP).amount_minor
    return Invoice(
        id=invoice_id,
        reference=new.reference.strip(),
        status=InvoiceStatus.NEW,
        price=new.price,
        pay_currency=new.pay_currency,
        rate=rate,
        due=due,
        tolerance_bp=tolerance,
        provider=new.provider,
        confirmations_required=confirmations_required,
        expires_at=now + ttl,
        created_at=now,
        customer_id=new.customer_id.strip(),
    )


def _is_past_due(invoice: Invoice, at: datetime) -> bool:
    """Open, past its expiry and not paid in full (paid in full, it waits for confirmations)."""
    return (
        invoice.status in EXPIRABLE
        and at >= invoice.expires_at
        and invoice.paid < invoice.accepted_minimum
    )


def _flags(invoice: Invoice) -> Invoice:
    partial = invoice.status is InvoiceStatus.EXPIRED and invoice.paid > 0
    return replace(
        invoice,
        paid_partial=partial and invoice.paid < invoice.accepted_minimum,
        paid_over=invoice.paid > invoice.due,
        paid_late=any(p.late for p in invoice.payments),
    )


def _moved(invoice: Invoice, status: InvoiceStatus) -> Invoice:
    return _flags(replace(invoice, status=status))


def expire(invoice: Invoice, now: datetime) -> InvoiceChange:
    """The invoice expired at `now`; FAILED_PRECONDITION if it is not open and past due."""
    if invoice.status in EXPIRABLE and now < invoice.expires_at:
        raise FailedPrecondition("the invoice has not expired yet")
    status = next_invoice_status(invoice.status, InvoiceTrigger.EXPIRE)
    if invoice.paid >= invoice.accepted_minimum:
        raise FailedPrecondition("a paid invoice waits for its confirmations instead of expiring")
    expired = _moved(invoice, status)
    return InvoiceChange(replace(expired, version=invoice.version + 1), (status,))


def cancel(invoice: Invoice) -> InvoiceChange:
    """Staff or the orders service gave up on the invoice: it becomes invalid."""
    status = next_invoice_status(invoice.status, InvoiceTrigger.CANCEL)
    return InvoiceChange(replace(_moved(invoice, status), version=invoice.version + 1), (status,))


def _merge(invoice: Invoice, report: PaymentReport, *, late: bool) -> Invoice:
    known = {p.reference: p for p in invoice.payments}
    existing = known.get(report.reference)
    if existing is None:
        payment = Payment(report.reference, report.amount, report.confirmations, report.at, late)
        return replace(invoice, payments=(*invoice.payments, payment))
    if existing.amount != report.amount:
        raise FailedPrecondition(
            f"payment {report.reference!r} was reported with another amount",
            metadata={"reference": report.reference},
        )
    confirmations = max(existing.confirmations, report.confirmations)
    updated = replace(existing, confirmations=confirmations)
    payments = tuple(updated if p.reference == report.reference else p for p in invoice.payments)
    return replace(invoice, payments=payments)


def _receive_trigger(invoice: Invoice) -> InvoiceTrigger:
    if invoice.status is InvoiceStatus.EXPIRED:
        return InvoiceTrigger.RECEIVE_LATE
    if invoice.paid_confirmed >= invoice.accepted_minimum:
        return InvoiceTrigger.RECEIVE_SETTLING
    if invoice.paid >= invoice.accepted_minimum:
        return InvoiceTrigger.RECEIVE_UNCONFIRMED
    return InvoiceTrigger.RECEIVE_PARTIAL


def validate_report(report: PaymentReport) -> None:
    """A report's reference names it; its amount is positive and confirmations not negative."""
    if not report.reference.strip():
        raise InvalidArgument.for_field("reference", "required")
    if report.amount <= 0:
        raise InvalidArgument.for_field("amount", "must be positive")
    if report.confirmations < 0:
        raise InvalidArgument.for_field("confirmations", "must not be negative")


def receive_payment(invoice: Invoice, report: PaymentReport) -> InvoiceChange:
    """Apply a provider's report. A payment after `expires_at` to an invoice not yet paid in full
    first expires it, then counts as late; a settled invoice cannot be paid again (409)."""
    validate_report(report)
    entered: list[InvoiceStatus] = []
    current = invoice
    if _is_past_due(current, report.at):
        current = _moved(current, next_invoice_status(current.status, InvoiceTrigger.EXPIRE))
        entered.append(current.status)
    if current.status in (InvoiceStatus.SETTLED, InvoiceStatus.INVALID):
        next_invoice_status(current.status, InvoiceTrigger.RECEIVE_PARTIAL)  # raises
    late = current.status is InvoiceStatus.EXPIRED
    current = _merge(current, report, late=late)
    status = next_invoice_status(current.status, _receive_trigger(current))
    if status is not current.status:
        entered.append(status)
    current = _moved(current, status)
    return InvoiceChange(replace(current, version=invoice.version + 1), tuple(entered))


def ensure_payable(invoice: Invoice, now: datetime) -> None:
    """An on-time payment can be made: 409 once settled, 410 once expired, 400 when invalid."""
    if invoice.status is InvoiceStatus.SETTLED:
        next_invoice_status(invoice.status, InvoiceTrigger.RECEIVE_PARTIAL)
    if invoice.status is InvoiceStatus.EXPIRED or _is_past_due(invoice, now):
        raise Gone(
            "the invoice has expired", metadata={"expires_at": invoice.expires_at.isoformat()}
        )
    if invoice.status is InvoiceStatus.INVALID:
        next_invoice_status(invoice.status, InvoiceTrigger.RECEIVE_PARTIAL)


def refund(invoice: Invoice, *, refund_id: str, amount: int, reason: str, now: datetime) -> Refund:
    """A refund of `amount` of the pay currency: never more than was paid and not yet refunded."""
    if amount <= 0:
        raise InvalidArgument.for_field("amount", "must be positive")
    if invoice.status not in REFUNDABLE:
        raise FailedPrecondition(
            f"the invoice is {STATUS_WORDS[invoice.status]} and cannot be refunded yet",
            metadata=status_metadata(invoice.status),
        )
    if amount > invoice.refundable:
        raise FailedPrecondition(
            f"at most {invoice.refundable} can be refunded",
            metadata={"refundable": str(invoice.refundable)},
        )
    return Refund(refund_id, amount, reason.strip(), now)


def with_refund(invoice: Invoice, new_refund: Refund) -> Invoice:
    return replace(invoice, refunds=(*invoice.refunds, new_refund), version=invoice.version + 1)
