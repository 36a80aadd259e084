"""A checkout world whose orders and payments run as real `python -m agora serve` processes,
so that a test can SIGKILL either of them mid-saga and start it again over the same database
and JetStream. The catalog, which is never killed here, runs in the test's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.js.errors import NotFoundError
from saga_support import own_jetstream, serving
from security_support import authorized_channel

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.catalog.bootstrap import run as run_catalog
from agora.catalog.settings import CatalogSettings
from agora.platform.db import ensure_database
from agora.platform.net import free_ports, wait_for_port_async
from agora.platform.settings import PlatformSettings

START_TIMEOUT_S = 30.0
SECURITY_VARIABLES = ("AGORA_AUTH_JWKS_FILE", "AGORA_SERVICE_KEY_FILE")


@dataclass
class ServiceProcess:
    """One service as `python -m agora serve <name>` in a subprocess of its own."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: asyncio.subprocess.Process | None = field(default=None, init=False)

    async def start(self) -> None:
        """Start the service and wait until it accepts gRPC connections."""
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agora",
                "serve",
                self.name,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        await wait_for_port_async(self.port, timeout_s=START_TIMEOUT_S)

    async def kill(self) -> None:
        """SIGKILL: no graceful shutdown, whatever is in flight is cut off."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(self.process.wait(), 15) == -signal.SIGKILL
        self.process = None

    async def restart_after_kill(self) -> None:
        """SIGKILL the service, then start it again on the same port."""
        await self.kill()
        await self.start()

    async def stop(self) -> None:
        """SIGTERM and wait (the end of the test), killing it if it lingers."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.process = None


@dataclass(frozen=True)
class CrashWorld:
    """Clients of the three services, the two killable processes and the JetStream URL."""

    catalog: CatalogServiceStub
    payments: PaymentsServiceStub
    orders: OrdersServiceStub
    payments_process: ServiceProcess
    orders_process: ServiceProcess
    nats_url: str


def service_env(
    database_url: str, nats_url: str, data_dir: Path, **settings: str | int
) -> dict[str, str]:
    """The environment of an `agora serve` subprocess: the platform plus `AGORA_*` settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AGORA_")  # nothing of the test session's own configuration
    }
    # The test session's JWKS and service key, so every process trusts the same tokens.
    env.update({name: os.environ[name] for name in SECURITY_VARIABLES})
    env.update(
        AGORA_ENV="test",
        AGORA_DATABASE_URL=database_url,
        AGORA_NATS_URL=nats_url,
        AGORA_DISCOVERY="false",
        AGORA_DATA_DIR=str(data_dir),
        AGORA_LOG_LEVEL="WARNING",
    )
    env.update({f"AGORA_{name.upper()}": str(value) for name, value in settings.items()})
    return env


@contextlib.asynccontextmanager
async def crash_world(database_url: str, work_dir: Path) -> AsyncIterator[CrashWorld]:
    """A database and JetStream of its own; the catalog in-process, payments (dev provider)
    and orders as subprocesses, all on free ports."""
    database = f"{database_url.rpartition('/')[0]}/agora_crash_{uuid.uuid4().hex[:8]}"
    await ensure_database(database)
    catalog_port, payments_port, orders_port = free_ports(3)
    with own_jetstream(work_dir / "nats") as nats_url:
        platform = PlatformSettings(database_url=database, nats_url=nats_url, discovery=False)
        payments = ServiceProcess(
            "payments",
            payments_port,
            service_env(
                database,
                nats_url,
                work_dir,
                payments_port=payments_port,
                payments_dev_provider="true",
                payments_expiry_interval_s="0.5",
            ),
            work_dir / "payments.log",
        )
        orders = ServiceProcess(
            "orders",
            orders_port,
            service_env(
                database,
                nats_url,
                work_dir,
                orders_port=orders_port,
                catalog_address=f"127.0.0.1:{catalog_port}",
                payments_address=f"127.0.0.1:{payments_port}",
            ),
            work_dir / "orders.log",
        )
        catalog_run = run_catalog(platform, CatalogSettings(port=catalog_port))
        async with serving(catalog_run, catalog_port) as catalog_channel:
            try:
                await payments.start()
                await orders.start()
                async with (
                    authorized_channel(f"127.0.0.1:{payments_port}") as payments_channel,
                    authorized_channel(f"127.0.0.1:{orders_port}") as orders_channel,
                ):
                    yield CrashWorld(
                        CatalogServiceStub(catalog_channel),
                        PaymentsServiceStub(payments_channel),
                        OrdersServiceStub(orders_channel),
                        payments,
                        orders,
                        nats_url,
                    )
            finally:
                await orders.stop()
                await payments.stop()


async def envelopes_on(nats_url: str, stream: str, subject: str) -> list[EventEnvelope]:
    """Every envelope `stream` holds on `subject`, read message by message."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        found: list[EventEnvelope] = []
        seq = 1
        while True:
            try:
                message = await js.get_msg(stream, seq=seq, subject=subject, next=True)
            except NotFoundError:
                return found
            assert message.data is not None
            assert message.seq is not None
            found.append(EventEnvelope.FromString(message.data))
            seq = message.seq + 1
    finally:
        await connection.close()
