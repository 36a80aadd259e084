"""Settings of the chain service (`AGORA_CHAIN_*`)."""

from __future__ import annotations

from agora.platform.settings import ServiceSettings, service_settings_config


class ChainSettings(ServiceSettings):
    """`AGORA_CHAIN_PORT`, `AGORA_CHAIN_DB_POOL_SIZE`, …"""

    model_config = service_settings_config("chain")
