"""Settings of the chain service (`AGORA_CHAIN_*`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import AliasChoices, Field

from agora.chain.contracts import dev_addresses
from agora.chain.devnet import dev_treasury
from agora.chain.loyalty import ChallengePolicy, RewardRule
from agora.platform.embedded.anvil import DEV_CHAIN_ID
from agora.platform.settings import ServiceSettings, service_settings_config

_DEV = dev_addresses()


class ChainSettings(ServiceSettings):
    """`AGORA_CHAIN_RPC_URL`, `AGORA_CHAIN_CHAIN_ID`, `AGORA_CHAIN_KEYSTORE_FILE`, …"""

    model_config = service_settings_config("chain") | {"populate_by_name": True}

    # --- the network ---------------------------------------------------------------------
    rpc_url: str = Field(default="http://127.0.0.1:8545", description="JSON-RPC over HTTP")
    ws_url: str | None = Field(
        default=None,
        description="JSON-RPC over WebSocket for newHeads (default: derived from a loopback "
        "rpc_url, the embedded node; none otherwise: the watcher polls)",
    )
    # `AGORA_CHAIN_ID` (the prefix would make it AGORA_CHAIN_CHAIN_ID).
    chain_id: int = Field(
        default=DEV_CHAIN_ID, ge=1, validation_alias=AliasChoices("AGORA_CHAIN_ID", "chain_id")
    )
    network_name: str = Field(default="anvil", max_length=64)
    confirmations_low: int = Field(default=1, ge=1, le=10_000)
    confirmations_medium: int = Field(default=2, ge=1, le=10_000)
    confirmations_high: int = Field(default=6, ge=1, le=10_000)
    block_time_ms: int = Field(default=1000, ge=1, le=600_000)

    # --- contracts and limits ------------------------------------------------------------
    usdt_address: str = Field(default=_DEV.usdt, description="the USDT token contract")
    agt_address: str = Field(default=_DEV.token, description="the shop token (AGT) contract")
    router_address: str = Field(default=_DEV.router, description="the PaymentRouter contract")
    treasury_address: str = Field(default=dev_treasury(), description="where sweeps move funds")
    usdt_dust: int = Field(default=10_000, ge=0, description="USDT base units (0.01 USDT)")
    agt_dust: int = Field(default=10**16, ge=0, description="AGT base units (0.01 AGT)")

    devnet: bool = Field(
        default=False,
        description="a development chain `agora up` runs: deploy the contracts, fund the dev "
        "wallets and the operations account at start",
    )

    # --- the watcher ---------------------------------------------------------------------
    max_block_range: int = Field(default=500, ge=1, le=100_000, description="eth_getLogs span")
    poll_interval_s: float = Field(default=0.5, gt=0, le=60)
    start_block: int = Field(default=0, ge=0, description="first block read on a new network")
    reorg_window: int = Field(default=64, ge=1, le=10_000, description="block hashes kept")
    reread_blocks: int = Field(
        default=2,
        ge=0,
        le=64,
        description="blocks already read that each pass reads again: a node (or a provider's "
        "load balancer) may show a new head before its logs, and a log missed then is found",
    )
    max_filter_addresses: int = Field(
        default=1000,
        ge=0,
        le=100_000,
        description="watched deposit addresses sent in the eth_getLogs filter; more, and every "
        "ERC-20 Transfer of a range is read and filtered by the watcher",
    )

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

    # --- other parts' settings (sweeps, reconciliation) -------------------------------------
    reconcile_interval_s: float = Field(
        default=86_400, gt=0, le=30 * 86_400, description="the scheduled run's interval"
    )
    reconcile_period_s: int = Field(
        default=86_400, ge=60, le=31 * 86_400, description="what the scheduled run covers"
    )
    reconcile_lag_s: int = Field(
        default=300, ge=0, le=86_400, description="the scheduled run ends this long ago"
    )
    reconcile_max_period_days: int = Field(default=31, ge=1, le=366)
    reconcile_stale_after_s: int = Field(
        default=3600, ge=60, description="a run still running after this failed (interrupted)"
    )
    sweep_interval_s: float = Field(default=30.0, gt=0, le=86_400)
    sweep_min_age_s: int = Field(
        default=600, ge=0, le=30 * 86_400, description="a deposit's newest transfer is this old"
    )
    sweep_confirmations: int = Field(
        default=6, ge=1, le=10_000, description="...and has this many confirmations"
    )
    sweep_batch_size: int = Field(default=20, ge=1, le=500)
    sweep_gas_margin_bp: int = Field(
        default=12_000, ge=10_000, le=100_000, description="gas limit: the estimate times this"
    )
    # --- loyalty rewards and wallet registration ------------------------------------------
    reward_bp: int = Field(
        default=100, ge=0, le=10_000, description="reward: basis points of a paid order's total"
    )
    reward_agt_prices: dict[str, int] = Field(
        default_factory=lambda: {"EUR": 100, "USD": 100},
        description="minor units of each currency one AGT is worth (JSON; a currency absent "
        "here earns nothing)",
    )
    reward_max_per_order: int = Field(
        default=1_000 * 10**18, ge=0, lt=2**256, description="AGT base units, at most per order"
    )
    reward_mint_interval_s: float = Field(default=2.0, gt=0, le=3600)
    reward_mint_batch_size: int = Field(default=20, ge=1, le=500)
    reward_mint_max_attempts: int = Field(default=5, ge=1, le=100)
    reward_confirmations: int = Field(default=1, ge=1, le=10_000)
    wallet_domain: str = Field(
        default="localhost:8000", max_length=255, description="the shop's host in SIWE messages"
    )
    wallet_uri: str = Field(default="http://localhost:8000", max_length=2048)
    wallet_challenge_ttl_s: int = Field(default=600, ge=30, le=86_400)
    wallet_challenge_limit: int = Field(default=5, ge=1, le=100)

    def reward_rule(self) -> RewardRule:
        return RewardRule(
            bp=self.reward_bp,
            agt_price_minor=dict(self.reward_agt_prices),
            max_per_order=self.reward_max_per_order,
        )

    def challenge_policy(self, chain_id: int) -> ChallengePolicy:
        return ChallengePolicy(
            domain=self.wallet_domain,
            uri=self.wallet_uri,
            chain_id=chain_id,
            ttl=timedelta(seconds=self.wallet_challenge_ttl_s),
            open_limit=self.wallet_challenge_limit,
        )
