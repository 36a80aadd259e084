"""Payments' events: their subjects, and recording them in the outbox of the caller's
transaction (the relay publishes them after commit). Aggregate: the invoice, at its version."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.payments.v1 import events_pb2 as events
from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora.payments.domain import InvoiceStatus
from agora.platform.bus.outbox import Pending, Producer, record_events

PRODUCER = "payments"

INVOICE_CREATED = "payments.invoice.created"
INVOICE_PROCESSING = "payments.invoice.processing"
INVOICE_SETTLED = "payments.invoice.settled"
INVOICE_EXPIRED = "payments.invoice.expired"
INVOICE_INVALID = "payments.invoice.invalid"
INVOICE_REFUNDED = "payments.invoice.refunded"
PAYMENT_RECEIVED = "payments.payment.received"
PAYMENT_DECLINED = "payments.payment.declined"
PAYMENT_WITHDRAWN = "payments.payment.withdrawn"
RATE_CHANGED = "payments.rate.changed"


# Puts an event in the outbox, in the transaction of the change it announces.
record = Producer(PRODUCER).record


async def record_invoice_event(
    session: AsyncSession, subject: str, event: Message, invoice: pb.Invoice
) -> None:
    """Put `event` about `invoice` in the outbox, at the version `invoice` shows."""
    await record(session, subject, event, aggregate_id=invoice.id, version=invoice.version)


async def record_statuses_entered(
    session: AsyncSession, entered: Iterable[InvoiceStatus], invoice: pb.Invoice
) -> None:
    """The events announcing that `invoice` entered each status of `entered`, in order."""
    await record_invoice_events(session, [], entered, invoice)


async def record_invoice_events(
    session: AsyncSession,
    first: Iterable[tuple[str, Message]],
    entered: Iterable[InvoiceStatus],
    invoice: pb.Invoice,
) -> None:
    """`first` (subject, event) about `invoice`, then the events of the statuses it entered, in
    that order, in one statement (a payment and its status change: the record-payment hot path)."""
    recorded = invoice_events(first, entered, invoice)
    if len(recorded) == 1:
        [pending] = recorded
        await record_invoice_event(session, pending.subject, pending.event, invoice)
        return
    await record_pending(session, recorded)


def invoice_events(
    first: Iterable[tuple[str, Message]],
    entered: Iterable[InvoiceStatus],
    invoice: pb.Invoice,
) -> list[Pending]:
    """The events `record_invoice_events` records, for a caller that records the events of
    many changes in one statement (`record_pending`)."""
    recorded = [*first]
    recorded.extend(e for status in entered if (e := _status_entered(status, invoice)) is not None)
    return [Pending(subject, event, invoice.id, invoice.version) for subject, event in recorded]


async def record_pending(session: AsyncSession, pending: Sequence[Pending]) -> None:
    """Put `pending` events in the outbox, in that order, in one statement."""
    await record_events(session, producer=PRODUCER, events=pending)


def _status_entered(status: InvoiceStatus, invoice: pb.Invoice) -> tuple[str, Message] | None:
    """The event announcing that `invoice` entered `status` (none for `new`)."""
    match status:
        case InvoiceStatus.NEW:
            return None
        case InvoiceStatus.PROCESSING:
            return INVOICE_PROCESSING, events.InvoiceProcessing(invoice=invoice)
        case InvoiceStatus.SETTLED:
            return INVOICE_SETTLED, events.InvoiceSettled(invoice=invoice)
        case InvoiceStatus.EXPIRED:
            return INVOICE_EXPIRED, events.InvoiceExpired(invoice=invoice)
        case InvoiceStatus.INVALID:
            return INVOICE_INVALID, events.InvoiceInvalid(invoice=invoice)
