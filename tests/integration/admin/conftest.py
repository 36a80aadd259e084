"""The admin service composed by `bootstrap.compose` and served on a loopback port, against
the session's real PostgreSQL and NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import nats
import pytest
from admin_content_support import MEDIA_MAX_BYTES, ShiftedClock
from security_support import SecurityFiles, authorization_interceptor, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import content_pb2_grpc
from agora.admin.bootstrap import SERVICE, compose
from agora.admin.settings import AdminSettings
from agora.platform.db import create_engine
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends, service_resolver
from agora.platform.settings import PlatformSettings


@pytest.fixture(scope="session")
def content_clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("admin-media")


@pytest.fixture(scope="session")
async def admin_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def admin_server(
    admin_engine: AsyncEngine,
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
    content_clock: ShiftedClock,
    media_dir: Path,
) -> AsyncIterator[GrpcServer]:
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    async with service_resolver(platform, js) as channels:
        backends = Backends(platform, admin_engine, js, channels)
        settings = AdminSettings(media_dir=media_dir, media_max_bytes=MEDIA_MAX_BYTES)
        parts = compose(backends, settings, clock=content_clock)
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
async def admin_channel(admin_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    """A channel of an admin (every call carries an admin's token unless it sets its own)."""
    channel = authorized_channel(admin_server.address)
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def content(admin_channel: grpc.aio.Channel) -> content_pb2_grpc.ContentServiceStub:
    return content_pb2_grpc.ContentServiceStub(admin_channel)
