"""The support service composed by `bootstrap.compose` and served on a loopback port, against
the session's real PostgreSQL and NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import nats
import pytest
from security_support import SecurityFiles, authorization_interceptor, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.db import create_engine
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends, service_resolver
from agora.platform.settings import PlatformSettings
from agora.support.bootstrap import SERVICE, compose
from agora.support.settings import SupportSettings


@pytest.fixture(scope="session")
async def support_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def support_server(
    support_engine: AsyncEngine,
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
) -> AsyncIterator[GrpcServer]:
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    async with service_resolver(platform, js) as channels:
        parts = compose(Backends(platform, support_engine, js, channels), SupportSettings())
        server = GrpcServer(
            SERVICE,
            "127.0.0.1",
            free_port(),
            authorization=authorization_interceptor(security_files),
        )
        for servicer in parts.servicers:
            server.add(servicer.add_to_server, servicer.implementation)
        await server.start()
        yield server
        await server.stop(0)
    await nc.close()


@pytest.fixture(scope="session")
async def support_channel(support_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    """A channel of an admin (every call carries an admin's token unless it sets its own)."""
    channel = authorized_channel(support_server.address)
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def support(
    support_channel: grpc.aio.Channel,
) -> support_pb2_grpc.SupportServiceStub:
    return support_pb2_grpc.SupportServiceStub(support_channel)
