"""Payments served for real: migrated schema, gRPC server on a loopback port, a client stub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from security_support import SecurityFiles, authorization_interceptor, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.payments.v1 import payments_pb2_grpc
from agora.payments.rates import DatabaseRates
from agora.payments.service import PaymentsConfig, PaymentsService
from agora.platform.db import create_engine
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer

ECB_SAMPLE = Path(__file__).parents[2] / "unit" / "payments" / "eurofxref-sample.xml"


@pytest.fixture(scope="session")
async def payments_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate("payments", database_url)
    engine = create_engine(database_url, "payments", pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def payments_service(payments_engine: AsyncEngine) -> PaymentsService:
    config = PaymentsConfig(providers=["dev"], ecb_source=str(ECB_SAMPLE))
    return PaymentsService(payments_engine, DatabaseRates(payments_engine), config)


@pytest.fixture(scope="session")
async def payments_server(
    payments_service: PaymentsService, security_files: SecurityFiles
) -> AsyncIterator[GrpcServer]:
    server = GrpcServer(
        "payments",
        "127.0.0.1",
        free_port(),
        authorization=authorization_interceptor(security_files),
    )
    server.add(payments_pb2_grpc.add_PaymentsServiceServicer_to_server, payments_service)
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
