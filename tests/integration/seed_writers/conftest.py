"""The schemas of catalog, orders and payments migrated in the session's database, and the
catalog and orders served for real (each by its bootstrap on a free loopback port), so seeded
orders can be read and new ones placed through the API."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
from security_support import authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.catalog.bootstrap import run as run_catalog
from agora.catalog.settings import CatalogSettings
from agora.orders.bootstrap import run as run_orders
from agora.orders.settings import OrdersSettings
from agora.platform.db import create_engine, ensure_database
from agora.platform.migrations import migrate
from agora.platform.net import free_port, wait_for_port_async
from agora.platform.settings import PlatformSettings


@contextlib.asynccontextmanager
async def _serving(work: Coroutine[Any, Any, None], port: int) -> AsyncIterator[None]:
    task = asyncio.create_task(work)
    await wait_for_port_async(port, timeout_s=30)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)


@pytest.fixture(scope="session")
async def seed_schemas(database_url: str) -> str:
    """The session database with the catalog, orders and payments schemas at head."""
    await ensure_database(database_url)
    for service in ("catalog", "orders", "payments"):
        await migrate(service, database_url)
    return database_url


@pytest.fixture(scope="session")
async def seed_catalog_port(seed_schemas: str, nats_url: str) -> AsyncIterator[int]:
    platform = PlatformSettings(database_url=seed_schemas, nats_url=nats_url, discovery=False)
    port = free_port()
    async with _serving(run_catalog(platform, CatalogSettings(port=port)), port):
        yield port


@pytest.fixture(scope="session")
async def seed_catalog(seed_catalog_port: int) -> AsyncIterator[CatalogServiceStub]:
    async with authorized_channel(f"127.0.0.1:{seed_catalog_port}") as channel:
        yield CatalogServiceStub(channel)


@pytest.fixture(scope="session")
async def seed_orders(
    seed_schemas: str, nats_url: str, seed_catalog_port: int
) -> AsyncIterator[OrdersServiceStub]:
    """Orders as an admin calls it; it reaches the catalog at a static address."""
    platform = PlatformSettings(database_url=seed_schemas, nats_url=nats_url, discovery=False)
    port = free_port()
    previous = os.environ.get("AGORA_CATALOG_ADDRESS")
    os.environ["AGORA_CATALOG_ADDRESS"] = f"127.0.0.1:{seed_catalog_port}"
    try:
        async with (
            _serving(run_orders(platform, OrdersSettings(port=port)), port),
            authorized_channel(f"127.0.0.1:{port}") as channel,
        ):
            yield OrdersServiceStub(channel)
    finally:
        if previous is None:
            os.environ.pop("AGORA_CATALOG_ADDRESS", None)
        else:
            os.environ["AGORA_CATALOG_ADDRESS"] = previous


@pytest.fixture(scope="session")
async def seed_orders_engine(seed_schemas: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(seed_schemas, "orders", pool_size=2)
    yield engine
    await engine.dispose()
