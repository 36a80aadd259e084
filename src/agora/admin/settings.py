"""Settings of the admin service (`AGORA_ADMIN_*`)."""

from __future__ import annotations

from pydantic import field_validator

from agora.platform.kernel.money import ISO_EXPONENTS
from agora.platform.settings import ServiceSettings, service_settings_config


class AdminSettings(ServiceSettings):
    """`AGORA_ADMIN_PORT`, `AGORA_ADMIN_DB_POOL_SIZE`, …"""

    model_config = service_settings_config("admin")

    # The currency analytics convert every order's money into (`AGORA_ADMIN_REPORTING_CURRENCY`).
    reporting_currency: str = "EUR"

    @field_validator("reporting_currency")
    @classmethod
    def _known_currency(cls, code: str) -> str:
        if code not in ISO_EXPONENTS:
            raise ValueError(f"unknown ISO 4217 currency {code!r}")
        return code
