"""Events/s of payments' `payments-chain-transfers` consumer (docs/benchmarks.md, "Event
consumers"): `chain` invoices in payments' schema, `chain.transfer.*` events published to the
CHAIN stream as the chain service's relay publishes them, then the consumer drains them.

    .venv/bin/python tools/bench_event_consumers.py [--invoices 1000] [--confirmed-only]
        [--per-message] [--profile out.prof] [--all]

`--all` runs the four cases (per-message and batched; detected + confirmed, confirmed only).

Starts the embedded PostgreSQL and NATS in a temporary directory unless AGORA_TEST_DATABASE_URL
and AGORA_TEST_NATS_URL name running ones. Detected + confirmed: two events per invoice (the
first credits the payment, the second adds confirmations and settles it).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import tempfile
import time
import uuid
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import nats

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.chain.v1 import events_pb2 as cev
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.payments import store
from agora.payments.consumers import (
    CHAIN_STREAM,
    TRANSFER_CONFIRMED,
    TRANSFER_DETECTED,
    ChainTransfers,
)
from agora.payments.conversion import Rate
from agora.payments.domain import InvoicePolicy, NewInvoice, open_invoice
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.relay import MSG_ID
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.db import create_engine, session_factory, transaction
from agora.platform.embedded.infra import embedded_infra
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.money import Money
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.timestamps import timestamp
from agora.platform.settings import to_asyncpg_url

CHAIN_ID = 31337
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ROUTER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"


async def bench(database_url: str, nats_url: str, args: argparse.Namespace) -> None:
    base = to_asyncpg_url(database_url)
    url = f"{base.rpartition('/')[0]}/agora_bench_{uuid.uuid4().hex[:8]}"
    await migrate("payments", url)
    engine = create_engine(url, "payments", pool_size=4)
    sessions = session_factory(engine)
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    await ensure_stream(js, producer_stream("chain"))
    await js.purge_stream(CHAIN_STREAM)

    now = utcnow()
    published = 0
    for n in range(args.invoices):
        invoice = open_invoice(
            NewInvoice(f"order-{n}", Money(2000, "EUR"), "USDT", "chain"),
            invoice_id=str(uuid.uuid4()),
            rate=Rate("EUR", "USDT", Fraction(1), "staff", now),
            confirmations_required=3,
            policy=InvoicePolicy(),
            now=now,
        )
        invoice = replace(invoice, chain_id=CHAIN_ID, token_address=TOKEN, router_address=ROUTER)
        deposit = "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
        async with transaction(sessions) as session:
            await store.insert_invoice(session, invoice, pay_to=deposit, memo="")
        tx = "0x" + uuid.uuid4().hex * 2
        stages = [(TRANSFER_CONFIRMED, 3)]
        if not args.confirmed_only:
            stages.insert(0, (TRANSFER_DETECTED, 1))
        for subject, confirmations in stages:
            transfer = cpb.Transfer(
                chain_id=CHAIN_ID,
                tx_hash=tx,
                block_number=100,
                block_hash="0x" + "ab" * 32,
                kind=cpb.TRANSFER_KIND_DEPOSIT,
                token_address=TOKEN,
                symbol="USDT",
                from_address=deposit,
                to_address=deposit,
                amount=CryptoAmount(base_units=str(invoice.due), asset="USDT", decimals=6),
                invoice_id=invoice.id,
                confirmations=confirmations,
                confirmations_required=3,
                reference=f"{CHAIN_ID}:{tx}:0",
            )
            transfer.block_time.CopyFrom(timestamp(now))
            event = (
                cev.TransferDetected(transfer=transfer)
                if subject == TRANSFER_DETECTED
                else cev.TransferConfirmed(transfer=transfer)
            )
            envelope = new_envelope(
                producer="chain", subject=subject, event=event, aggregate_id=transfer.reference
            )
            await js.publish(
                subject, envelope.SerializeToString(), headers={MSG_ID: envelope.event_id}
            )
            published += 1

    handler = ChainTransfers()
    # Passed only when set, so the script also measures a checkout from before batching
    # (PYTHONPATH=<its src>).
    options: dict[str, Any] = {} if args.per_message else {"batched": True}
    consumer = EventConsumer(
        js,
        sessions,
        stream=handler.stream,
        durable=f"bench-{uuid.uuid4().hex[:6]}",
        filter_subjects=handler.filter_subjects,
        handler=handler.handle,
        **options,
    )
    await consumer.ensure()
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    handled = 0
    while handled < published:
        handled += await consumer.consume_once(timeout_s=2.0)
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    mode = "per-message" if args.per_message else "batched"
    kind = "confirmed only" if args.confirmed_only else "detected + confirmed"
    print(f"{mode}, {kind}: {published} events in {elapsed:.2f} s = {published / elapsed:.0f}/s")
    await connection.close()
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--confirmed-only", action="store_true")
    parser.add_argument("--per-message", action="store_true")
    parser.add_argument("--profile")
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    database_url = os.environ.get("AGORA_TEST_DATABASE_URL")
    nats_url = os.environ.get("AGORA_TEST_NATS_URL")
    cases = [args]
    if args.all:
        cases = [
            argparse.Namespace(**{**vars(args), "per_message": p, "confirmed_only": c})
            for p in (True, False)
            for c in (False, True)
        ]
    if database_url and nats_url:
        for case in cases:
            asyncio.run(bench(database_url, nats_url, case))
        return
    with (
        tempfile.TemporaryDirectory() as data_dir,
        embedded_infra(Path(data_dir), free_port(), free_port()) as infra,
    ):
        for case in cases:
            asyncio.run(bench(infra.database_url, infra.nats_url, case))


if __name__ == "__main__":
    main()
