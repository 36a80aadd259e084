"""Settings of the support service (`AGORA_SUPPORT_*`)."""

from __future__ import annotations

from agora.platform.settings import ServiceSettings, service_settings_config


class SupportSettings(ServiceSettings):
    """`AGORA_SUPPORT_PORT`, `AGORA_SUPPORT_DB_POOL_SIZE`, …"""

    model_config = service_settings_config("support")
