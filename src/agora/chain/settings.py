"""Settings of the chain service (`AGORA_CHAIN_*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agora.chain.contracts import dev_addresses
from agora.platform.embedded.anvil import DEV_CHAIN_ID
from agora.platform.settings import ServiceSettings, service_settings_config

_DEV = dev_addresses()


class ChainSettings(ServiceSettings):
    """`AGORA_CHAIN_RPC_URL`, `AGORA_CHAIN_CHAIN_ID`, `AGORA_CHAIN_KEYSTORE_FILE`, …"""

    model_config = service_settings_config("chain")

    # --- the network ---------------------------------------------------------------------
    rpc_url: str = Field(default="http://127.0.0.1:8545", description="JSON-RPC over HTTP")
    ws_url: str | None = Field(
        default=None,
        description="JSON-RPC over WebSocket for newHeads (default: derived from a loopback "
        "rpc_url, the embedded node; none otherwise: the watcher polls)",
    )
    chain_id: int = Field(default=DEV_CHAIN_ID, ge=1)
    network_name: str = Field(default="anvil", max_length=64)
    confirmations_low: int = Field(default=1, ge=1, le=10_000)
    confirmations_medium: int = Field(default=2, ge=1, le=10_000)
    confirmations_high: int = Field(default=6, ge=1, le=10_000)
    block_time_ms: int = Field(default=1000, ge=1, le=600_000)

    # --- contracts and limits ------------------------------------------------------------
    usdt_address: str = Field(default=_DEV.usdt, description="the USDT token contract")
    agt_address: str = Field(default=_DEV.token, description="the shop token (AGT) contract")
    router_address: str = Field(default=_DEV.router, description="the PaymentRouter contract")
    treasury_address: str = Field(default=_DEV.deployer, description="where sweeps move funds")
    usdt_dust: int = Field(default=10_000, ge=0, description="USDT base units (0.01 USDT)")
    agt_dust: int = Field(default=10**16, ge=0, description="AGT base units (0.01 AGT)")

    # --- the watcher ---------------------------------------------------------------------
    max_block_range: int = Field(default=500, ge=1, le=100_000, description="eth_getLogs span")
    poll_interval_s: float = Field(default=0.5, gt=0, le=60)
    start_block: int = Field(default=0, ge=0, description="first block read on a new network")
    reorg_window: int = Field(default=64, ge=1, le=10_000, description="block hashes kept")

    # --- the HD wallet -------------------------------------------------------------------
    keystore_file: Path | None = Field(
        default=None, description="encrypted seed (keystore v3); created in development"
    )
    passphrase_file: Path | None = Field(default=None, description="the keystore's passphrase")
    xpub: str | None = Field(
        default=None, description="account xpub m/44'/60'/0' (default: from the keystore)"
    )

    def websocket_url(self) -> str | None:
        """Where to subscribe to new heads: `ws_url`, or the embedded node's ws endpoint."""
        if self.ws_url:
            return self.ws_url
        for local in ("http://127.0.0.1:", "http://localhost:"):
            if self.rpc_url.startswith(local):
                return "ws://" + self.rpc_url.removeprefix("http://")
        return None

    def wallet_files(self, data_dir: Path) -> tuple[Path, Path]:
        """The keystore and passphrase files: as configured, else under `data_dir`/secrets."""
        secrets = data_dir / "secrets"
        return (
            self.keystore_file or secrets / "chain-keystore.json",
            self.passphrase_file or secrets / "chain-keystore.passphrase",
        )

    def development_defaults(self) -> list[str]:
        refused = []
        if self.keystore_file is None and self.xpub is None:
            refused.append(
                "AGORA_CHAIN_KEYSTORE_FILE and AGORA_CHAIN_XPUB unset: deposit addresses need "
                "the shop's HD wallet (`agora chain keystore create`, or an xpub)"
            )
        if self.keystore_file is not None and self.passphrase_file is None:
            refused.append("AGORA_CHAIN_PASSPHRASE_FILE unset: the keystore cannot be opened")
        return refused

    # --- other helpers' settings (rewards, sweeps, reconciliation) below -----------------
