"""Payments' chain consumer, a fetched batch at a time: every invoice of the batch locked and
loaded at once, the transfers applied in stream order, all saved and announced at once; a batch
that fails is redone message by message so that a poisoned event fails alone.

Each test has a JetStream stream of its own (the chain's envelopes, published on the test's own
subjects), so that what one batch holds is exactly what the test published."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import nats
import pytest
import sqlalchemy as sa
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from payments_chain_support import (
    CONFIRMED,
    DETECTED,
    OTHER_TOKEN,
    REORGED,
    address,
    chain_invoice,
    publish,
    transfer,
    transfer_event,
    with_confirmations,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.payments.v1 import events_pb2 as events
from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora.payments import store
from agora.payments.consumers import ChainTransfers
from agora.payments.domain import Invoice, InvoiceStatus, PaymentStatus
from agora.platform.bus import DEAD_LETTER_STREAM, dead_letter_subject
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.streams import StreamSpec, ensure_stream
from agora.platform.db import session_factory, transaction

_PAYLOADS = {
    "payments.payment.received": events.PaymentReceived,
    "payments.payment.withdrawn": events.PaymentWithdrawn,
    "payments.invoice.processing": events.InvoiceProcessing,
    "payments.invoice.settled": events.InvoiceSettled,
    "payments.invoice.expired": events.InvoiceExpired,
}


class CountedTransfers(ChainTransfers):
    """Payments' handler, noting which path ran: the batch, or message by message."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.singles = 0

    async def handle_batch(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        self.batches.append(len(envelopes))
        await super().handle_batch(session, envelopes)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        self.singles += 1
        await super().handle(session, envelope)


@dataclass
class Lane:
    """A test's own stream of chain events, and payments' consumer of it."""

    nc: NatsClient
    js: JetStreamContext
    spec: StreamSpec
    engine: AsyncEngine
    durable: str = field(default_factory=lambda: f"payments-chain-{uuid.uuid4().hex[:8]}")

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        prefix = self.spec.subjects[0].removesuffix(">")
        for envelope in envelopes:
            await publish(self.js, envelope, prefix + envelope.subject)

    def consumer(self, handler: ChainTransfers, **options: object) -> EventConsumer:
        """As `payment_consumers` builds it, on this lane's stream."""
        return EventConsumer(
            self.js,
            session_factory(self.engine),
            stream=self.spec.name,
            durable=self.durable,
            filter_subjects=list(self.spec.subjects),
            handler=handler.handle,
            batch_handler=handler.handle_batch,
            batched=True,
            **options,  # type: ignore[arg-type]
        )


@pytest.fixture
async def lane(nats_url: str, payments_engine: AsyncEngine) -> AsyncIterator[Lane]:
    suffix = uuid.uuid4().hex[:10]
    spec = StreamSpec(f"CHAINTEST_{suffix}", [f"chaintest{suffix}.>"], storage="memory")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, spec)
    yield Lane(nc, js, spec, payments_engine)
    await js.delete_stream(spec.name)
    await nc.close()


@dataclass(frozen=True)
class Announced:
    """An outbox event about an invoice, as orders and the bench read it."""

    subject: str
    version: int
    status: int
    paid: str
    payment: tuple[str, int] | None  # the payment's reference and status


async def announced(engine: AsyncEngine, invoice: Invoice) -> list[Announced]:
    async with engine.connect() as connection:
        rows = await connection.execute(sa.text("SELECT payload FROM outbox ORDER BY seq"))
        found = []
        for (payload,) in rows:
            envelope = EventEnvelope.FromString(bytes(payload))
            if envelope.aggregate_id != invoice.id:
                continue
            event = _PAYLOADS[envelope.subject].FromString(envelope.payload)
            payment = event.payment if hasattr(event, "payment") else None
            assert event.invoice.version == envelope.aggregate_version
            found.append(
                Announced(
                    envelope.subject,
                    envelope.aggregate_version,
                    event.invoice.status,
                    event.invoice.paid.base_units,
                    (payment.reference, payment.status) if payment else None,
                )
            )
        return found


async def stored(engine: AsyncEngine, invoice: Invoice) -> Invoice:
    async with engine.connect() as connection:
        return (await store.invoice_by_id(connection, invoice.id)).invoice


async def test_two_transfers_of_one_invoice_in_one_batch_apply_in_stream_order(
    lane: Lane, payments_engine: AsyncEngine
) -> None:
    invoice, deposit = await chain_invoice(payments_engine, required=1)
    half = transfer(invoice, deposit, invoice.due // 2, 1)
    rest = transfer(invoice, deposit, invoice.due - invoice.due // 2, 1)
    await lane.publish([transfer_event(CONFIRMED, half), transfer_event(CONFIRMED, rest)])
    handler = CountedTransfers()

    assert await lane.consumer(handler).consume_once(timeout_s=2.0) == 2

    assert (handler.batches, handler.singles) == ([2], 0)
    after = await stored(payments_engine, invoice)
    assert after.status is InvoiceStatus.SETTLED
    assert after.paid == invoice.due
    assert after.version == invoice.version + 2
    half_paid = str(invoice.due // 2)
    credited = pb.PAYMENT_STATUS_CREDITED
    processing, settled = pb.INVOICE_STATUS_PROCESSING, pb.INVOICE_STATUS_SETTLED
    assert await announced(payments_engine, invoice) == [
        Announced(
            "payments.payment.received", 2, processing, half_paid, (half.reference, credited)
        ),
        Announced("payments.invoice.processing", 2, processing, half_paid, None),
        Announced(
            "payments.payment.received", 3, settled, str(invoice.due), (rest.reference, credited)
        ),
        Announced("payments.invoice.settled", 3, settled, str(invoice.due), None),
    ]


async def test_a_reorg_inside_one_batch_withdraws_the_payment_and_credits_it_again_once(
    lane: Lane, payments_engine: AsyncEngine
) -> None:
    invoice, deposit = await chain_invoice(payments_engine, required=1)
    paid = transfer(invoice, deposit, invoice.due, 1)
    await lane.publish(
        [
            transfer_event(DETECTED, paid),
            transfer_event(CONFIRMED, paid),  # the same report: nothing new
            transfer_event(REORGED, with_confirmations(paid, 0)),
            transfer_event(DETECTED, paid),  # back in a new block
            transfer_event(CONFIRMED, paid),
        ]
    )
    handler = CountedTransfers()

    assert await lane.consumer(handler).consume_once(timeout_s=2.0) == 5

    assert (handler.batches, handler.singles) == ([5], 0)
    after = await stored(payments_engine, invoice)
    assert after.status is InvoiceStatus.SETTLED
    assert after.paid == invoice.due  # credited once
    assert [(p.reference, p.status) for p in after.payments] == [
        (paid.reference, PaymentStatus.CREDITED)
    ]
    assert [
        (a.subject, a.version, a.status) for a in await announced(payments_engine, invoice)
    ] == [
        ("payments.payment.received", 2, pb.INVOICE_STATUS_SETTLED),
        ("payments.invoice.settled", 2, pb.INVOICE_STATUS_SETTLED),
        ("payments.payment.withdrawn", 3, pb.INVOICE_STATUS_NEW),
        ("payments.payment.received", 4, pb.INVOICE_STATUS_SETTLED),
        ("payments.invoice.settled", 4, pb.INVOICE_STATUS_SETTLED),
    ]


async def test_a_poisoned_transfer_fails_alone_and_the_rest_of_its_batch_is_credited(
    lane: Lane, payments_engine: AsyncEngine
) -> None:
    first, first_deposit = await chain_invoice(payments_engine, required=1)
    paid = transfer(first, first_deposit, first.due, 1)
    await lane.publish([transfer_event(CONFIRMED, paid)])
    handler = CountedTransfers()
    consumer = lane.consumer(handler, max_deliver=1)
    assert await consumer.consume_once(timeout_s=2.0) == 1
    others = [await chain_invoice(payments_engine, required=1) for _ in range(2)]
    # The same payment reported with another amount: the domain refuses it, every time.
    poisoned = transfer(first, first_deposit, first.due + 1, 1, tx=paid.tx_hash)
    batch = [
        transfer_event(CONFIRMED, transfer(others[0][0], others[0][1], first.due, 1)),
        transfer_event(CONFIRMED, poisoned),
        transfer_event(CONFIRMED, transfer(others[1][0], others[1][1], first.due, 1)),
    ]
    await lane.publish(batch)

    assert await consumer.consume_once(timeout_s=2.0) == 3

    assert (handler.batches, handler.singles) == ([1, 3], 3)  # the batch, then one by one
    for invoice, _ in others:
        assert (await stored(payments_engine, invoice)).status is InvoiceStatus.SETTLED
        assert len(await announced(payments_engine, invoice)) == 2
    unchanged = await stored(payments_engine, first)
    assert (unchanged.version, unchanged.paid) == (first.version + 1, first.due)
    dead = await lane.js.get_last_msg(
        DEAD_LETTER_STREAM, dead_letter_subject(lane.durable, f"{lane.spec.subjects[0][:-1]}>")
    )
    assert EventEnvelope.FromString(dead.data or b"") == batch[1]
    info = await lane.js.consumer_info(lane.spec.name, lane.durable)
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


async def test_a_batch_delivered_again_changes_nothing(
    lane: Lane, payments_engine: AsyncEngine
) -> None:
    invoices = [await chain_invoice(payments_engine, required=1) for _ in range(3)]
    await lane.publish(
        [transfer_event(CONFIRMED, transfer(i, deposit, i.due, 1)) for i, deposit in invoices]
    )
    handler = CountedTransfers()
    assert await lane.consumer(handler).consume_once(timeout_s=2.0) == 3
    before = [
        (await stored(payments_engine, i), await announced(payments_engine, i)) for i, _ in invoices
    ]
    # Delivered again from the start to the same durable name, as after a crash between the
    # commit and the acks.
    await lane.js.delete_consumer(lane.spec.name, lane.durable)
    again = lane.consumer(handler)

    assert await again.consume_once(timeout_s=2.0) == 3

    assert (handler.batches, handler.singles) == ([3], 0)
    after = [
        (await stored(payments_engine, i), await announced(payments_engine, i)) for i, _ in invoices
    ]
    assert after == before
    assert all(invoice.status is InvoiceStatus.SETTLED for invoice, _ in after)


@dataclass(frozen=True)
class Scenario:
    """Invoices of every kind the consumer meets, and a stream of chain events about them."""

    invoices: dict[str, Invoice]
    envelopes: list[EventEnvelope]


async def _scenario(engine: AsyncEngine) -> Scenario:
    twice, twice_to = await chain_invoice(engine, required=2)
    reorg, reorg_to = await chain_invoice(engine, required=1)
    flagged, flagged_to = await chain_invoice(engine, required=1)
    dev, dev_to = await chain_invoice(engine, required=1, provider="dev")
    half = transfer(twice, twice_to, twice.due // 2, 1)
    rest = transfer(twice, twice_to, twice.due - twice.due // 2, 1)
    back = transfer(reorg, reorg_to, reorg.due, 1)
    unknown = transfer(twice, address(), 5, 1)
    unknown.invoice_id = str(uuid.uuid4())
    events_ = [
        (DETECTED, half),
        (DETECTED, rest),
        (CONFIRMED, back),
        (DETECTED, transfer(flagged, flagged_to, flagged.due, 1, token=OTHER_TOKEN)),
        (CONFIRMED, with_confirmations(half, 2)),
        (DETECTED, unknown),
        (DETECTED, transfer(dev, dev_to, dev.due, 1)),
        (REORGED, with_confirmations(back, 0)),
        (DETECTED, transfer(flagged, flagged_to, 0, 1)),  # no amount: skipped
        (CONFIRMED, with_confirmations(rest, 2)),
        (DETECTED, back),
        (REORGED, with_confirmations(back, 0)),
    ]
    return Scenario(
        {"twice": twice, "reorg": reorg, "flagged": flagged, "dev": dev},
        [transfer_event(subject, t) for subject, t in events_],
    )


async def _outcome(engine: AsyncEngine, scenario: Scenario) -> dict[str, object]:
    outcome: dict[str, object] = {}
    for role, invoice in scenario.invoices.items():
        after = await stored(engine, invoice)
        outcome[role] = (
            after.status,
            after.paid,
            after.version,
            after.has_flagged_payments,
            [(p.amount, p.confirmations, p.status, p.flags) for p in after.payments],
            [(a.subject, a.version, a.status, a.paid) for a in await announced(engine, invoice)],
        )
    return outcome


async def test_a_batch_ends_as_the_same_events_handled_one_by_one(
    payments_engine: AsyncEngine,
) -> None:
    sessions = session_factory(payments_engine)
    handler = ChainTransfers()
    batched, one_by_one = await _scenario(payments_engine), await _scenario(payments_engine)

    async with transaction(sessions) as session:
        await handler.handle_batch(session, batched.envelopes)
    for envelope in one_by_one.envelopes:
        async with transaction(sessions) as session:
            await handler.handle(session, envelope)

    outcome = await _outcome(payments_engine, batched)
    assert outcome == await _outcome(payments_engine, one_by_one)
    twice = batched.invoices["twice"]
    assert outcome["twice"][:3] == (InvoiceStatus.SETTLED, twice.due, twice.version + 4)  # type: ignore[index]
    assert outcome["reorg"][:2] == (InvoiceStatus.NEW, 0)  # type: ignore[index]
    assert outcome["flagged"][:4] == (InvoiceStatus.NEW, 0, 2, True)  # type: ignore[index]
    assert outcome["dev"][2] == 1  # type: ignore[index]


async def test_two_replicas_sharing_the_consumer_credit_every_transfer_once(
    lane: Lane, payments_engine: AsyncEngine
) -> None:
    invoices = [await chain_invoice(payments_engine, required=1) for _ in range(3)]
    amount = 1_000_000  # 20 of them settle an invoice
    transfers = [
        transfer(invoice, deposit, amount, 1) for _ in range(20) for invoice, deposit in invoices
    ]
    await lane.publish([transfer_event(CONFIRMED, t) for t in transfers])
    handlers = [CountedTransfers(), CountedTransfers()]
    # Small batches, so both replicas hold batches naming the same invoices at once.
    replicas = [lane.consumer(handler, batch=8) for handler in handlers]

    async def consume(replica: EventConsumer) -> None:
        while await replica.consume_once(timeout_s=1.0):
            pass

    await asyncio.gather(*(consume(replica) for replica in replicas))

    assert all(handler.batches for handler in handlers)  # both took part
    assert sum(handler.singles for handler in handlers) == 0  # no batch failed (no deadlock)
    for invoice, _ in invoices:
        after = await stored(payments_engine, invoice)
        assert (after.status, after.paid, after.version) == (
            InvoiceStatus.SETTLED,
            20 * amount,
            invoice.version + 20,
        )
        assert len({p.reference for p in after.payments}) == 20
    info = await lane.js.consumer_info(lane.spec.name, lane.durable)
    assert (info.num_pending, info.num_ack_pending) == (0, 0)
