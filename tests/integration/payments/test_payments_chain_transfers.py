"""On-chain payments end to end: the chain service's `chain.transfer.*` events, published to
JetStream exactly as its outbox relay does (an EventEnvelope, `Nats-Msg-Id` = event id), consumed
by payments' durable consumer into PostgreSQL; invoices read back over gRPC."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import nats
import pytest
from nats.js import JetStreamContext
from payments_chain_support import (
    OTHER_TOKEN,
    address,
    chain_invoice,
    confirmed,
    detected,
    drain,
    reorged,
    transfer,
)
from payments_support import TIMEOUT_S, outbox_subjects
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.payments.consumers import CHAIN_STREAM, payment_consumers
from agora.payments.domain import Invoice
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.db import session_factory
from agora.platform.kernel.clock import utcnow
from agora.platform.rpc.timestamps import timestamp


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
    invoice, deposit = await chain_invoice(payments_engine)
    seen = transfer(invoice, deposit, invoice.due, 1)
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
    invoice, deposit = await chain_invoice(payments_engine)
    done = transfer(invoice, deposit, invoice.due, 3)
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
    invoice, deposit = await chain_invoice(payments_engine)
    first = transfer(invoice, deposit, invoice.due // 2, 3)
    second = transfer(invoice, deposit, invoice.due - invoice.due // 2, 3)
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
    invoice, deposit = await chain_invoice(payments_engine)
    paid = transfer(invoice, deposit, invoice.due, 3)
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
    invoice, deposit = await chain_invoice(payments_engine)
    await confirmed(chain_js, transfer(invoice, deposit, invoice.due, 3, **changes))  # type: ignore[arg-type]
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
    invoice, _ = await chain_invoice(payments_engine)
    await confirmed(chain_js, transfer(invoice, address(), invoice.due, 3))
    await confirmed(chain_js, transfer(invoice, "", invoice.due, 3, router=True))
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
    invoice, deposit = await chain_invoice(payments_engine)
    await confirmed(chain_js, transfer(invoice, deposit, invoice.due, 3))
    await drain(consumer)
    await confirmed(chain_js, transfer(invoice, deposit, 1_500_000, 3))
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
    invoice, deposit = await chain_invoice(payments_engine)
    credited = transfer(invoice, deposit, invoice.due // 2, 3)
    flagged = transfer(invoice, deposit, 5, 3, flags=("BELOW_DUST",))
    withdrawn = transfer(invoice, deposit, 7, 3)
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
