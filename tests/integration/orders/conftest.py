"""The catalog and orders served for real, as `agora serve` runs them: each by its bootstrap on
a free loopback port, over the session's PostgreSQL and JetStream; orders reaches the catalog
at a static address (`AGORA_CATALOG_ADDRESS`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import grpc
import pytest
from orders_support import product
from security_support import authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.catalog.bootstrap import run as run_catalog
from agora.catalog.settings import CatalogSettings
from agora.orders.bootstrap import run as run_orders
from agora.orders.settings import OrdersSettings
from agora.platform.db import create_engine
from agora.platform.net import free_port, wait_for_port_async
from agora.platform.settings import PlatformSettings


@contextlib.asynccontextmanager
async def serving(work: Coroutine[Any, Any, None], port: int) -> AsyncIterator[None]:
    task = asyncio.create_task(work)
    await wait_for_port_async(port, timeout_s=30)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)


@pytest.fixture(scope="session")
def platform(database_url: str, nats_url: str) -> PlatformSettings:
    return PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)


@pytest.fixture(scope="session")
async def catalog_port(platform: PlatformSettings) -> AsyncIterator[int]:
    port = free_port()
    async with serving(run_catalog(platform, CatalogSettings(port=port)), port):
        yield port


@pytest.fixture(scope="session")
async def catalog_stub(catalog_port: int) -> AsyncIterator[CatalogServiceStub]:
    channel = authorized_channel(f"127.0.0.1:{catalog_port}")
    yield CatalogServiceStub(channel)
    await channel.close()


@pytest.fixture(scope="session")
async def orders_address(platform: PlatformSettings, catalog_port: int) -> AsyncIterator[str]:
    port = free_port()
    previous = os.environ.get("AGORA_CATALOG_ADDRESS")
    os.environ["AGORA_CATALOG_ADDRESS"] = f"127.0.0.1:{catalog_port}"
    try:
        async with serving(run_orders(platform, OrdersSettings(port=port)), port):
            yield f"127.0.0.1:{port}"
    finally:
        if previous is None:
            os.environ.pop("AGORA_CATALOG_ADDRESS", None)
        else:
            os.environ["AGORA_CATALOG_ADDRESS"] = previous


@pytest.fixture(scope="session")
async def orders(orders_address: str) -> AsyncIterator[OrdersServiceStub]:
    """Orders as an admin calls it (a call's own `authorization` metadata wins)."""
    async with authorized_channel(orders_address) as channel:
        yield OrdersServiceStub(channel)


@pytest.fixture(scope="session")
async def orders_engine(orders: OrdersServiceStub, database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, "orders", pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def anonymous(orders_address: str) -> AsyncIterator[OrdersServiceStub]:
    """Orders called with no token (unless a call sets one)."""
    async with grpc.aio.insecure_channel(orders_address) as channel:
        yield OrdersServiceStub(channel)


@pytest.fixture(scope="module")
async def lamp(catalog_stub: CatalogServiceStub) -> tuple[str, str]:
    """A published product's (product id, variant id), in stock, priced in EUR."""
    return await product(catalog_stub)
