"""Payments' composition root: the rate provider and payment providers chosen by settings, the
payments servicer, the chain-transfer consumer and the invoice-expiry job, built by `compose`
and served by `run`."""

from __future__ import annotations

from agora._proto.agora.payments.v1 import payments_pb2_grpc
from agora.payments.consumers import payment_consumers
from agora.payments.jobs import InvoiceExpiry
from agora.payments.onchain import CHAIN
from agora.payments.providers import ProviderContext
from agora.payments.rates import RateProviderContext, rate_provider
from agora.payments.service import PaymentsConfig, PaymentsService
from agora.payments.settings import PaymentsSettings
from agora.platform.db import session_factory
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "payments"


def compose(backends: Backends, settings: PaymentsSettings) -> ServiceParts:
    """Every part of payments, built on `backends` without serving."""
    config = PaymentsConfig(
        providers=settings.enabled_providers(backends.platform),  # refuses dev in prod
        default_provider=settings.default_provider,
        policy=settings.invoice_policy(),
        ecb_source=settings.ecb_source,
    )
    rates = rate_provider(
        settings.rate_provider,
        RateProviderContext(
            backends.engine,
            settings.ecb_source,
            ticker_url=settings.ticker_url,
            pegs=settings.rate_pegs,
            ticker_timeout_s=settings.ticker_timeout_s,
        ),
    )
    provider_context = ProviderContext(
        stub=backends.channels.stub,
        timeout_s=backends.platform.rpc_timeout_s,
        settings={"chain_speed": settings.chain_speed, "chain_id": str(settings.chain_id)},
    )
    expiry = InvoiceExpiry(
        backends.engine,
        interval_s=settings.expiry_interval_s,
        batch_size=settings.expiry_batch_size,
    )
    servicer = PaymentsService(backends.engine, rates, config, provider_context)
    # The chain's transfers matter only with the chain provider (its CHAIN stream exists then).
    consumers = (
        payment_consumers(backends.js, session_factory(backends.engine))
        if CHAIN in config.providers
        else []
    )
    return ServiceParts(
        servicers=[Servicer(payments_pb2_grpc.add_PaymentsServiceServicer_to_server, servicer)],
        consumers=consumers,
        jobs=[expiry],
    )


async def run(platform: PlatformSettings, settings: PaymentsSettings | None = None) -> None:
    """Serve payments until cancelled."""
    settings = settings or PaymentsSettings()
    settings.enabled_providers(platform)  # refuse the dev provider in prod before starting
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
