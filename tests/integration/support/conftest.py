"""The support service composed by `bootstrap.compose` and served on a loopback port, against
the session's real PostgreSQL and NATS, with the real embedding model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import nats
import pytest
from nats.js import JetStreamContext
from security_support import SecurityFiles, authorization_interceptor, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.db import create_engine
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends, ServiceParts, service_resolver
from agora.platform.settings import PlatformSettings
from agora.support.bootstrap import SERVICE, compose
from agora.support.embeddings import TextEmbedder
from agora.support.settings import SupportSettings


@pytest.fixture(scope="session")
async def support_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def support_embedder() -> TextEmbedder:
    """The real model, loaded once for the session."""
    return TextEmbedder()


@pytest.fixture(scope="session")
async def support_js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """JetStream with the streams the support service consumes (orders', catalog's)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for producer in ("orders", "catalog"):
        await ensure_stream(js, producer_stream(producer))
    yield js
    await nc.close()


@pytest.fixture(scope="session")
async def support_parts(
    support_engine: AsyncEngine,
    database_url: str,
    nats_url: str,
    support_js: JetStreamContext,
    support_embedder: TextEmbedder,
) -> AsyncIterator[ServiceParts]:
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    async with service_resolver(platform, support_js) as channels:
        backends = Backends(platform, support_engine, support_js, channels)
        yield compose(backends, SupportSettings(), support_embedder)


@pytest.fixture(scope="session")
async def support_backends(
    support_engine: AsyncEngine, database_url: str, nats_url: str, support_js: JetStreamContext
) -> AsyncIterator[Backends]:
    """What a support replica is composed from (the chat tests serve several)."""
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    async with service_resolver(platform, support_js) as channels:
        yield Backends(platform, support_engine, support_js, channels)


@pytest.fixture(scope="session")
def support_consumers(support_parts: ServiceParts) -> dict[str, EventConsumer]:
    """The service's own consumers by durable name, driven by the tests (`drain`)."""
    return {c.durable: c for c in support_parts.consumers if isinstance(c, EventConsumer)}


@pytest.fixture(scope="session")
async def support_server(
    support_parts: ServiceParts, security_files: SecurityFiles
) -> AsyncIterator[GrpcServer]:
    server = GrpcServer(
        SERVICE,
        "127.0.0.1",
        free_port(),
        authorization=authorization_interceptor(security_files),
    )
    for servicer in support_parts.servicers:
        server.add(servicer.add_to_server, servicer.implementation)
    await server.start()
    yield server
    await server.stop(0)


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


@pytest.fixture(scope="session")
async def anonymous_support(
    support_server: GrpcServer,
) -> AsyncIterator[support_pb2_grpc.SupportServiceStub]:
    """A channel without any token (the storefront's public reads)."""
    channel = grpc.aio.insecure_channel(support_server.address)
    yield support_pb2_grpc.SupportServiceStub(channel)
    await channel.close()
