"""Settings of the catalog service (`AGORA_CATALOG_*`)."""

from __future__ import annotations

from pydantic import Field

from agora.platform.settings import ServiceSettings, service_settings_config


class CatalogSettings(ServiceSettings):
    """`AGORA_CATALOG_PORT`, `AGORA_CATALOG_DB_POOL_SIZE`, …"""

    model_config = service_settings_config("catalog")

    expiry_interval_s: float = Field(
        default=1.0, gt=0, description="how often stale reservations are looked for"
    )
    expiry_batch_size: int = Field(default=100, ge=1, le=10_000)
