"""Payments' event consumers: on-chain payments from the chain service's CHAIN stream.

`ChainTransfers` follows `chain.transfer.detected | confirmed | reorged` (a durable consumer
with an inbox: each event is handled once, in the transaction that records it). A transfer
naming an invoice of the `chain` provider is checked (`domain.verification_flags`): a clean one
is credited (`receive_transfer`: new, or more confirmations of a known reference), anything else
is kept on the invoice flagged, never credited. A reorged transfer's payment is withdrawn; the
same reference reported again is credited again, once. Transfers naming no invoice of ours are
the chain service's to report (its transfers and reconciliation); they are skipped here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.chain.v1 import events_pb2 as cev
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.payments.v1 import events_pb2 as events
from agora.payments import store
from agora.payments.domain import (
    InvoiceChange,
    InvoiceRecord,
    ObservedTransfer,
    credit_transfer,
    withdraw_payment,
)
from agora.payments.events import (
    PAYMENT_RECEIVED,
    PAYMENT_WITHDRAWN,
    invoice_events,
    record_pending,
)
from agora.payments.onchain import CHAIN
from agora.payments.translation import invoice_pb
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import decode
from agora.platform.bus.outbox import Pending
from agora.platform.rpc.timestamps import datetime_of

log = structlog.get_logger(__name__)

CHAIN_STREAM = "CHAIN"
TRANSFER_DETECTED = "chain.transfer.detected"
TRANSFER_CONFIRMED = "chain.transfer.confirmed"
TRANSFER_REORGED = "chain.transfer.reorged"
CHAIN_TRANSFERS = "payments-chain-transfers"
_MAX_AMOUNT_DIGITS = 78


def observed_transfer(transfer: cpb.Transfer) -> ObservedTransfer:
    """The chain's transfer as payments checks it (an unreadable amount reads as 0)."""
    units = transfer.amount.base_units
    amount = int(units) if units.isdigit() and len(units) <= _MAX_AMOUNT_DIGITS else 0
    return ObservedTransfer(
        reference=transfer.reference,
        chain_id=transfer.chain_id,
        token_address=transfer.token_address,
        symbol=transfer.symbol,
        to_address=transfer.to_address,
        amount=amount,
        confirmations=transfer.confirmations,
        at=datetime_of(transfer.block_time),
        via_router=transfer.kind == cpb.TRANSFER_KIND_ROUTER,
        invoice_id=transfer.invoice_id,
        flags=tuple(transfer.flags),
    )


# How payments writes invoice ids, so the chain reports them: no need to parse (measured).
_CANONICAL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _invoice_id(text: str) -> str | None:
    if _CANONICAL_ID.fullmatch(text):
        return text
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


class ChainTransfers:
    """Credits, flags and withdraws the on-chain payments of `chain` invoices."""

    name = CHAIN_TRANSFERS
    stream = CHAIN_STREAM
    filter_subjects = [TRANSFER_DETECTED, TRANSFER_CONFIRMED, TRANSFER_REORGED]

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        """One event (a batch whose `handle_batch` failed is redone with this, message by
        message, so that a poisoned event fails alone)."""
        await _handle(session, [envelope])

    async def handle_batch(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        """The events of a batch, in stream order, set-based: every invoice they name locked
        and loaded in one statement, each transfer applied in memory in order (several of one
        invoice one after the other, each announced at its own version), then every changed
        invoice saved in one statement and every event recorded in one."""
        await _handle(session, envelopes)


async def _handle(session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
    reported = [found for envelope in envelopes if (found := _reported(envelope)) is not None]
    if not reported:
        return
    loaded = await store.invoices_for_update(session, {r.invoice_id for r in reported})
    # Another shop's invoice, or an id that never was, is not found; others are skipped.
    current = {i: record for i, record in loaded.items() if record.invoice.provider == CHAIN}
    pending: list[Pending] = []
    for r in reported:
        record = current.get(r.invoice_id)
        if record is None:
            continue
        applied = _apply(record, r)
        if applied is None:
            continue
        change, announced = applied
        current[r.invoice_id] = InvoiceRecord(change.invoice, record.pay_to, record.memo)
        pending.extend(announced)
    changes = [(loaded[i].invoice, after.invoice) for i, after in current.items()]
    changes = [(before, after) for before, after in changes if after is not before]
    if changes:
        await store.save_invoices(session, changes)
        await record_pending(session, pending)


@dataclass(frozen=True)
class _Reported:
    """A transfer event naming an invoice."""

    reorged: bool
    invoice_id: str
    transfer: cpb.Transfer


def _reported(envelope: EventEnvelope) -> _Reported | None:
    transfer = _transfer(envelope)
    invoice_id = _invoice_id(transfer.invoice_id)
    if invoice_id is None or not transfer.reference:
        return None  # matched no invoice: the chain service keeps and reports it
    return _Reported(envelope.subject == TRANSFER_REORGED, invoice_id, transfer)


def _transfer(envelope: EventEnvelope) -> cpb.Transfer:
    match envelope.subject:
        case "chain.transfer.detected":
            return decode(envelope, cev.TransferDetected).transfer
        case "chain.transfer.confirmed":
            return decode(envelope, cev.TransferConfirmed).transfer
        case _:
            return decode(envelope, cev.TransferReorged).transfer


def _apply(
    record: InvoiceRecord, reported: _Reported
) -> tuple[InvoiceChange, list[Pending]] | None:
    """The invoice's change and its events (None: nothing to write or announce)."""
    t = observed_transfer(reported.transfer)
    announce: type[events.PaymentReceived | events.PaymentWithdrawn]
    if reported.reorged:
        # None: never credited (unknown or flagged) or withdrawn already.
        change = withdraw_payment(record.invoice, t.reference)
        subject, announce = PAYMENT_WITHDRAWN, events.PaymentWithdrawn
    elif t.amount <= 0:
        log.warning("chain_transfer_without_amount", reference=t.reference)
        return None
    else:
        # None: a repeated report (half the events of a burst: measured).
        change = credit_transfer(record, t)
        subject, announce = PAYMENT_RECEIVED, events.PaymentReceived
    if change is None:
        return None
    message = invoice_pb(record, change.invoice)
    payment = next(p for p in message.payments if p.reference == t.reference)
    first = (subject, announce(invoice=message, payment=payment))
    return change, invoice_events([first], change.entered, message)


def payment_consumers(
    js: JetStreamContext, sessions: async_sessionmaker[AsyncSession]
) -> list[EventConsumer]:
    """The durable consumers payments runs: the chain's transfers (waited for until the chain
    service has created its CHAIN stream)."""
    handler = ChainTransfers()
    return [
        EventConsumer(
            js,
            sessions,
            stream=handler.stream,
            durable=handler.name,
            filter_subjects=handler.filter_subjects,
            handler=handler.handle,
            batch_handler=handler.handle_batch,
            # One transaction and a few set-based statements per fetched batch: per message,
            # the transaction and the statements cost more than the domain's work.
            batched=True,
            # A block's transfers in as few transactions as they arrive in (each transfer is
            # two events); 256 cost ~10% less CPU per transfer than 64 (measured).
            batch=256,
        )
    ]
