"""An embedded PostgreSQL 16 server from the `pgserver` wheel, listening on 127.0.0.1:<port>.

pgserver's own `get_server` serves only on a Unix socket; Agora needs TCP so that every service
process (and the user's tools) can connect alike, so we run its binaries directly.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any


def _postgres_bin_path() -> Path:
    # Located without importing pgserver, whose import has side effects we do not need.
    spec = find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("PostgreSQL binaries not found: install the `pgserver` package")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _postgres_bin_path()
SYSTEM_USER = "pgserver"  # postgres refuses to run as root
SUPERUSER = "postgres"
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "unix_socket_directories": "",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "synchronous_commit": "on",
    "fsync": "on",
}


@dataclass(frozen=True)
class EmbeddedPostgres:
    """How to run a PostgreSQL server over `data_dir` on `port`."""

    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _run_as(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        entry = _ensure_system_user()
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def initialise(self) -> None:
        """Create the cluster on first use (idempotent)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _grant_traversal(self.data_dir)
            _grant_traversal(POSTGRES_BIN_PATH)
            entry = _ensure_system_user()
            for path in [self.data_dir, *self.data_dir.rglob("*")]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        if (self.data_dir / "PG_VERSION").exists():
            return
        subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                SUPERUSER,
            ],
            check=True,
            capture_output=True,
            **self._run_as(),
        )

    def command(self) -> list[str]:
        """The foreground server command line (the supervisor owns the process)."""
        args = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        for key, value in SERVER_SETTINGS.items():
            args += ["-c", f"{key}={value}"]
        return args

    def wait_until_ready(self, timeout_s: float = 30.0) -> None:
        """Block until the server accepts queries (an open port is not enough: it may still be
        starting up or recovering)."""
        deadline = time.monotonic() + timeout_s
        probe = [
            str(POSTGRES_BIN_PATH / "pg_isready"),
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        while subprocess.run(probe, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL on port {self.port} not ready after {timeout_s}s")
            time.sleep(0.1)

    def popen_kwargs(self) -> dict[str, Any]:
        """Extra `subprocess.Popen` arguments (drop root privileges)."""
        return self._run_as()


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", SYSTEM_USER], check=True)
        return pwd.getpwnam(SYSTEM_USER)


def _grant_traversal(path: Path) -> None:
    """Let the unprivileged server user reach `path` (and read binaries below it)."""
    for parent in path.resolve().parents:
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH | stat.S_IXGRP)
    if path == POSTGRES_BIN_PATH:
        lib = POSTGRES_BIN_PATH.parent
        for item in [lib, *lib.rglob("*")]:
            mode = item.stat().st_mode | stat.S_IROTH | stat.S_IRGRP
            if item.is_dir() or mode & stat.S_IXUSR:
                mode |= stat.S_IXOTH | stat.S_IXGRP
            item.chmod(mode)
