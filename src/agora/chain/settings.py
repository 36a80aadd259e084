"""Settings of the chain service (`AGORA_CHAIN_*`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from agora.chain.loyalty import ChallengePolicy, RewardRule
from agora.platform.settings import ServiceSettings, service_settings_config


class ChainSettings(ServiceSettings):
    """`AGORA_CHAIN_PORT`, `AGORA_CHAIN_DB_POOL_SIZE`, …"""

    model_config = service_settings_config("chain")

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
