"""Settings of the admin service (`AGORA_ADMIN_*`)."""

from __future__ import annotations

from pydantic import Field

from agora.platform.settings import ServiceSettings, service_settings_config


class AdminSettings(ServiceSettings):
    """`AGORA_ADMIN_PORT`, `AGORA_ADMIN_DB_POOL_SIZE`, …"""

    model_config = service_settings_config("admin")

    # How long a 2FA reset waits for a second staff member's approval.
    totp_reset_approval_ttl_s: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    # Deadline of each call user management makes to auth and orders.
    users_call_timeout_s: float = Field(default=5.0, gt=0, le=60)
