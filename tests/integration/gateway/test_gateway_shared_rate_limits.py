"""Rate limits counted across real gateway worker processes (`agora serve gateway`, granian).

Each worker used to count in its own memory, so two workers let twice the limit through. With
several workers and no `AGORA_REDIS_URL`, the gateway now runs an embedded Redis they share.
The requests go over sockets whose worker is known (read from /proc by psutil), both workers
taking some, so the limit is reached only if their counts add up.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from agora.platform.net import free_port

LIMIT = 5
WORKERS = 2


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[int, psutil.Process]]:
    """`agora serve gateway` with two workers and a per-IP limit of 5/minute, no backends."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGORA_")},
        "AGORA_ENV": "test",
        "AGORA_DATA_DIR": str(tmp_path / "var"),
        "AGORA_DISCOVERY": "false",
        "AGORA_GATEWAY_PORT": str(port),
        "AGORA_GATEWAY_WORKERS": str(WORKERS),
        "AGORA_GATEWAY_CACHE_ENABLED": "false",
        "AGORA_GATEWAY_RATE_LIMIT": f"{LIMIT}/minute",
    }
    process = subprocess.Popen([sys.executable, "-m", "agora", "serve", "gateway"], env=env)
    try:
        _wait_until_healthy(port, process)
        yield port, psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the gateway exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the gateway never became healthy")


def _workers(gateway: psutil.Process) -> list[psutil.Process]:
    return [p for p in gateway.children(recursive=True) if "redis-server" not in p.name()]


def _worker_of(connection: socket.socket, workers: list[psutil.Process]) -> int | None:
    """The pid of the worker that accepted `connection` (None until one has)."""
    local_port = connection.getsockname()[1]
    for worker in workers:
        for seen in worker.net_connections(kind="tcp"):
            if seen.raddr and seen.raddr.port == local_port:
                return worker.pid
    return None


def _connections_on_both_workers(port: int, workers: list[psutil.Process]) -> list[socket.socket]:
    """LIMIT + 1 open connections, each accepted by a known worker, at least one per worker
    and at most LIMIT on any: per-worker counting could never reach the limit."""
    by_worker: dict[int, list[socket.socket]] = {w.pid: [] for w in workers}
    spare: list[socket.socket] = []
    deadline = time.monotonic() + 30
    while not all(by_worker.values()) or sum(map(len, by_worker.values())) < LIMIT + 1:
        assert time.monotonic() < deadline, "the connections never reached both workers"
        connection = socket.create_connection(("127.0.0.1", port))
        owner = None
        while owner is None and time.monotonic() < deadline:
            owner = _worker_of(connection, workers)
            time.sleep(0.01)
        assert owner is not None
        if len(by_worker[owner]) < LIMIT:
            by_worker[owner].append(connection)
        else:
            spare.append(connection)
    for connection in spare:
        connection.close()
    chosen = [c for owned in by_worker.values() for c in owned]
    assert len(chosen) == LIMIT + 1
    return chosen


def _status_of_request(connection: socket.socket) -> int:
    connection.sendall(b"GET /v1/no-such-route HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
    answer = b""
    while b"\r\n" not in answer:
        chunk = connection.recv(4096)
        assert chunk, "the gateway closed the connection without answering"
        answer += chunk
    connection.close()
    return int(answer.split(b" ", 2)[1])


def test_the_limit_holds_across_worker_processes(gateway: tuple[int, psutil.Process]) -> None:
    port, process = gateway
    workers = _workers(process)
    assert len(workers) == WORKERS
    connections = _connections_on_both_workers(port, workers)

    statuses = [_status_of_request(connection) for connection in connections]

    # A request over the limit is refused before routing; those within it find no route.
    assert statuses == [404] * LIMIT + [429]
