"""The supervisor restarts a SIGKILLed PostgreSQL cleanly, while gRPC health probes run in its
process as under `agora up`: the dead postmaster's backends go with it, and the new one accepts
queries (`agora up`'s own spec, over a data directory and port of this test's own)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import psutil
import pytest

from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.services import grpc_serving
from agora.platform.settings import PlatformSettings
from agora.platform.stack import postgres_spec
from agora.platform.supervisor import ProcessSpec, RestartPolicy, Supervisor

POLICY = RestartPolicy(backoff_initial_s=0.2, probe_interval_s=0.1, stop_grace_s=5.0)


@asynccontextmanager
async def grpc_probes() -> AsyncIterator[list[bool]]:
    """Health probes over gRPC, back to back, in this process (grpc's threads busy)."""
    server = GrpcServer("probed")
    await server.start()
    answers: list[bool] = []

    async def probe_forever() -> None:
        while True:
            answers.append(await grpc_serving(server.address))

    probing = asyncio.create_task(probe_forever())
    try:
        yield answers
    finally:
        probing.cancel()
        await asyncio.gather(probing, return_exceptions=True)
        await server.stop(0)


@pytest.fixture
async def supervisor(tmp_path: Path) -> AsyncIterator[Supervisor]:
    running = Supervisor(tmp_path / "logs", tmp_path / "status.json", POLICY)
    yield running
    await running.stop()


async def test_a_killed_postmaster_is_restarted_without_its_old_backends(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    port = free_port()
    settings = PlatformSettings(data_dir=tmp_path, pg_port=port)
    spec = await postgres_spec(settings)  # initdb, before any gRPC (as in `agora up`)
    async with grpc_probes() as answers:
        await kill_and_see_it_restarted(supervisor, spec, port)
    assert answers
    assert all(answers)


async def kill_and_see_it_restarted(supervisor: Supervisor, spec: ProcessSpec, port: int) -> None:
    await supervisor.start([spec])
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    client = await asyncpg.connect(url)  # holds a backend open across the kill
    postmaster = supervisor.snapshot()[0]["pid"]
    backends = psutil.Process(postmaster).children()
    assert backends

    os.kill(postmaster, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not (
        supervisor.snapshot()[0]["restarts"] == 1 and supervisor.snapshot()[0]["state"] == "healthy"
    ):
        assert time.monotonic() < deadline, supervisor.snapshot()
        await asyncio.sleep(0.1)

    row = supervisor.snapshot()[0]
    assert row["exit_signal"] == "SIGKILL"
    assert row["restart_reason"] == "killed by SIGKILL"
    for backend in backends:
        assert not backend.is_running() or backend.status() == psutil.STATUS_ZOMBIE
    fresh = await asyncpg.connect(url)
    assert await fresh.fetchval("SELECT 1") == 1
    await fresh.close()
    client.terminate()
