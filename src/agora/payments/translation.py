"""Protobuf <-> domain translation, shared by the servicer and the expiry job."""

from __future__ import annotations

import re

from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora._proto.agora.types.v1 import money_pb2 as types
from agora.payments.conversion import Rate, format_rate
from agora.payments.domain import (
    Invoice,
    InvoiceRecord,
    InvoiceStatus,
    LedgerEntry,
    NewInvoice,
    Payment,
    PaymentStatus,
    Refund,
)
from agora.payments.providers import DevAction
from agora.platform.errors import InvalidArgument
from agora.platform.kernel.money import CURRENCIES, Money, currency
from agora.platform.rpc.timestamps import timestamp

INVOICE_STATUS_PB = {
    InvoiceStatus.NEW: pb.INVOICE_STATUS_NEW,
    InvoiceStatus.PROCESSING: pb.INVOICE_STATUS_PROCESSING,
    InvoiceStatus.SETTLED: pb.INVOICE_STATUS_SETTLED,
    InvoiceStatus.EXPIRED: pb.INVOICE_STATUS_EXPIRED,
    InvoiceStatus.INVALID: pb.INVOICE_STATUS_INVALID,
}
PAYMENT_STATUS_PB = {
    PaymentStatus.CREDITED: pb.PAYMENT_STATUS_CREDITED,
    PaymentStatus.WITHDRAWN: pb.PAYMENT_STATUS_WITHDRAWN,
    PaymentStatus.FLAGGED: pb.PAYMENT_STATUS_FLAGGED,
}
DEV_ACTIONS = {
    pb.DEV_PAY_ACTION_PAY_FULL: DevAction.PAY_FULL,
    pb.DEV_PAY_ACTION_PAY_PARTIAL: DevAction.PAY_PARTIAL,
    pb.DEV_PAY_ACTION_PAY_OVER: DevAction.PAY_OVER,
    pb.DEV_PAY_ACTION_PAY_LATE: DevAction.PAY_LATE,
    pb.DEV_PAY_ACTION_DECLINE: DevAction.DECLINE,
}


_AMOUNT_TEXT = re.compile(r"[0-9]{1,78}")  # 78 digits hold any uint256


def currency_code(text: str) -> str:
    """A currency code as callers may write it (` usdt`), in the kernel table's form (`USDT`)."""
    return text.strip().upper()


def parse_amount(text: str, field: str) -> int:
    """A non-negative integer amount of smallest units from its decimal string (`"1500000"`)."""
    stripped = text.strip()
    if not _AMOUNT_TEXT.fullmatch(stripped):
        raise InvalidArgument.for_field(field, "a non-negative integer of smallest units")
    return int(stripped)


def amount_pb(amount: int, code: str) -> types.CryptoAmount:
    """Base units of any currency (fiat too: `decimals` is its ISO exponent)."""
    return types.CryptoAmount(base_units=str(amount), asset=code, decimals=currency(code).exponent)


def _set_amount(target: types.CryptoAmount, amount: int, code: str, decimals: int) -> None:
    """`amount_pb` written into a message's field (an invoice has seven: each copied from a
    message of its own took half the cost of `invoice_pb`, measured)."""
    target.base_units = str(amount)
    target.asset = code
    target.decimals = decimals


def rate_pb(rate: Rate) -> pb.ExchangeRate:
    return pb.ExchangeRate(
        base=rate.base,
        quote=rate.quote,
        rate=format_rate(rate.value),
        source=rate.source,
        as_of=timestamp(rate.as_of),
    )


def currencies_pb() -> list[pb.Currency]:
    """Every currency of the kernel's table, ISO ones first, each group by code."""
    listed = sorted(CURRENCIES.values(), key=lambda found: (found.crypto, found.code))
    return [pb.Currency(code=c.code, exponent=c.exponent, crypto=c.crypto) for c in listed]


def payment_pb(payment: Payment, code: str) -> pb.Payment:
    found = pb.Payment()
    _set_payment(found, payment, code, currency(code).exponent)
    return found


def _set_payment(target: pb.Payment, payment: Payment, code: str, decimals: int) -> None:
    target.reference = payment.reference
    _set_amount(target.amount, payment.amount, code, decimals)
    target.confirmations = payment.confirmations
    target.received_at.CopyFrom(timestamp(payment.received_at))
    target.late = payment.late
    target.status = PAYMENT_STATUS_PB[payment.status]
    target.flags.extend(payment.flags)


def crypto_payment_pb(entry: LedgerEntry) -> pb.CryptoPayment:
    p = entry.payment
    return pb.CryptoPayment(
        invoice_id=entry.invoice_id,
        pay_currency=entry.pay_currency,
        pay_to=entry.pay_to,
        reference=p.reference,
        amount=amount_pb(p.amount, entry.pay_currency),
        confirmations=p.confirmations,
        status=PAYMENT_STATUS_PB[p.status],
        flags=p.flags,
        received_at=timestamp(p.received_at),
    )


def refund_pb(refund: Refund, code: str) -> pb.Refund:
    return pb.Refund(
        id=refund.id,
        amount=amount_pb(refund.amount, code),
        reason=refund.reason,
        created_at=timestamp(refund.created_at),
    )


def invoice_pb(record: InvoiceRecord, invoice: Invoice | None = None) -> pb.Invoice:
    """`invoice` (default: the record's) with the record's payment instructions."""
    invoice = invoice or record.invoice
    code = invoice.pay_currency
    decimals = currency(code).exponent
    message = pb.Invoice(
        id=invoice.id,
        reference=invoice.reference,
        status=INVOICE_STATUS_PB[invoice.status],
        price=types.Money(amount_minor=invoice.price.amount_minor, currency=invoice.price.currency),
        pay_currency=code,
        rate=rate_pb(invoice.rate),
        payment_tolerance_bp=invoice.tolerance_bp,
        paid_partial=invoice.paid_partial,
        paid_late=invoice.paid_late,
        paid_over=invoice.paid_over,
        has_flagged_payments=invoice.has_flagged_payments,
        provider=invoice.provider,
        confirmations_required=invoice.confirmations_required,
        expires_at=timestamp(invoice.expires_at),
        created_at=timestamp(invoice.created_at),
        version=invoice.version,
        customer_id=invoice.customer_id,
    )
    # The amounts and payments are written in place: the invoice is in every payments event.
    _set_amount(message.due, invoice.due, code, decimals)
    _set_amount(message.accepted_minimum, invoice.accepted_minimum, code, decimals)
    _set_amount(message.paid, invoice.paid, code, decimals)
    _set_amount(message.refunded, invoice.refunded, code, decimals)
    _set_amount(message.refund_due, invoice.refund_due, code, decimals)
    instructions = message.instructions
    instructions.provider = invoice.provider
    instructions.pay_to = record.pay_to
    _set_amount(instructions.amount, invoice.due, code, decimals)
    instructions.memo = record.memo
    for payment in invoice.payments:
        _set_payment(message.payments.add(), payment, code, decimals)
    message.refunds.extend(refund_pb(r, code) for r in invoice.refunds)
    return message


def invoice_payment_pb(invoice: pb.Invoice) -> pb.InvoicePayment:
    """The public view of `invoice`: what a payment page needs, nothing about who or what for."""
    return pb.InvoicePayment(
        id=invoice.id,
        status=invoice.status,
        price=invoice.price,
        pay_currency=invoice.pay_currency,
        due=invoice.due,
        accepted_minimum=invoice.accepted_minimum,
        paid=invoice.paid,
        confirmations_required=invoice.confirmations_required,
        instructions=invoice.instructions,
        expires_at=invoice.expires_at,
        confirmations=min(
            (p.confirmations for p in invoice.payments if p.status in _COUNTING), default=0
        ),
    )


# Payments that count towards an invoice (unspecified: recorded before statuses existed).
_COUNTING = frozenset({pb.PAYMENT_STATUS_CREDITED, pb.PAYMENT_STATUS_UNSPECIFIED})


def new_invoice(request: pb.CreateInvoiceRequest, default_provider: str) -> NewInvoice:
    return NewInvoice(
        reference=request.reference,
        price=Money(request.price.amount_minor, currency_code(request.price.currency)),
        pay_currency=currency_code(request.pay_currency),
        provider=request.provider.strip() or default_provider,
        expires_in_seconds=(
            request.expires_in_seconds if request.HasField("expires_in_seconds") else None
        ),
        tolerance_bp=(
            request.payment_tolerance_bp if request.HasField("payment_tolerance_bp") else None
        ),
        customer_id=request.customer_id,
    )


def dev_action(value: int) -> DevAction:
    if value not in DEV_ACTIONS:
        raise InvalidArgument.for_field(
            "action", "one of PAY_FULL, PAY_PARTIAL, PAY_OVER, PAY_LATE, DECLINE"
        )
    return DEV_ACTIONS[value]  # type: ignore[index]
