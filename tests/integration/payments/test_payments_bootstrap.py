"""Payments as `agora serve payments` runs it: migrations, gRPC, the outbox relay to JetStream
and the invoice-expiry loop, all wired by `bootstrap.run` against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext
from payments_support import TIMEOUT_S, create_invoice, dev_pay, set_rate
from security_support import authorized_channel

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.payments.v1 import events_pb2 as events
from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.payments.bootstrap import run
from agora.payments.settings import PaymentsSettings
from agora.platform.bus import decode
from agora.platform.net import free_port, wait_for_port_async
from agora.platform.settings import PlatformSettings


@pytest.fixture
async def served_payments(database_url: str, nats_url: str) -> AsyncIterator[PaymentsServiceStub]:
    port = free_port()
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, env="test")
    settings = PaymentsSettings(port=port, expiry_interval_s=0.2)
    serving = asyncio.create_task(run(platform, settings))
    await wait_for_port_async(port, timeout_s=30)
    channel = authorized_channel(f"127.0.0.1:{port}")
    yield PaymentsServiceStub(channel)
    await channel.close()
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(serving, 15)
    assert serving.done()


async def _envelope_on_stream(
    js: JetStreamContext, subject: str, aggregate_id: str
) -> EventEnvelope:
    subscription = await js.subscribe(subject, ordered_consumer=True)
    try:
        while True:
            message = await subscription.next_msg(timeout=10)
            envelope = EventEnvelope.FromString(message.data)
            if envelope.aggregate_id == aggregate_id:
                return envelope
    finally:
        await subscription.unsubscribe()


async def test_a_settled_invoice_reaches_jetstream_with_its_order_reference(
    served_payments: PaymentsServiceStub, nats_url: str
) -> None:
    await set_rate(served_payments, "EUR", "USDT", "1.1")
    invoice = await create_invoice(served_payments, reference="order-served-1")
    await dev_pay(served_payments, invoice.id, pb.DEV_PAY_ACTION_PAY_FULL)
    nc = await nats.connect(nats_url)
    try:
        envelope = await _envelope_on_stream(nc.jetstream(), "payments.invoice.settled", invoice.id)
    finally:
        await nc.close()
    assert (envelope.producer, envelope.type) == ("payments", "agora.payments.v1.InvoiceSettled")
    settled = decode(envelope, events.InvoiceSettled)
    assert settled.invoice.reference == "order-served-1"


async def test_an_unpaid_invoice_expires_by_itself(served_payments: PaymentsServiceStub) -> None:
    await set_rate(served_payments, "EUR", "USDT", "1.1")
    invoice = await create_invoice(served_payments, expires_in_seconds=1)
    status = invoice.status
    for _ in range(100):
        found = await served_payments.GetInvoice(
            pb.GetInvoiceRequest(id=invoice.id), timeout=TIMEOUT_S
        )
        status = found.status
        if status == pb.INVOICE_STATUS_EXPIRED:
            break
        await asyncio.sleep(0.1)
    assert status == pb.INVOICE_STATUS_EXPIRED
