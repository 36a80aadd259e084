"""Start embedded PostgreSQL and NATS as child processes (tests, one-off commands).

`agora up` runs the same commands under its supervisor instead.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.embedded.postgres import EmbeddedPostgres
from agora.platform.net import wait_for_port
from agora.platform.supervisor import spawn_command


@dataclass(frozen=True)
class RunningInfra:
    database_url: str  # libpq form, database `postgres`
    nats_url: str


@contextmanager
def embedded_infra(
    data_dir: Path, pg_port: int, nats_port: int, *, nats_sync_interval: str = "always"
) -> Iterator[RunningInfra]:
    """Run PostgreSQL and NATS JetStream over `data_dir` until the block exits."""
    pg = EmbeddedPostgres(data_dir / "postgres", pg_port)
    nats = EmbeddedNats(data_dir / "nats", nats_port, sync_interval=nats_sync_interval)
    pg.initialise()
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with (
            (log_dir / "postgres.log").open("ab") as pg_log,
            (log_dir / "nats.log").open("ab") as nats_log,
        ):
            argv, kwargs = spawn_command(pg.command(), pg.popen_kwargs(), signal.SIGINT)
            processes.append(
                subprocess.Popen(argv, stdout=pg_log, stderr=subprocess.STDOUT, **kwargs)
            )
            processes.append(
                subprocess.Popen(nats.command(), stdout=nats_log, stderr=subprocess.STDOUT)
            )
        pg.wait_until_ready()
        wait_for_port(nats_port)
        yield RunningInfra(database_url=pg.url, nats_url=nats.url)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
