"""A PostgreSQL of a test's own, which the test may stop and start again (the session's shared
server must stay up for every other test)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from agora.platform.embedded.postgres import EmbeddedPostgres
from agora.platform.net import free_port
from agora.platform.settings import to_asyncpg_url
from agora.platform.supervisor import spawn_command


class RestartablePostgres:
    """A dedicated embedded PostgreSQL that a test can stop and start again on the same port."""

    def __init__(self, data_dir: Path) -> None:
        self.server = EmbeddedPostgres(data_dir, free_port())
        self.server.initialise()
        self._log = data_dir.parent / "postgres.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        return to_asyncpg_url(self.server.url)

    def start(self) -> None:
        # SIGINT: PostgreSQL's fast shutdown, should this test process die first.
        argv, kwargs = spawn_command(
            self.server.command(), self.server.popen_kwargs(), signal.SIGINT
        )
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **kwargs)
        self.server.wait_until_ready()

    def stop(self) -> None:
        """Fast shutdown: the server closes every client connection, as a restart does."""
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()


def restartable_postgres(tmp_path: Path) -> Iterator[RestartablePostgres]:
    """Fixture body: a running dedicated server, stopped after the test."""
    server = RestartablePostgres(tmp_path / "pgdata")
    server.start()
    yield server
    server.stop()
