"""A shop for reconciliation tests: a chain bed (anvil, contracts, the chain servicer and a
watcher), the chain service served with its rules, payments served for real with the `chain`
provider (invoices get deposit addresses from the chain service; its consumer credits the
chain's transfer events), and a Reconciler reading payments' ledger over gRPC as `service:chain`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from chain_watch_support import Bed, chain_bed
from nats.js import JetStreamContext
from security_support import (
    SecurityFiles,
    authorization_interceptor,
    authorized_channel,
    service_identity,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.chain.clients import Payments
from agora.chain.reconciliation import Reconciler
from agora.payments.bootstrap import compose as compose_payments
from agora.payments.settings import PaymentsSettings
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.relay import OutboxRelay
from agora.platform.db import create_engine
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.discovery import Resolver
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends
from agora.platform.settings import PlatformSettings

TIMEOUT_S = 10.0


@dataclass
class Shop:
    bed: Bed
    payments: PaymentsServiceStub  # an admin's
    consumer: EventConsumer  # payments' consumer of the chain's transfers
    reconciler: Reconciler
    chain_address: str
    js: JetStreamContext

    async def invoice(self, euros: int = 5) -> ppb.Invoice:
        """A USDT invoice of the chain provider (1 EUR = 1 USDT): `euros` USDT due."""
        request = ppb.CreateInvoiceRequest(
            idempotency_key=str(uuid.uuid4()),
            reference=f"order-{uuid.uuid4().hex[:10]}",
            price=Money(amount_minor=euros * 100, currency="EUR"),
            pay_currency="USDT",
            provider="chain",
            expires_in_seconds=3600,
        )
        return await self.payments.CreateInvoice(request, timeout=TIMEOUT_S)

    async def credit(self) -> None:
        """The watcher catches up, the chain's outbox is published, payments consumes it."""
        watcher = self.bed.watcher()
        try:
            await watcher.catch_up()
        finally:
            await watcher.close()
        await OutboxRelay(self.bed.engine, self.js, schema="chain").publish_all_pending()
        while await self.consumer.consume_once(timeout_s=0.5):
            pass

    async def paid(self, invoice_id: str) -> str:
        found = await self.payments.GetInvoice(
            ppb.GetInvoiceRequest(id=invoice_id), timeout=TIMEOUT_S
        )
        return found.paid.base_units


@asynccontextmanager
async def reconcile_shop(
    tmp_path: Path,
    chain_engine: AsyncEngine,
    js: JetStreamContext,
    *,
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
    **overrides: Any,
) -> AsyncIterator[Shop]:
    async with chain_bed(tmp_path, chain_engine, js, **overrides) as bed:
        chain_server = GrpcServer(
            "chain",
            "127.0.0.1",
            free_port(),
            authorization=authorization_interceptor(security_files),
        )
        chain_server.add(chain_pb2_grpc.add_ChainServiceServicer_to_server, bed.service)
        await chain_server.start()
        await migrate("payments", database_url)
        payments_engine = create_engine(database_url, "payments", pool_size=5)
        platform = PlatformSettings(database_url=database_url, nats_url=nats_url, env="test")
        settings = PaymentsSettings(
            providers=["chain"],
            rate_provider="peg,db",
            rate_pegs="USDT=1 EUR",
            chain_id=bed.chain_id,
        )
        payments_channels = ServiceChannels(
            Resolver(static={"chain": chain_server.address}),
            authorization=service_identity("payments").authorization,
        )
        parts = compose_payments(
            Backends(platform, payments_engine, js, payments_channels), settings
        )
        [consumer] = [c for c in parts.consumers if isinstance(c, EventConsumer)]
        payments_server = GrpcServer(
            "payments",
            "127.0.0.1",
            free_port(),
            authorization=authorization_interceptor(security_files),
        )
        for servicer in parts.servicers:
            payments_server.add(servicer.add_to_server, servicer.implementation)
        await payments_server.start()
        chain_channels = ServiceChannels(
            Resolver(static={"payments": payments_server.address}),
            authorization=service_identity("chain").authorization,
        )
        reconciler = Reconciler(
            chain_engine,
            bed.config,
            Payments(lambda: chain_channels.stub("payments", PaymentsServiceStub)),
        )
        bed.service.init_reconciliation(chain_engine, reconciler, max_period=timedelta(days=31))
        bed.service.init_sweeps(chain_engine, bed.config)
        channel = authorized_channel(payments_server.address)
        try:
            yield Shop(
                bed,
                PaymentsServiceStub(channel),
                consumer,
                reconciler,
                chain_server.address,
                js,
            )
        finally:
            await channel.close()
            await chain_channels.close()
            await payments_channels.close()
            await payments_server.stop(0)
            await chain_server.stop(0)
            await payments_engine.dispose()
