"""Settings of the admin service (`AGORA_ADMIN_*`)."""

from __future__ import annotations

from agora.platform.settings import ServiceSettings, service_settings_config


class AdminSettings(ServiceSettings):
    """`AGORA_ADMIN_PORT`, `AGORA_ADMIN_DB_POOL_SIZE`, …"""

    model_config = service_settings_config("admin")
