"""Gateway settings from `AGORA_GATEWAY_*`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agora.platform.settings import DEFAULT_GATEWAY_PORT


class GatewaySettings(BaseSettings):
    """How the edge listens, how long it waits for backends, what it accepts and caches."""

    model_config = SettingsConfigDict(env_prefix="AGORA_GATEWAY_", extra="ignore")

    host: str | None = Field(default=None, description="listen address; unset: AGORA_HOST")
    port: int = Field(default=DEFAULT_GATEWAY_PORT, ge=0, le=65535)
    workers: int = Field(default=2, ge=1, le=64)
    backend_timeout_s: float = Field(default=5.0, gt=0, le=300)
    readiness_timeout_s: float = Field(default=1.0, gt=0, le=30)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    cache_enabled: bool = True
    cache_max_entries: int = Field(default=10_000, ge=1)
    cache_max_ttl_s: float = Field(default=300.0, gt=0)
    docs_enabled: bool = True
    backends: list[str] | None = Field(
        default=None,
        description="backends /readyz requires (JSON list); unset: every backend with routes",
    )
