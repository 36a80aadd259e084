"""The catalog served for real: migrated schema, the servicer `compose` builds on a loopback
gRPC server, a client stub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from catalog_support import catalog_parts, serving
from security_support import SecurityFiles, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2_grpc
from agora.platform.db import create_engine
from agora.platform.migrations import migrate
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import ServiceParts


@pytest.fixture(scope="session")
async def catalog_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate("catalog", database_url)
    engine = create_engine(database_url, "catalog", pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def catalog_service_parts(
    catalog_engine: AsyncEngine, database_url: str, nats_url: str
) -> AsyncIterator[ServiceParts]:
    async with catalog_parts(catalog_engine, database_url, nats_url) as parts:
        yield parts


@pytest.fixture(scope="session")
async def catalog_server(
    catalog_service_parts: ServiceParts, security_files: SecurityFiles
) -> AsyncIterator[GrpcServer]:
    async with serving(catalog_service_parts, security_files) as server:
        yield server


@pytest.fixture(scope="session")
async def catalog_channel(catalog_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    """A channel of an admin (every call carries an admin's token unless it sets its own)."""
    channel = authorized_channel(catalog_server.address)
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def catalog(catalog_channel: grpc.aio.Channel) -> catalog_pb2_grpc.CatalogServiceStub:
    return catalog_pb2_grpc.CatalogServiceStub(catalog_channel)
