"""The composed service: a development data directory gets an encrypted keystore, and the
parts are the servicer, the watcher, the reward minting, the scheduled reconciliation and the
sweeper (jobs of the host)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from agora.chain.bootstrap import compose
from agora.chain.reconciliation import ReconciliationJob
from agora.chain.rewards import RewardMinting
from agora.chain.service import ChainService
from agora.chain.settings import ChainSettings
from agora.chain.sweeper import Sweeper
from agora.chain.wallets import load_seed
from agora.chain.watcher import Watcher
from agora.platform.runtime import Backends
from agora.platform.settings import PlatformSettings


def test_a_development_start_creates_the_keystore_and_composes_the_watcher(
    tmp_path: Path, chain_engine: AsyncEngine, database_url: str
) -> None:
    platform = PlatformSettings(database_url=database_url, discovery=False, data_dir=tmp_path)
    parts = compose(Backends(platform, chain_engine, None, None), ChainSettings())  # type: ignore[arg-type]
    keystore = tmp_path / "secrets" / "chain-keystore.json"
    seed = load_seed(keystore, tmp_path / "secrets" / "chain-keystore.passphrase")
    (servicer,) = parts.servicers
    watcher, minting, reconciliation, sweeper = parts.jobs
    assert isinstance(watcher, Watcher)
    assert isinstance(minting, RewardMinting)
    assert isinstance(reconciliation, ReconciliationJob)
    assert isinstance(sweeper, Sweeper)
    assert watcher.chain_id == 31337
    # the servicer derives from the keystore's xpub
    assert isinstance(servicer.implementation, ChainService)
    config = servicer.implementation.config
    assert config.wallet.deposits.address(5) == seed.deposit_account(5).address
    assert config.wallet.hot_account().address == seed.hot_account().address


def test_the_composed_service_consumes_orders_for_rewards_and_payments_refunds(
    tmp_path: Path, chain_engine: AsyncEngine, database_url: str
) -> None:
    platform = PlatformSettings(database_url=database_url, discovery=False, data_dir=tmp_path)
    parts = compose(Backends(platform, chain_engine, None, None), ChainSettings())  # type: ignore[arg-type]
    consumers = {(c.stream, c.durable): c.filter_subjects for c in parts.consumers}  # type: ignore[attr-defined]
    assert consumers == {
        ("ORDERS", "chain-rewards"): ["orders.order.placed", "orders.order.paid"],
        ("PAYMENTS", "chain-refunds"): ["payments.invoice.refunded"],
    }
