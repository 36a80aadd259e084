"""A real EVM node for tests: the `anvil` that `make` installs, on a free loopback port.

`running_anvil()` starts one (~0.3 s) and stops it after the block; `Anvil.stop()` and
`Anvil.start()` take it down and up again on the same port (a node outage). Blocks come one per
transaction unless `block_time_s` is given; tests mine more with `evm_mine` / `anvil_mine`,
and reorganise with `evm_snapshot` / `evm_revert`.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from web3 import Web3

from agora.platform.embedded.anvil import DEV_CHAIN_ID, EmbeddedAnvil
from agora.platform.net import free_port, wait_for_port
from agora.platform.supervisor import spawn_command


@dataclass
class Anvil:
    node: EmbeddedAnvil
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def ws_url(self) -> str:
        return self.node.ws_url

    @property
    def chain_id(self) -> int:
        return self.node.chain_id

    def web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 10}))

    def start(self) -> None:
        argv, kwargs = spawn_command(self.node.command(), {}, signal.SIGTERM)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **kwargs)
        wait_for_port(self.node.port, timeout_s=20)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def rpc(self, method: str, *params: object) -> object:
        """One raw JSON-RPC call (anvil's own methods: `anvil_mine`, `evm_snapshot`, …)."""
        return self.web3().provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))


@contextmanager
def running_anvil(
    log_dir: Path,
    *,
    chain_id: int = DEV_CHAIN_ID,
    block_time_s: float | None = None,
    state_dir: Path | None = None,
) -> Iterator[Anvil]:
    """An anvil node on a free port until the block exits."""
    node = EmbeddedAnvil(state_dir, free_port(), chain_id=chain_id, block_time_s=block_time_s)
    anvil = Anvil(node, log_dir / f"anvil-{node.port}.log")
    anvil.start()
    try:
        yield anvil
    finally:
        anvil.stop()
