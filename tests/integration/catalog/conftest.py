"""The catalog served for real: migrated schema, gRPC server on a loopback port, a client stub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from security_support import SecurityFiles, authorization_interceptor, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2_grpc
from agora.catalog.service import CatalogService
from agora.platform.db import create_engine
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer


@pytest.fixture(scope="session")
async def catalog_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate("catalog", database_url)
    engine = create_engine(database_url, "catalog", pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def catalog_server(
    catalog_engine: AsyncEngine, security_files: SecurityFiles
) -> AsyncIterator[GrpcServer]:
    server = GrpcServer(
        "catalog",
        "127.0.0.1",
        free_port(),
        authorization=authorization_interceptor(security_files),
    )
    server.add(
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server, CatalogService(catalog_engine)
    )
    await server.start()
    yield server
    await server.stop(0)


@pytest.fixture(scope="session")
async def catalog_channel(catalog_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    """A channel of an admin (every call carries an admin's token unless it sets its own)."""
    channel = authorized_channel(catalog_server.address)
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def catalog(catalog_channel: grpc.aio.Channel) -> catalog_pb2_grpc.CatalogServiceStub:
    return catalog_pb2_grpc.CatalogServiceStub(catalog_channel)
