"""A shop of its own for tests across services: catalog, payments (dev provider), orders and
admin, each served by its own bootstrap `run` on a free port (with its outbox relay and its
consumers, as `agora serve` runs it), over a database and a JetStream server of their own.

Why its own: the session's streams carry other tests' events, which the admin's analytics would
count, and two orders processes on one JetStream would share durable consumers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from security_support import authorized_channel

from agora._proto.agora.admin.v1.analytics_pb2_grpc import AnalyticsServiceStub
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.admin.bootstrap import run as run_admin
from agora.admin.settings import AdminSettings
from agora.catalog.bootstrap import run as run_catalog
from agora.catalog.settings import CatalogSettings
from agora.orders.bootstrap import run as run_orders
from agora.orders.settings import OrdersSettings
from agora.payments.bootstrap import run as run_payments
from agora.payments.settings import PaymentsSettings
from agora.platform.db import ensure_database
from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.migrations import migrate
from agora.platform.net import free_port, wait_for_port, wait_for_port_async
from agora.platform.settings import PlatformSettings

# The services `agora seed` writes into, migrated before anything is seeded or served.
SEEDED_SERVICES = ("auth", "catalog", "payments", "orders", "support")


@dataclass(frozen=True)
class ShopStack:
    """The shop's services, as their clients (each call carries an admin's token)."""

    catalog: CatalogServiceStub
    payments: PaymentsServiceStub
    orders: OrdersServiceStub
    analytics: AnalyticsServiceStub
    platform: PlatformSettings
    admin_address: str


@contextlib.contextmanager
def own_jetstream(data_dir: Path) -> Iterator[str]:
    """A NATS JetStream server of its own (fsync off: test data), until the block exits."""
    server = EmbeddedNats(data_dir, free_port(), sync_interval="2m")
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "stack-nats.log").open("ab") as output:
        process = subprocess.Popen(server.command(), stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(server.port)
        yield server.url
    finally:
        process.terminate()
        process.wait(timeout=15)


async def migrated_database(database_url: str, name: str) -> str:
    """A fresh database beside `database_url`'s, every seeded service's schema at head."""
    url = f"{database_url.rpartition('/')[0]}/agora_{name}_{uuid.uuid4().hex[:8]}"
    await ensure_database(url)
    for service in SEEDED_SERVICES:
        await migrate(service, url)
    return url


@contextlib.contextmanager
def _addresses(**services: int) -> Iterator[None]:
    names = [f"AGORA_{service.upper()}_ADDRESS" for service in services]
    previous = {name: os.environ.get(name) for name in names}
    os.environ.update(
        {name: f"127.0.0.1:{port}" for name, port in zip(names, services.values(), strict=True)}
    )
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.asynccontextmanager
async def _serving(work: Coroutine[Any, Any, None], port: int) -> AsyncIterator[grpc.aio.Channel]:
    task = asyncio.create_task(work)
    try:
        await wait_for_port_async(port, timeout_s=30)
        async with authorized_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)


@contextlib.asynccontextmanager
async def shop_stack(platform: PlatformSettings, media_dir: Path) -> AsyncIterator[ShopStack]:
    """Catalog, payments, orders and admin served on free ports over `platform`."""
    ports = {name: free_port() for name in ("catalog", "payments", "orders", "admin")}
    payments_settings = PaymentsSettings(
        port=ports["payments"], dev_provider=True, expiry_interval_s=0.5
    )
    async with contextlib.AsyncExitStack() as stack:
        catalog = await stack.enter_async_context(
            _serving(
                run_catalog(platform, CatalogSettings(port=ports["catalog"])), ports["catalog"]
            )
        )
        payments = await stack.enter_async_context(
            _serving(run_payments(platform, payments_settings), ports["payments"])
        )
        with _addresses(catalog=ports["catalog"], payments=ports["payments"]):
            orders = await stack.enter_async_context(
                _serving(
                    run_orders(platform, OrdersSettings(port=ports["orders"])), ports["orders"]
                )
            )
        admin = await stack.enter_async_context(
            _serving(
                run_admin(platform, AdminSettings(port=ports["admin"], media_dir=media_dir)),
                ports["admin"],
            )
        )
        yield ShopStack(
            CatalogServiceStub(catalog),
            PaymentsServiceStub(payments),
            OrdersServiceStub(orders),
            AnalyticsServiceStub(admin),
            platform,
            f"127.0.0.1:{ports['admin']}",
        )
