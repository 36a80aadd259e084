"""The chain service composed by `bootstrap.compose` and served on a loopback port, against
the session's real PostgreSQL and NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import nats
import pytest
from security_support import SecurityFiles, authorization_interceptor, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora.chain.bootstrap import SERVICE, compose
from agora.chain.settings import ChainSettings
from agora.platform.db import create_engine
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends, service_resolver
from agora.platform.settings import PlatformSettings


@pytest.fixture(scope="session")
async def chain_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def chain_server(
    chain_engine: AsyncEngine,
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[GrpcServer]:
    platform = PlatformSettings(
        database_url=database_url,
        nats_url=nats_url,
        discovery=False,
        data_dir=tmp_path_factory.mktemp("chain-data"),
    )
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    async with service_resolver(platform, js) as channels:
        # The watcher of the default settings would follow a node that is not there: the
        # servicers only (watcher tests run a watcher of their own against their own anvil).
        parts = compose(Backends(platform, chain_engine, js, channels), ChainSettings())
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
async def chain_channel(chain_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    """A channel of an admin (every call carries an admin's token unless it sets its own)."""
    channel = authorized_channel(chain_server.address)
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def chain(
    chain_channel: grpc.aio.Channel,
) -> chain_pb2_grpc.ChainServiceStub:
    return chain_pb2_grpc.ChainServiceStub(chain_channel)


@pytest.fixture
async def chain_js(nats_url: str) -> AsyncIterator[nats.js.JetStreamContext]:
    """JetStream, to read the CHAIN stream the tests' relays publish to."""
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()
