"""Settings of the payments service (`AGORA_PAYMENTS_*`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from agora.payments.domain import InvoicePolicy
from agora.platform.settings import PlatformSettings, ServiceSettings, service_settings_config


class PaymentsSettings(ServiceSettings):
    """`AGORA_PAYMENTS_PORT`, `AGORA_PAYMENTS_DEV_PROVIDER`, `AGORA_PAYMENTS_RATE_PROVIDER`, …"""

    model_config = service_settings_config("payments")

    dev_provider: bool | None = Field(
        default=None, description="enable the dev provider (default: on outside prod; never prod)"
    )
    providers: list[str] = Field(default_factory=list, description="other payment providers")
    default_provider: str = Field(default="dev", description="provider of invoices naming none")
    rate_provider: str = Field(
        default="db",
        description="db | ecb | ticker | peg | an entry-point name, or a list (ticker,peg,db)",
    )
    ecb_source: str | None = Field(default=None, description="ECB XML file path or URL")
    ticker_url: str | None = Field(
        default=None, description="base URL of a Binance-format price ticker"
    )
    ticker_timeout_s: float = Field(default=5.0, gt=0, le=60)
    rate_pegs: str | None = Field(default=None, description="pegs: 'USDT=1 USD;AGT=0.01 EUR'")
    chain_speed: str = Field(default="", description="the chain provider's speed: low|medium|high")
    chain_id: int = Field(default=0, ge=0, description="the chain provider's network (0: default)")
    invoice_ttl_s: int = Field(default=900, ge=1, le=7 * 86_400)
    payment_tolerance_bp: int = Field(default=0, ge=0, lt=10_000)
    expiry_interval_s: float = Field(default=1.0, gt=0)
    expiry_batch_size: int = Field(default=100, ge=1, le=10_000)

    def invoice_policy(self) -> InvoicePolicy:
        """The lifetime and underpayment tolerance of invoices that do not set their own."""
        return InvoicePolicy(
            ttl=timedelta(seconds=self.invoice_ttl_s), tolerance_bp=self.payment_tolerance_bp
        )

    def enabled_providers(self, platform: PlatformSettings) -> list[str]:
        """The payment providers to load; refuses the dev provider in production."""
        dev = self.dev_provider if self.dev_provider is not None else platform.env != "prod"
        if dev and platform.env == "prod":
            raise ValueError("AGORA_PAYMENTS_DEV_PROVIDER=true is refused with AGORA_ENV=prod")
        names = [name for name in self.providers if name != "dev"]
        return (["dev"] if dev else []) + names
