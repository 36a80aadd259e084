"""Payments' composition root: the platform's service host, the rate provider and payment
providers chosen by settings, the payments servicer and the invoice-expiry loop."""

from __future__ import annotations

from agora._proto.agora.payments.v1 import payments_pb2_grpc
from agora.payments.jobs import InvoiceExpiry
from agora.payments.rates import RateProviderContext, rate_provider
from agora.payments.service import PaymentsConfig, PaymentsService, policy_of
from agora.payments.settings import PaymentsSettings
from agora.platform.runtime import service_host
from agora.platform.settings import PlatformSettings

SERVICE = "payments"


async def run(platform: PlatformSettings, settings: PaymentsSettings | None = None) -> None:
    """Serve payments until cancelled."""
    settings = settings or PaymentsSettings()
    providers = settings.enabled_providers(platform)  # refuses the dev provider in prod
    async with service_host(SERVICE, platform, settings) as host:
        rates = rate_provider(
            settings.rate_provider, RateProviderContext(host.engine, settings.ecb_source)
        )
        config = PaymentsConfig(
            providers=providers,
            default_provider=settings.default_provider,
            policy=policy_of(settings.invoice_ttl_s, settings.payment_tolerance_bp),
            ecb_source=settings.ecb_source,
        )
        host.server.add(
            payments_pb2_grpc.add_PaymentsServiceServicer_to_server,
            PaymentsService(host.engine, rates, config),
        )
        expiry = InvoiceExpiry(
            host.engine,
            interval_s=settings.expiry_interval_s,
            batch_size=settings.expiry_batch_size,
        )
        host.background(expiry.run())
        await host.serve_forever()
