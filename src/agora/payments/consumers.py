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

import uuid

import structlog
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.chain.v1 import events_pb2 as cev
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.payments.v1 import events_pb2 as events
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.payments import store
from agora.payments.domain import (
    InvoiceChange,
    InvoiceRecord,
    ObservedTransfer,
    is_repeated_report,
    receive_transfer,
    record_flagged,
    verification_flags,
    withdraw_payment,
)
from agora.payments.events import (
    PAYMENT_RECEIVED,
    PAYMENT_WITHDRAWN,
    record_invoice_events,
)
from agora.payments.onchain import CHAIN
from agora.payments.translation import invoice_pb
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import decode
from agora.platform.errors import NotFound
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


def _invoice_id(text: str) -> str | None:
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
        reorged = envelope.subject == TRANSFER_REORGED
        transfer = _transfer(envelope)
        invoice_id = _invoice_id(transfer.invoice_id)
        if invoice_id is None or not transfer.reference:
            return  # matched no invoice: the chain service keeps and reports it
        try:
            current = await store.invoice_by_id(session, invoice_id, for_update=True)
        except NotFound:
            return  # another shop's, or an invoice id that never was
        if current.invoice.provider != CHAIN:
            return
        observed = observed_transfer(transfer)
        if reorged:
            await _withdraw(session, current, observed)
        elif observed.amount <= 0:
            log.warning("chain_transfer_without_amount", reference=observed.reference)
        else:
            await _receive(session, current, observed)


def _transfer(envelope: EventEnvelope) -> cpb.Transfer:
    match envelope.subject:
        case "chain.transfer.detected":
            return decode(envelope, cev.TransferDetected).transfer
        case "chain.transfer.confirmed":
            return decode(envelope, cev.TransferConfirmed).transfer
        case _:
            return decode(envelope, cev.TransferReorged).transfer


async def _receive(session: AsyncSession, current: InvoiceRecord, t: ObservedTransfer) -> None:
    if is_repeated_report(current.invoice, t.report()):
        return  # nothing to write or announce (half the events of a burst: measured)
    flags = verification_flags(current, t)
    if flags:
        change = record_flagged(current.invoice, t.report(), flags)
    else:
        change = receive_transfer(current.invoice, t.report())
    message = await _save(session, current, change)
    payment = next(p for p in message.payments if p.reference == t.reference)
    received = events.PaymentReceived(invoice=message, payment=payment)
    await record_invoice_events(session, [(PAYMENT_RECEIVED, received)], change.entered, message)


async def _withdraw(session: AsyncSession, current: InvoiceRecord, t: ObservedTransfer) -> None:
    change = withdraw_payment(current.invoice, t.reference)
    if change is None:
        return  # never credited (unknown or flagged) or withdrawn already
    message = await _save(session, current, change)
    payment = next(p for p in message.payments if p.reference == t.reference)
    withdrawn = events.PaymentWithdrawn(invoice=message, payment=payment)
    await record_invoice_events(session, [(PAYMENT_WITHDRAWN, withdrawn)], change.entered, message)


async def _save(
    session: AsyncSession, current: InvoiceRecord, change: InvoiceChange
) -> ppb.Invoice:
    await store.save_invoice(session, current.invoice, change.invoice)
    return invoice_pb(current, change.invoice)


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
            # One transaction per fetched batch: the per-message transaction cost more than
            # the handler (docs/benchmarks.md, "Event consumers").
            batched=True,
        )
    ]
