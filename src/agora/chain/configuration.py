"""The chain service's configuration as its parts use it: the network and tokens from
settings (upserted into the schema at start), and the wallet."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from agora.chain import store
from agora.chain.domain import KnownToken, Network, Policy
from agora.chain.settings import ChainSettings
from agora.chain.wallets import Wallet
from agora.platform.db import session_factory, transaction
from agora.platform.kernel.clock import utcnow

USDT_DECIMALS = 6
AGT_DECIMALS = 18


def _address(value: str) -> str:
    text = value.strip().lower()
    if (
        len(text) != 42
        or not text.startswith("0x")
        or any(c not in "0123456789abcdef" for c in text[2:])
    ):
        raise ValueError(f"{value!r} is not a 0x-hex address")
    return text


@dataclass
class ChainConfig:
    """What the servicer and the watcher share: the configured network and tokens, the wallet."""

    settings: ChainSettings
    wallet: Wallet
    network: Network = field(init=False)
    tokens: tuple[KnownToken, ...] = field(init=False)
    _installed: bool = field(default=False, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.network = Network(
            chain_id=s.chain_id,
            name=s.network_name,
            rpc_url=s.rpc_url,
            policy=Policy(
                s.confirmations_low, s.confirmations_medium, s.confirmations_high, s.block_time_ms
            ),
            treasury_address=_address(s.treasury_address),
            router_address=_address(s.router_address),
            checkpoint_block=s.start_block - 1,
            head_block=0,
            version=1,
        )
        self.tokens = (
            KnownToken("AGT", _address(s.agt_address), AGT_DECIMALS, s.agt_dust),
            KnownToken("USDT", _address(s.usdt_address), USDT_DECIMALS, s.usdt_dust),
        )

    @property
    def chain_id(self) -> int:
        return self.network.chain_id

    async def install(self, engine: AsyncEngine) -> None:
        """Upsert the configured network and tokens (once per process)."""
        if self._installed:
            return
        async with self._lock:
            if self._installed:
                return
            async with transaction(session_factory(engine)) as session:
                await store.upsert_network(session, self.network, utcnow())
                await store.upsert_tokens(session, self.chain_id, self.tokens)
            self._installed = True


def chain_config(settings: ChainSettings, *, data_dir: Path, production: bool) -> ChainConfig:
    """The configuration of `settings`; outside production a missing keystore is created."""
    keystore, passphrase = settings.wallet_files(data_dir)
    wallet = Wallet.open(keystore, passphrase, xpub=settings.xpub, create=not production)
    return ChainConfig(settings, wallet)
