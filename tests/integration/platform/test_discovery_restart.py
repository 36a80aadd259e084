"""Discovery survives a NATS restart: a dedicated embedded server is killed and started again
under a registered instance (the session's shared NATS is left alone)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.net import free_port, wait_for_port_async
from agora.platform.rpc import Registration, Resolver

TTL_S = 2.0


class RestartableNats:
    """One embedded NATS server of this test's own, which the test can kill and start again."""

    def __init__(self, data_dir: Path) -> None:
        self.server = EmbeddedNats(data_dir, free_port())
        self._log = data_dir / "nats.log"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        command = self.server.command()  # writes the configuration into the data directory
        with self._log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *command, stdout=log, stderr=asyncio.subprocess.STDOUT
            )
        await wait_for_port_async(self.server.port)

    async def kill(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(self._process.wait(), 10)
            self._process = None


@pytest.fixture
async def own_nats(tmp_path: Path) -> AsyncIterator[RestartableNats]:
    restartable = RestartableNats(tmp_path / "nats")
    yield restartable
    await restartable.kill()


async def _connect(url: str) -> NATS:
    return await nats.connect(
        url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2
    )


@pytest.fixture
async def clients(own_nats: RestartableNats) -> AsyncIterator[tuple[NATS, NATS]]:
    await own_nats.start()
    registering, resolving = (
        await _connect(own_nats.server.url),
        await _connect(own_nats.server.url),
    )
    yield registering, resolving
    await registering.close()
    await resolving.close()


async def eventually(condition: Callable[[], bool], timeout_s: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_discovery_finds_an_instance_again_after_nats_restarts(
    own_nats: RestartableNats, clients: tuple[NATS, NATS]
) -> None:
    registering, resolving = clients
    bucket = f"agora_instances_{uuid.uuid4().hex[:8]}"
    registration = Registration(
        registering.jetstream(), "echo", "127.0.0.1:7101", bucket=bucket, ttl_s=TTL_S
    )
    await registration.start()
    watching = Resolver(resolving.jetstream(), bucket=bucket, ttl_s=TTL_S)
    await watching.start()
    try:
        await eventually(lambda: watching.addresses("echo") == ["127.0.0.1:7101"], 5)

        await own_nats.kill()
        await asyncio.sleep(0.5)
        await own_nats.start()

        # Beyond the TTL: only heartbeats that came back keep the instance known.
        await asyncio.sleep(TTL_S * 1.5)
        await eventually(lambda: watching.addresses("echo") == ["127.0.0.1:7101"], 5)
        late = Resolver(resolving.jetstream(), bucket=bucket, ttl_s=TTL_S)
        await late.start()
        try:
            assert late.addresses("echo") == ["127.0.0.1:7101"]
        finally:
            await late.stop()
    finally:
        await watching.stop()
        await registration.stop()


async def test_a_heartbeat_recreates_a_missing_bucket_and_registers_again(
    clients: tuple[NATS, NATS],
) -> None:
    registering, resolving = clients
    bucket = f"agora_instances_{uuid.uuid4().hex[:8]}"
    registration = Registration(
        registering.jetstream(), "echo", "127.0.0.1:7102", bucket=bucket, ttl_s=TTL_S
    )
    await registration.start()
    try:
        await resolving.jetstream().delete_key_value(bucket)  # a server with a fresh store
        await asyncio.sleep(TTL_S)  # a third of the TTL between beats: at least two beats
        late = Resolver(resolving.jetstream(), bucket=bucket, ttl_s=TTL_S)
        await late.start()
        try:
            assert late.addresses("echo") == ["127.0.0.1:7102"]
        finally:
            await late.stop()
    finally:
        await registration.stop()
