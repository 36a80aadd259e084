"""The chain service's composition root: `compose` builds its parts, `run` serves them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.chain.clients import Payments
from agora.chain.configuration import ChainConfig, chain_config
from agora.chain.consumers import reward_consumers
from agora.chain.devnet import prepare_devnet_at
from agora.chain.reconciliation import Reconciler, ReconciliationJob
from agora.chain.refunds import refund_consumers
from agora.chain.rewards import RewardMinting, RewardsConfig, TokenMinter
from agora.chain.service import ChainService
from agora.chain.settings import ChainSettings
from agora.chain.sweeper import SweepChain, Sweeper
from agora.chain.watcher import Watcher
from agora.platform.db import session_factory
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "chain"


def configure(backends: Backends, settings: ChainSettings) -> ChainConfig:
    """The network, tokens and wallet of `settings` (a missing keystore is created outside
    production)."""
    platform = backends.platform
    return chain_config(settings, data_dir=platform.data_dir, production=platform.env == "prod")


def compose(
    backends: Backends, settings: ChainSettings, config: ChainConfig | None = None
) -> ServiceParts:
    """Every part of the service (servicers, consumers, jobs), built but not serving: `run`
    installs them on the host, integration tests on their own server."""
    config = config or configure(backends, settings)
    engine = backends.engine
    minter = TokenMinter(
        settings.rpc_url,
        settings.agt_address,
        config.wallet.hot_account,
        chain_id=config.chain_id,
    )
    minting = RewardMinting(
        engine,
        minter,
        interval_s=settings.reward_mint_interval_s,
        batch_size=settings.reward_mint_batch_size,
        max_attempts=settings.reward_mint_max_attempts,
        confirmations=settings.reward_confirmations,
    )
    service = ChainService(engine, config)
    service.init_rewards(
        engine,
        RewardsConfig(
            rule=settings.reward_rule(), challenges=settings.challenge_policy(config.chain_id)
        ),
        wake_minting=minting.wake,
    )
    reconciler, reconciliation, sweeper = reconciliation_parts(backends, settings, config)
    service.init_reconciliation(
        engine, reconciler, max_period=timedelta(days=settings.reconcile_max_period_days)
    )
    service.init_sweeps(engine, config)
    service.init_refunds(engine, config, SweepChain(settings.rpc_url, config.chain_id))
    add = chain_pb2_grpc.add_ChainServiceServicer_to_server
    sessions = session_factory(engine)
    return ServiceParts(
        servicers=[Servicer(add, service)],
        consumers=[
            *reward_consumers(backends.js, sessions, settings.reward_rule(), on_mint=minting.wake),
            *refund_consumers(backends.js, sessions, config),
        ],
        jobs=[Watcher(engine, config), minting, reconciliation, sweeper],
    )


def reconciliation_parts(
    backends: Backends, settings: ChainSettings, config: ChainConfig
) -> tuple[Reconciler, ReconciliationJob, Sweeper]:
    """The reconciler (payments' ledger through its gRPC API), its scheduled job, the sweeper."""
    payments = Payments(lambda: backends.channels.stub("payments", PaymentsServiceStub))
    reconciler = Reconciler(backends.engine, config, payments)
    job = ReconciliationJob(
        reconciler,
        interval_s=settings.reconcile_interval_s,
        period=timedelta(seconds=settings.reconcile_period_s),
        lag=timedelta(seconds=settings.reconcile_lag_s),
        stale_after=timedelta(seconds=settings.reconcile_stale_after_s),
    )
    return reconciler, job, Sweeper(backends.engine, config)


async def run(platform: PlatformSettings, settings: ChainSettings | None = None) -> None:
    """Serve the chain service until cancelled."""
    settings = settings or ChainSettings()
    async with service_host(SERVICE, platform, settings) as host:
        config = configure(host.backends, settings)
        if settings.devnet:  # `agora up`'s embedded node: contracts, funded wallets, minter
            await asyncio.to_thread(
                prepare_devnet_at,
                settings.rpc_url,
                treasury=settings.treasury_address,
                operator=config.wallet.hot_account().address,
            )
        host.install(compose(host.backends, settings, config))
        await host.serve_forever()
