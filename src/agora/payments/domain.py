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

Payments are credited, withdrawn or flagged. A withdrawn payment (its block left the chain) no
longer counts: a settled invoice goes back to processing, or to new when nothing is left, and
the same reference reported again is credited again, once. A flagged payment (the wrong chain,
token or recipient) is kept on the invoice for staff and never counts. `refund_due` is what was
credited beyond what the invoice keeps: an overpayment, or everything paid to an invoice that
expired or was cancelled, less refunds.
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
    # A credited payment is withdrawn (a reorg): classified by what stays credited.
    WITHDRAW_LEAVING_NONE = "withdraw_leaving_none"
    WITHDRAW_LEAVING_SOME = "withdraw_leaving_some"  # credited, but not enough confirmed
    WITHDRAW_STILL_SETTLED = "withdraw_still_settled"  # enough confirmed remains


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
    (_S.PROCESSING, _T.WITHDRAW_LEAVING_NONE): _S.NEW,
    (_S.PROCESSING, _T.WITHDRAW_LEAVING_SOME): _S.PROCESSING,
    (_S.SETTLED, _T.WITHDRAW_LEAVING_NONE): _S.NEW,
    (_S.SETTLED, _T.WITHDRAW_LEAVING_SOME): _S.PROCESSING,
    (_S.SETTLED, _T.WITHDRAW_STILL_SETTLED): _S.SETTLED,
    (_S.EXPIRED, _T.WITHDRAW_LEAVING_NONE): _S.EXPIRED,
    (_S.EXPIRED, _T.WITHDRAW_LEAVING_SOME): _S.EXPIRED,
    (_S.INVALID, _T.WITHDRAW_LEAVING_NONE): _S.INVALID,
    (_S.INVALID, _T.WITHDRAW_LEAVING_SOME): _S.INVALID,
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
    _T.WITHDRAW_LEAVING_NONE: "has no payment to withdraw",
    _T.WITHDRAW_LEAVING_SOME: "has no payment to withdraw",
    _T.WITHDRAW_STILL_SETTLED: "has no payment to withdraw",
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


class PaymentStatus(Enum):
    CREDITED = "credited"  # counts towards the invoice
    WITHDRAWN = "withdrawn"  # its block left the chain: kept for audit, counts no more
    FLAGGED = "flagged"  # failed verification: kept for staff, never counts


@dataclass(frozen=True)
class Payment:
    """Money a provider saw for an invoice, in the pay currency's smallest unit."""

    reference: str  # the provider's id for it: a transaction hash, a dev payment id
    amount: int
    confirmations: int
    received_at: datetime
    late: bool = False
    status: PaymentStatus = PaymentStatus.CREDITED
    flags: tuple[str, ...] = ()  # why it is flagged (WRONG_TOKEN, WRONG_RECIPIENT, …)

    @property
    def credited(self) -> bool:
        return self.status is PaymentStatus.CREDITED


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
    # On-chain invoices: what a payment must match besides the deposit address (`pay_to`).
    chain_id: int = 0
    token_address: str = ""
    router_address: str = ""

    @property
    def paid(self) -> int:
        return sum(p.amount for p in self.payments if p.credited)

    @property
    def paid_confirmed(self) -> int:
        return sum(p.amount for p in self.payments if p.credited and self._confirmed(p))

    @property
    def has_flagged_payments(self) -> bool:
        return any(p.status is PaymentStatus.FLAGGED for p in self.payments)

    @property
    def refund_due(self) -> int:
        """Credited money the invoice does not keep, less refunds: the overpayment of a settled
        invoice, everything paid to an expired or cancelled one."""
        if self.status is InvoiceStatus.SETTLED:
            owed = self.paid - self.due
        elif self.status in (InvoiceStatus.EXPIRED, InvoiceStatus.INVALID):
            owed = self.paid
        else:
            owed = 0
        return max(owed - self.refunded, 0)

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
class LedgerEntry:
    """A payment with the invoice it pays and where it was to be paid (the crypto ledger)."""

    invoice_id: str
    pay_currency: str
    pay_to: str
    payment: Payment


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
    return _moved(invoice, invoice.status)


def _moved(invoice: Invoice, status: InvoiceStatus, *, version: int | None = None) -> Invoice:
    """`invoice` in `status` (at `version`, by default its own) with its flags set for it, in
    one copy (copying an invoice is most of the cost of crediting a payment: measured)."""
    paid = invoice.paid
    return replace(
        invoice,
        status=status,
        version=invoice.version if version is None else version,
        paid_partial=status is InvoiceStatus.EXPIRED and 0 < paid < invoice.accepted_minimum,
        paid_over=paid > invoice.due,
        paid_late=any(p.late for p in invoice.payments),
    )


def expire(invoice: Invoice, now: datetime) -> InvoiceChange:
    """The invoice expired at `now`; FAILED_PRECONDITION if it is not open and past due."""
    if invoice.status in EXPIRABLE and now < invoice.expires_at:
        raise FailedPrecondition("the invoice has not expired yet")
    status = next_invoice_status(invoice.status, InvoiceTrigger.EXPIRE)
    if invoice.paid >= invoice.accepted_minimum:
        raise FailedPrecondition("a paid invoice waits for its confirmations instead of expiring")
    return InvoiceChange(_moved(invoice, status, version=invoice.version + 1), (status,))


def cancel(invoice: Invoice) -> InvoiceChange:
    """Staff or the orders service gave up on the invoice: it becomes invalid."""
    status = next_invoice_status(invoice.status, InvoiceTrigger.CANCEL)
    return InvoiceChange(_moved(invoice, status, version=invoice.version + 1), (status,))


def _merged(
    payments: tuple[Payment, ...], report: PaymentReport, *, late: bool
) -> tuple[Payment, ...]:
    """`payments` with the report's payment added, or with its confirmations counted."""
    existing = next((p for p in payments if p.reference == report.reference), None)
    if existing is None:
        payment = Payment(report.reference, report.amount, report.confirmations, report.at, late)
        return (*payments, payment)
    if existing.amount != report.amount:
        raise FailedPrecondition(
            f"payment {report.reference!r} was reported with another amount",
            metadata={"reference": report.reference},
        )
    if existing.status is PaymentStatus.WITHDRAWN:
        # Back on the chain in a new block: credited again, with that block's confirmations.
        updated = replace(
            existing, status=PaymentStatus.CREDITED, confirmations=report.confirmations
        )
    else:
        confirmations = max(existing.confirmations, report.confirmations)
        updated = replace(existing, confirmations=confirmations)
    return tuple(updated if p.reference == report.reference else p for p in payments)


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
    known = next((p for p in invoice.payments if p.reference == report.reference), None)
    if known is not None and (known.status is PaymentStatus.FLAGGED or invoice.status in _CLOSED):
        # More confirmations of a payment that moves nothing (a withdrawn one back on the chain
        # of a closed invoice is credited again, to be kept or refunded): recorded only.
        return InvoiceChange(_flags(_updated(invoice, known, report)), ())
    entered: list[InvoiceStatus] = []
    status = invoice.status
    if _is_past_due(invoice, report.at):
        status = next_invoice_status(status, InvoiceTrigger.EXPIRE)
        entered.append(status)
    if status in (InvoiceStatus.SETTLED, InvoiceStatus.INVALID):
        next_invoice_status(status, InvoiceTrigger.RECEIVE_PARTIAL)  # raises
    late = status is InvoiceStatus.EXPIRED
    merged = replace(invoice, status=status, payments=_merged(invoice.payments, report, late=late))
    after = next_invoice_status(status, _receive_trigger(merged))
    if after is not status:
        entered.append(after)
    return InvoiceChange(_moved(merged, after, version=invoice.version + 1), tuple(entered))


_CLOSED = frozenset({InvoiceStatus.SETTLED, InvoiceStatus.INVALID})


def _updated(invoice: Invoice, known: Payment, report: PaymentReport) -> Invoice:
    if known.amount != report.amount:
        raise FailedPrecondition(
            f"payment {report.reference!r} was reported with another amount",
            metadata={"reference": report.reference},
        )
    if known.status is PaymentStatus.WITHDRAWN:
        more = replace(known, status=PaymentStatus.CREDITED, confirmations=report.confirmations)
    else:
        more = replace(known, confirmations=max(known.confirmations, report.confirmations))
    payments = tuple(more if p.reference == known.reference else p for p in invoice.payments)
    return replace(invoice, payments=payments, version=invoice.version + 1)


def record_flagged(
    invoice: Invoice, report: PaymentReport, flags: tuple[str, ...]
) -> InvoiceChange:
    """Keep a payment that failed verification on the invoice, flagged and never credited (the
    invoice's status does not move). A reference already known only gains confirmations."""
    validate_report(report)
    if not flags:
        raise InvalidArgument.for_field("flags", "a flagged payment names why")
    known = next((p for p in invoice.payments if p.reference == report.reference), None)
    if known is not None:
        # Its status stays (a withdrawn payment reported again with flags is not credited).
        more = replace(known, confirmations=max(known.confirmations, report.confirmations))
        payments = tuple(more if p is known else p for p in invoice.payments)
        return InvoiceChange(replace(invoice, payments=payments, version=invoice.version + 1), ())
    late = invoice.status is InvoiceStatus.EXPIRED or report.at >= invoice.expires_at
    flagged = Payment(
        report.reference,
        report.amount,
        report.confirmations,
        report.at,
        late,
        PaymentStatus.FLAGGED,
        tuple(sorted(set(flags))),
    )
    added = replace(invoice, payments=(*invoice.payments, flagged), version=invoice.version + 1)
    return InvoiceChange(added, ())


def is_repeated_report(invoice: Invoice, report: PaymentReport) -> bool:
    """`report` tells nothing new: the same payment, credited or flagged, already known with as
    many confirmations (the chain's `confirmed` event right after its `detected` one)."""
    known = next((p for p in invoice.payments if p.reference == report.reference), None)
    return (
        known is not None
        and known.status in (PaymentStatus.CREDITED, PaymentStatus.FLAGGED)
        and known.amount == report.amount
        and known.confirmations >= report.confirmations
    )


def receive_transfer(invoice: Invoice, report: PaymentReport) -> InvoiceChange:
    """A verified on-chain payment: as `receive_payment`, except that money sent to a settled or
    cancelled invoice cannot be refused: it is credited without moving the invoice, flagged
    `paid_over` and counted in `refund_due`."""
    validate_report(report)
    known = any(p.reference == report.reference for p in invoice.payments)
    if known or invoice.status not in _CLOSED:
        return receive_payment(invoice, report)
    extra = Payment(report.reference, report.amount, report.confirmations, report.at)
    added = replace(invoice, payments=(*invoice.payments, extra), version=invoice.version + 1)
    return InvoiceChange(_flags(added), ())


def _withdraw_trigger(invoice: Invoice) -> InvoiceTrigger:
    if invoice.paid == 0:
        return InvoiceTrigger.WITHDRAW_LEAVING_NONE
    if (
        invoice.status is InvoiceStatus.SETTLED
        and invoice.paid_confirmed >= invoice.accepted_minimum
    ):
        return InvoiceTrigger.WITHDRAW_STILL_SETTLED
    return InvoiceTrigger.WITHDRAW_LEAVING_SOME


def withdraw_payment(invoice: Invoice, reference: str) -> InvoiceChange | None:
    """The credited payment `reference` left the chain: it stops counting (kept, withdrawn).
    None when there is nothing to withdraw (unknown, flagged or already withdrawn)."""
    known = next((p for p in invoice.payments if p.reference == reference), None)
    if known is None or not known.credited:
        return None
    withdrawn = replace(known, status=PaymentStatus.WITHDRAWN)
    current = replace(
        invoice,
        payments=tuple(withdrawn if p.reference == reference else p for p in invoice.payments),
    )
    status = next_invoice_status(current.status, _withdraw_trigger(current))
    entered = (status,) if status is not invoice.status else ()
    return InvoiceChange(_moved(current, status, version=invoice.version + 1), entered)


# --- on-chain payments: what a transfer must match -------------------------------------------

WRONG_CHAIN = "WRONG_CHAIN"
WRONG_TOKEN = "WRONG_TOKEN"
WRONG_RECIPIENT = "WRONG_RECIPIENT"
NOT_POSITIVE = "NOT_POSITIVE"
# The chain's flags that payments decides itself: a payment after expiry is credited as late.
DECIDED_HERE = frozenset({"INVOICE_EXPIRED"})


@dataclass(frozen=True)
class ObservedTransfer:
    """A token transfer the chain service saw, as payments checks it."""

    reference: str
    chain_id: int
    token_address: str
    symbol: str
    to_address: str
    amount: int
    confirmations: int
    at: datetime
    via_router: bool  # PaymentRouter's InvoicePaid, naming `invoice_id`
    invoice_id: str
    flags: tuple[str, ...] = ()

    def report(self) -> PaymentReport:
        return PaymentReport(self.reference, self.amount, self.confirmations, self.at)


def credit_transfer(record: InvoiceRecord, transfer: ObservedTransfer) -> InvoiceChange | None:
    """A transfer the chain reports (seen, or with more confirmations) applied to the invoice it
    names: credited when it passes verification, else kept flagged; None when it tells nothing
    new (the same payment known with as many confirmations)."""
    report = transfer.report()
    if is_repeated_report(record.invoice, report):
        return None
    flags = verification_flags(record, transfer)
    if flags:
        return record_flagged(record.invoice, report, flags)
    return receive_transfer(record.invoice, report)


def verification_flags(record: InvoiceRecord, transfer: ObservedTransfer) -> tuple[str, ...]:
    """Why `transfer` must not be credited to the invoice (empty: it may): the chain's own
    flags, and any mismatch of chain, token (contract and symbol), recipient or amount."""
    invoice = record.invoice
    flags = {f for f in transfer.flags if f not in DECIDED_HERE}
    if transfer.chain_id != invoice.chain_id:
        flags.add(WRONG_CHAIN)
    if (
        transfer.symbol != invoice.pay_currency
        or transfer.token_address.lower() != invoice.token_address.lower()
    ):
        flags.add(WRONG_TOKEN)
    if transfer.via_router:
        names_it = transfer.invoice_id == invoice.id
    else:
        names_it = transfer.to_address.lower() == record.pay_to.lower()
    if not names_it:
        flags.add(WRONG_RECIPIENT)
    if transfer.amount <= 0:
        flags.add(NOT_POSITIVE)
    return tuple(sorted(flags))


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
