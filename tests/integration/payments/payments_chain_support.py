"""Factories for the on-chain payment tests: `chain` invoices stored as CreateInvoice stores them,
the chain service's transfers, and their events published to JetStream exactly as its outbox
relay does (an EventEnvelope, `Nats-Msg-Id` = event id)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from fractions import Fraction

from google.protobuf.message import Message
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.chain.v1 import events_pb2 as cev
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.payments import store
from agora.payments.conversion import Rate
from agora.payments.domain import Invoice, InvoicePolicy, NewInvoice, open_invoice
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.relay import MSG_ID
from agora.platform.db import session_factory, transaction
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.money import Money
from agora.platform.rpc.timestamps import timestamp

CHAIN_ID = 31337
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER_TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
ROUTER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
DETECTED = "chain.transfer.detected"
CONFIRMED = "chain.transfer.confirmed"
REORGED = "chain.transfer.reorged"
_EVENTS: dict[str, type[cev.TransferDetected | cev.TransferConfirmed | cev.TransferReorged]] = {
    DETECTED: cev.TransferDetected,
    CONFIRMED: cev.TransferConfirmed,
    REORGED: cev.TransferReorged,
}


def address() -> str:
    return "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8]


async def chain_invoice(
    engine: AsyncEngine, *, required: int = 3, provider: str = "chain"
) -> tuple[Invoice, str]:
    """A `chain` invoice as CreateInvoice stores it after the chain service's answer (20.00 EUR
    at 1 EUR = 1 USDT), payable to a deposit address of its own."""
    now = utcnow()
    invoice = open_invoice(
        NewInvoice(f"order-{uuid.uuid4().hex[:8]}", Money(2000, "EUR"), "USDT", provider),
        invoice_id=str(uuid.uuid4()),
        rate=Rate("EUR", "USDT", Fraction(1), "staff", now),
        confirmations_required=required,
        policy=InvoicePolicy(),
        now=now,
    )
    assert invoice.due == 20_000_000  # 20 USDT in base units (6 decimals)
    invoice = replace(invoice, chain_id=CHAIN_ID, token_address=TOKEN, router_address=ROUTER)
    deposit = address()
    async with transaction(session_factory(engine)) as session:
        await store.insert_invoice(session, invoice, pay_to=deposit, memo=f"ethereum:{TOKEN}")
    return invoice, deposit


def transfer(
    invoice: Invoice,
    to: str,
    amount: int,
    confirmations: int,
    *,
    tx: str | None = None,
    token: str = TOKEN,
    symbol: str = "USDT",
    chain_id: int = CHAIN_ID,
    flags: tuple[str, ...] = (),
    router: bool = False,
) -> cpb.Transfer:
    tx_hash = tx or "0x" + uuid.uuid4().hex * 2
    found = cpb.Transfer(
        chain_id=chain_id,
        tx_hash=tx_hash,
        log_index=0,
        block_number=100,
        block_hash="0x" + "ab" * 32,
        kind=cpb.TRANSFER_KIND_ROUTER if router else cpb.TRANSFER_KIND_DEPOSIT,
        token_address=token,
        symbol=symbol,
        from_address=address(),
        to_address=ROUTER if router else to,
        amount=CryptoAmount(base_units=str(amount), asset=symbol, decimals=6),
        invoice_id=invoice.id,
        confirmations=confirmations,
        confirmations_required=3,
        flags=list(flags),
        reference=f"{chain_id}:{tx_hash}:0",
    )
    found.block_time.CopyFrom(timestamp(utcnow()))
    return found


def with_confirmations(t: cpb.Transfer, confirmations: int) -> cpb.Transfer:
    """`t` reported again with `confirmations`."""
    again = cpb.Transfer()
    again.CopyFrom(t)
    again.confirmations = confirmations
    return again


def transfer_event(subject: str, t: cpb.Transfer) -> EventEnvelope:
    """The chain service's event `subject` about `t`, in its envelope."""
    event: Message = _EVENTS[subject](transfer=t)
    return new_envelope(producer="chain", subject=subject, event=event, aggregate_id=t.reference)


async def publish(
    js: JetStreamContext, envelope: EventEnvelope, nats_subject: str | None = None
) -> None:
    """`envelope` on JetStream as the chain's relay publishes it (on `nats_subject`, a test's
    own stream, when given)."""
    await js.publish(
        nats_subject or envelope.subject,
        envelope.SerializeToString(),
        headers={MSG_ID: envelope.event_id},
    )


async def detected(js: JetStreamContext, t: cpb.Transfer) -> None:
    await publish(js, transfer_event(DETECTED, t))


async def confirmed(js: JetStreamContext, t: cpb.Transfer) -> None:
    await publish(js, transfer_event(CONFIRMED, t))


async def reorged(js: JetStreamContext, t: cpb.Transfer) -> None:
    await publish(js, transfer_event(REORGED, t))


async def drain(consumer: EventConsumer) -> None:
    while await consumer.consume_once(timeout_s=0.5):
        pass
