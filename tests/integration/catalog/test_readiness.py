"""Readiness tells the truth: a served catalog reports NOT_SERVING on the gRPC health protocol
(and the gateway's /readyz check says so, naming it) while its database or NATS is down, and
SERVING again once it is back. The catalog gets a PostgreSQL or NATS of its own, stopped and
started here, never the session's shared ones."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from postgres_support import RestartablePostgres, restartable_postgres

from agora.catalog.bootstrap import run
from agora.catalog.settings import CatalogSettings
from agora.gateway.app import backend_states
from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.net import free_port, wait_for_port, wait_for_port_async
from agora.platform.settings import PlatformSettings


class DedicatedNats:
    """A NATS JetStream server only this test uses."""

    def __init__(self, data_dir: Path) -> None:
        self.server = EmbeddedNats(data_dir, free_port())
        self._log = data_dir.parent / "nats.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                self.server.command(), stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_port(self.server.port)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        self._process.wait(timeout=30)
        self._process = None


@pytest.fixture
def dedicated_postgres(tmp_path: Path) -> Iterator[RestartablePostgres]:
    yield from restartable_postgres(tmp_path)


@pytest.fixture
def dedicated_nats(tmp_path: Path) -> Iterator[DedicatedNats]:
    broker = DedicatedNats(tmp_path / "nats")
    broker.start()
    yield broker
    broker.stop()


@asynccontextmanager
async def served_catalog(database_url: str, nats_url: str) -> AsyncIterator[grpc.aio.Channel]:
    """`agora serve catalog` in this process; a plain channel to it (health needs no token)."""
    port = free_port()
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url)
    serving = asyncio.create_task(run(platform, CatalogSettings(port=port)))
    await wait_for_port_async(port, timeout_s=30)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel
    finally:
        await channel.close()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(serving, 15)


async def readiness(channel: grpc.aio.Channel) -> str:
    states = await backend_states(["catalog"], lambda _: channel, timeout_s=1.0)
    return states["catalog"]


async def until_readiness(channel: grpc.aio.Channel, wanted: str, timeout_s: float = 15.0) -> float:
    """Seconds until the catalog's health reads `wanted`."""
    started = time.monotonic()
    while (state := await readiness(channel)) != wanted:
        assert time.monotonic() - started < timeout_s, f"still {state}, wanted {wanted}"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_health_is_not_serving_while_the_database_is_down_and_serving_once_back(
    dedicated_postgres: RestartablePostgres, nats_url: str
) -> None:
    database_url = dedicated_postgres.database_url
    async with served_catalog(database_url, nats_url) as channel:
        await until_readiness(channel, "SERVING")

        await asyncio.to_thread(dedicated_postgres.stop)
        assert await until_readiness(channel, "NOT_SERVING") < 5

        await asyncio.to_thread(dedicated_postgres.start)
        assert await until_readiness(channel, "SERVING") < 5


async def test_health_is_not_serving_while_nats_is_down_and_serving_once_back(
    dedicated_nats: DedicatedNats, database_url: str
) -> None:
    async with served_catalog(database_url, dedicated_nats.server.url) as channel:
        await until_readiness(channel, "SERVING")

        await asyncio.to_thread(dedicated_nats.stop)
        assert await until_readiness(channel, "NOT_SERVING") < 5

        await asyncio.to_thread(dedicated_nats.start)
        assert await until_readiness(channel, "SERVING") < 5
