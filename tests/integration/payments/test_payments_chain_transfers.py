"""On-chain payments end to end: the chain service's `chain.transfer.*` events, published to
JetStream exactly as its outbox relay does (an EventEnvelope, `Nats-Msg-Id` = event id), consumed
by payments' durable consumer into PostgreSQL; invoices read back over gRPC."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from fractions import Fraction

import nats
import pytest
from google.protobuf.message import Message
from nats.js import JetStreamContext
from payments_support import TIMEOUT_S, outbox_subjects
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.chain.v1 import events_pb2 as cev
from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.payments import store
from agora.payments.consumers import CHAIN_STREAM, payment_consumers
from agora.payments.conversion import Rate
from agora.payments.domain import Invoice, InvoicePolicy, NewInvoice, open_invoice
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.relay import MSG_ID
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.db import session_factory, transaction
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.money import Money
from agora.platform.rpc.timestamps import timestamp

CHAIN_ID = 31337
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER_TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
ROUTER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"


@pytest.fixture(scope="module")
async def chain_js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """JetStream with the CHAIN stream, as the chain service creates it."""
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    await ensure_stream(js, producer_stream("chain"))
    yield js
    await connection.close()


@pytest.fixture(scope="module")
def consumer(chain_js: JetStreamContext, payments_engine: AsyncEngine) -> EventConsumer:
    """Payments' consumer of the chain's transfers, as `bootstrap.compose` builds it with the
    chain provider enabled."""
    [found] = payment_consumers(chain_js, session_factory(payments_engine))
    assert found.stream == CHAIN_STREAM
    return found


def _address() -> str:
    return "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8]


async def _chain_invoice(engine: AsyncEngine, *, required: int = 3) -> tuple[Invoice, str]:
    """A `chain` invoice as CreateInvoice stores it after the chain service's answer (20.00 EUR
    at 1 EUR = 1 USDT), payable to a deposit address of its own."""
    now = utcnow()
    invoice = open_invoice(
        NewInvoice(f"order-{uuid.uuid4().hex[:8]}", Money(2000, "EUR"), "USDT", "chain"),
        invoice_id=str(uuid.uuid4()),
        rate=Rate("EUR", "USDT", Fraction(1), "staff", now),
        confirmations_required=required,
        policy=InvoicePolicy(),
        now=now,
    )
    assert invoice.due == 20_000_000  # 20 USDT in base units (6 decimals)
    invoice = replace(invoice, chain_id=CHAIN_ID, token_address=TOKEN, router_address=ROUTER)
    deposit = _address()
    async with transaction(session_factory(engine)) as session:
        await store.insert_invoice(session, invoice, pay_to=deposit, memo=f"ethereum:{TOKEN}")
    return invoice, deposit


def _transfer(
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
    transfer = cpb.Transfer(
        chain_id=chain_id,
        tx_hash=tx_hash,
        log_index=0,
        block_number=100,
        block_hash="0x" + "ab" * 32,
        kind=cpb.TRANSFER_KIND_ROUTER if router else cpb.TRANSFER_KIND_DEPOSIT,
        token_address=token,
        symbol=symbol,
        from_address=_address(),
        to_address=ROUTER if router else to,
        amount=CryptoAmount(base_units=str(amount), asset=symbol, decimals=6),
        invoice_id=invoice.id,
        confirmations=confirmations,
        confirmations_required=3,
        flags=list(flags),
        reference=f"{chain_id}:{tx_hash}:0",
    )
    transfer.block_time.CopyFrom(timestamp(utcnow()))
    return transfer


async def _publish(js: JetStreamContext, subject: str, event: Message, reference: str) -> str:
    envelope = new_envelope(producer="chain", subject=subject, event=event, aggregate_id=reference)
    await js.publish(subject, envelope.SerializeToString(), headers={MSG_ID: envelope.event_id})
    return envelope.event_id


async def detected(js: JetStreamContext, t: cpb.Transfer) -> None:
    await _publish(js, "chain.transfer.detected", cev.TransferDetected(transfer=t), t.reference)


async def confirmed(js: JetStreamContext, t: cpb.Transfer) -> None:
    await _publish(js, "chain.transfer.confirmed", cev.TransferConfirmed(transfer=t), t.reference)


async def reorged(js: JetStreamContext, t: cpb.Transfer) -> None:
    await _publish(js, "chain.transfer.reorged", cev.TransferReorged(transfer=t), t.reference)


async def drain(consumer: EventConsumer) -> None:
    while await consumer.consume_once(timeout_s=0.5):
        pass


async def read(payments: PaymentsServiceStub, invoice: Invoice) -> pb.Invoice:
    return await payments.GetInvoice(pb.GetInvoiceRequest(id=invoice.id), timeout=TIMEOUT_S)


def _statuses(found: pb.Invoice) -> list[tuple[str, int]]:
    return [(p.reference.split(":")[1][:10], p.status) for p in found.payments]


async def test_a_transfer_is_processing_when_seen_and_settles_at_its_confirmations(
    payments_engine: AsyncEngine,
    payments: PaymentsServiceStub,
    chain_js: JetStreamContext,
    consumer: EventConsumer,
) -> None:
    invoice, deposit = await _chain_invoice(payments_engine)
    seen = _transfer(invoice, deposit, invoice.due, 1)
    await detected(chain_js, seen)
    await drain(consumer)
    assert (await read(payments, invoice)).status == pb.INVOICE_STATUS_PROCESSING

    done = cpb.Transfer()
    done.CopyFrom(seen)
    done.confirmations = 3
    done.status = cpb.TRANSFER_STATUS_CONFIRMED
    await confirmed(chain_js, done)
    await drain(consumer)
    found = await read(payments, invoice)
    assert found.status == pb.INVOICE_STATUS_SETTLED
    assert found.paid.base_units == str(invoice.due)
    assert [(p.reference, p.confirmations) for p in found.payments] == [(seen.reference, 3)]
    subjects = await outbox_subjects(payments_engine, invoice.id)
    assert "payments.invoice.processing" in subjects
    assert subjects[-1] == "payments.invoice.settled"


async def test_a_transfer_first_announced_confirmed_settles_the_invoice_once(
    payments_engine: AsyncEngine,
    payments: PaymentsServiceStub,
    chain_js: JetStreamContext,
    consumer: EventConsumer,
) -> None:
    # The chain service announces a transfer that already has its confirmations when first
    # seen with chain.transfer.confirmed alone (no chain.transfer.detected before it).
    invoice, deposit = await _chain_invoice(payments_engine)
    done = _transfer(invoice, deposit, invoice.due, 3)
    done.status = cpb.TRANSFER_STATUS_CONFIRMED
    await confirmed(chain_js, done)
    await drain(consumer)
    found = await read(payments, invoice)
    assert found.status == pb.INVOICE_STATUS_SETTLED
    assert found.paid.base_units == str(invoice.due)
    assert [(p.reference, p.confirmations) for p in found.payments] == [(done.reference, 3)]


async def test_a_reorged_payment_is_withdrawn_and_credited_once_when_it_reappears(
    payments_engine: AsyncEngine,
    payments: PaymentsServiceStub,
    chain_js: JetStreamContext,
    consumer: EventConsumer,
) -> None:
    invoice, deposit = await _chain_invoice(payments_engine)
    first = _transfer(invoice, deposit, invoice.due // 2, 3)
    second = _transfer(invoice, deposit, invoice.due - invoice.due // 2, 3)
    await confirmed(chain_js, first)
    await confirmed(chain_js, second)
    await drain(consumer)
    assert (await read(payments, invoice)).status == pb.INVOICE_STATUS_SETTLED

    await reorged(chain_js, second)
    await drain(consumer)
    found = await read(payments, invoice)
    assert found.status == pb.INVOICE_STATUS_PROCESSING
    assert found.paid.base_units == str(invoice.due // 2)
    statuses = {p.reference: p.status for p in found.payments}
    assert statuses == {
        first.reference: pb.PAYMENT_STATUS_CREDITED,
        second.reference: pb.PAYMENT_STATUS_WITHDRAWN,
    }
    assert "payments.payment.withdrawn" in await outbox_subjects(payments_engine, invoice.id)

    # Back in a new block: detected, then confirmed, the confirmed event even twice.
    again = cpb.Transfer()
    again.CopyFrom(second)
    again.confirmations = 1
    await detected(chain_js, again)
    again.confirmations = 3
    await confirmed(chain_js, again)
    await confirmed(chain_js, again)
    await drain(consumer)
    found = await read(payments, invoice)
    assert found.status == pb.INVOICE_STATUS_SETTLED
    assert found.paid.base_units == str(invoice.due)  # credited once
    assert len(found.payments) == 2
    assert found.refund_due.base_units == "0"


async def test_the_only_payment_reorged_leaves_the_invoice_new(
    payments_engine: AsyncEngine,
    payments: PaymentsServiceStub,
    chain_js: JetStreamContext,
    consumer: EventConsumer,
) -> None:
    invoice, deposit = await _chain_invoice(payments_engine)
    paid = _transfer(invoice, deposit, invoice.due, 3)
    await confirmed(chain_js, paid)
    await drain(consumer)
    await reorged(chain_js, paid)
    await reorged(chain_js, paid)  # a second report withdraws nothing more
    await drain(consumer)
    found = await read(payments, invoice)
    assert found.status == pb.INVOICE_STATUS_NEW
    assert found.paid.base_units == "0"
    assert [p.status for p in found.payments] == [pb.PAYMENT_STATUS_WITHDRAWN]


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"token": OTHER_TOKEN}, "WRONG_TOKEN"),
        ({"symbol": "AGT"}, "WRONG_TOKEN"),
        ({"chain_id": 1}, "WRONG_CHAIN"),
        ({"flags": ("BELOW_DUST",)}, "BELOW_DUST"),
    ],
)
async def test_a_transfer_failing_verification_is_kept_flagged_and_never_credited(
    payments_engine: AsyncEngine,
    payments: PaymentsServiceStub,
    chain_js: JetStreamContext,
    consumer: EventConsumer,
    changes: dict[str, object],
    flag: str,
) -> None:
    invoice, deposit = await _chain_invoice(payments_engine)
    await confirmed(chain_js, _transfer(invoice, deposit, invoice.due, 3, **changes))  # type: ignore[arg-type]
    await drain(consumer)
    found = await read(payments, invoice)
    assert found.status == pb.INVOICE_STATUS_NEW
    assert found.paid.base_units == "0"
    assert found.has_flagged_payments
    [payment] = found.payments
    assert payment.status == pb.PAYMENT_STATUS_FLAGGED
    assert flag in payment.flags


async def test_a_transfer_to_another_address_is_flagged_but_a_router_payment_naming_it_counts(
    payments_engine: AsyncEngine,
    payments: PaymentsServiceStub,
    chain_js: JetStreamContext,
    consumer: EventConsumer,
) -> None:
    invoice, _ = await _chain_invoice(payments_engine)
    await confirmed(chain_js, _transfer(invoice, _address(), invoice.due, 3))
    await confirmed(chain_js, _transfer(invoice, "", invoice.due, 3, router=True))
    await drain(consumer)
    found = await read(payments, invoice)
    assert found.status == pb.INVOICE_STATUS_SETTLED
    assert sorted((p.status, tuple(p.flags)) for p in found.payments) == [
        (pb.PAYMENT_STATUS_CREDITED, ()),
        (pb.PAYMENT_STATUS_FLAGGED, ("WRONG_RECIPIENT",)),
    ]


async def test_money_sent_to_a_settled_invoice_is_kept_and_due_for_refund(
    payments_engine: AsyncEngine,
    payments: PaymentsServiceStub,
    chain_js: JetStreamContext,
    consumer: EventConsumer,
) -> None:
    invoice, deposit = await _chain_invoice(payments_engine)
    await confirmed(chain_js, _transfer(invoice, deposit, invoice.due, 3))
    await drain(consumer)
    await confirmed(chain_js, _transfer(invoice, deposit, 1_500_000, 3))
    await drain(consumer)
    found = await read(payments, invoice)
    assert found.status == pb.INVOICE_STATUS_SETTLED
    assert found.paid_over
    assert found.refund_due.base_units == "1500000"


@pytest.mark.parametrize("open_ended", [False, True])
async def test_the_crypto_ledger_lists_payments_of_a_window_page_by_page(
    payments_engine: AsyncEngine,
    payments: PaymentsServiceStub,
    chain_js: JetStreamContext,
    consumer: EventConsumer,
    open_ended: bool,
) -> None:
    since = utcnow() - timedelta(seconds=1)
    invoice, deposit = await _chain_invoice(payments_engine)
    credited = _transfer(invoice, deposit, invoice.due // 2, 3)
    flagged = _transfer(invoice, deposit, 5, 3, flags=("BELOW_DUST",))
    withdrawn = _transfer(invoice, deposit, 7, 3)
    for t in (credited, flagged, withdrawn):
        await confirmed(chain_js, t)
    await reorged(chain_js, withdrawn)
    await drain(consumer)
    until = utcnow() + timedelta(seconds=1)

    seen: dict[str, pb.CryptoPayment] = {}
    token = ""
    pages = 0
    while True:
        request = pb.ListCryptoPaymentsRequest(page_size=1, page_token=token)
        request.since.CopyFrom(timestamp(since))
        if not open_ended:  # else the window ends at each page's now
            request.until.CopyFrom(timestamp(until))
        page = await payments.ListCryptoPayments(request, timeout=TIMEOUT_S)
        pages += 1
        seen.update({p.reference: p for p in page.payments if p.invoice_id == invoice.id})
        token = page.next_page_token
        if not token:
            break
    assert pages >= 3
    assert {r: (p.status, p.amount.base_units, p.pay_to) for r, p in seen.items()} == {
        credited.reference: (pb.PAYMENT_STATUS_CREDITED, str(invoice.due // 2), deposit),
        flagged.reference: (pb.PAYMENT_STATUS_FLAGGED, "5", deposit),
        withdrawn.reference: (pb.PAYMENT_STATUS_WITHDRAWN, "7", deposit),
    }
