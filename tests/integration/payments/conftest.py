"""Payments served for real: migrated schema, the parts `bootstrap.compose` builds, the servicer
on a loopback gRPC port, a client stub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from security_support import SecurityFiles, authorization_interceptor, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.payments.v1 import payments_pb2_grpc
from agora.payments.bootstrap import compose
from agora.payments.jobs import InvoiceExpiry
from agora.payments.service import PaymentsService
from agora.payments.settings import PaymentsSettings
from agora.platform.db import create_engine
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.discovery import Resolver
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends, ServiceParts
from agora.platform.settings import PlatformSettings

ECB_SAMPLE = Path(__file__).parents[2] / "unit" / "payments" / "eurofxref-sample.xml"


@pytest.fixture(scope="session")
async def payments_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate("payments", database_url)
    engine = create_engine(database_url, "payments", pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def payments_parts(
    payments_engine: AsyncEngine, database_url: str, nats_url: str
) -> AsyncIterator[ServiceParts]:
    """Payments as `bootstrap.compose` builds it (payments calls no other service)."""
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, env="test")
    # One expiry batch takes every invoice the tests left past due.
    settings = PaymentsSettings(ecb_source=str(ECB_SAMPLE), expiry_batch_size=10_000)
    connection = await nats.connect(nats_url)
    channels = ServiceChannels(Resolver(static={}))
    backends = Backends(platform, payments_engine, connection.jetstream(), channels)
    yield compose(backends, settings)
    await channels.close()
    await connection.close()


@pytest.fixture(scope="session")
def payments_service(payments_parts: ServiceParts) -> PaymentsService:
    [servicer] = payments_parts.servicers
    assert isinstance(servicer.implementation, PaymentsService)
    return servicer.implementation


@pytest.fixture(scope="session")
def invoice_expiry(payments_parts: ServiceParts) -> InvoiceExpiry:
    [expiry] = payments_parts.jobs
    assert isinstance(expiry, InvoiceExpiry)
    return expiry


@pytest.fixture(scope="session")
async def payments_server(
    payments_parts: ServiceParts, security_files: SecurityFiles
) -> AsyncIterator[GrpcServer]:
    server = GrpcServer(
        "payments",
        "127.0.0.1",
        free_port(),
        authorization=authorization_interceptor(security_files),
    )
    for servicer in payments_parts.servicers:
        server.add(servicer.add_to_server, servicer.implementation)
    await server.start()
    yield server
    await server.stop(0)


@pytest.fixture(scope="session")
async def payments(
    payments_server: GrpcServer,
) -> AsyncIterator[payments_pb2_grpc.PaymentsServiceStub]:
    channel = authorized_channel(payments_server.address)  # an admin's
    yield payments_pb2_grpc.PaymentsServiceStub(channel)
    await channel.close()
