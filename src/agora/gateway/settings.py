"""Gateway settings from `AGORA_GATEWAY_*` (and the deployment's `AGORA_REDIS_URL`)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from limits import parse_many
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agora.platform.kernel.money import is_currency
from agora.platform.settings import DEFAULT_GATEWAY_PORT


class GatewaySettings(BaseSettings):
    """How the edge listens, how long it waits for backends, what it accepts, caches and
    throttles."""

    model_config = SettingsConfigDict(
        env_prefix="AGORA_GATEWAY_", extra="ignore", populate_by_name=True
    )

    host: str | None = Field(default=None, description="listen address; unset: AGORA_HOST")
    port: int = Field(default=DEFAULT_GATEWAY_PORT, ge=0, le=65535)
    workers: int = Field(default=2, ge=1, le=64)
    backend_timeout_s: float = Field(default=5.0, gt=0, le=300)
    shutdown_timeout_s: int = Field(
        default=10,
        ge=1,
        le=600,
        description="a stopping worker still serving streams after this long is killed",
    )
    readiness_timeout_s: float = Field(default=1.0, gt=0, le=30)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    cache_enabled: bool = True
    cache_max_entries: int = Field(default=10_000, ge=1)
    cache_max_ttl_s: float = Field(default=300.0, gt=0)
    docs_enabled: bool = Field(
        default=True, description="serve /api/docs; in prod only when set explicitly"
    )
    backends: list[str] | None = Field(
        default=None,
        description="backends /readyz requires (JSON list); unset: every backend with routes",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "addresses or networks (comma-separated: `10.0.0.0/8,192.168.1.5`) of reverse "
            "proxies whose X-Forwarded-For names the client; from anyone else it is ignored"
        ),
    )
    rate_limit_enabled: bool = Field(
        default=True, description="false turns every rate limit off (benchmarks)"
    )
    rate_limit: str = Field(
        default="600/minute", description="per client IP on every API route (`limits` notation)"
    )
    rate_limit_user: str = Field(
        default="1200/minute", description="per user (token subject) on every API route"
    )
    rate_limit_strategy: Literal["fixed-window", "moving-window"] = Field(
        default="fixed-window",
        description="of the per-IP and per-user limits (methods' own use a moving window)",
    )
    ws_max_frame_bytes: int = Field(
        default=64 * 1024,
        ge=256,
        description="largest WebSocket frame a bridged stream accepts (larger: close 1009)",
    )
    ws_messages_per_minute: int = Field(
        default=60, ge=1, description="frames one bridged stream may send per minute"
    )
    ws_max_streams_per_client: int = Field(
        default=4, ge=1, description="open bridged streams per client IP and per user, per worker"
    )
    ws_idle_timeout_s: float = Field(
        default=300.0, gt=0, le=86400, description="a bridged stream silent both ways closes"
    )
    ws_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "origins (comma-separated: `https://shop.example`) whose pages may open bridged "
            "streams and event streams with the session cookie; empty: only the gateway's own host"
        ),
    )
    sse_heartbeat_s: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="an event stream silent this long gets a comment line (keeps proxies open)",
    )
    sse_retry_ms: int = Field(
        default=3000, ge=0, le=600_000, description="the reconnection delay event streams advise"
    )
    sse_open_wait_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description=(
            "how long an event stream waits for its first message before it answers 200 anyway: "
            "a refusal within it is an HTTP problem, after it an `error` event"
        ),
    )
    sse_max_duration_s: float = Field(
        default=900.0,
        gt=0,
        le=86400,
        description=(
            "an event stream ends after this long and the browser reconnects (with the then "
            "current credentials)"
        ),
    )
    sse_max_streams_per_client: int = Field(
        default=4,
        ge=1,
        description="open event streams and streamed downloads per client IP and per user, per "
        "worker",
    )
    download_open_wait_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description=(
            "how long a streamed download (a server stream of `google.api.HttpBody`) waits for "
            "its first message, which names its media type: then 504"
        ),
    )
    web_enabled: bool = Field(
        default=True, description="serve the storefront at / and the admin space at /admin"
    )
    web_locales: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["en", "de"],
        description="the storefront's languages (comma-separated; the first is the default)",
    )
    web_currencies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["EUR", "USD", "GBP"],
        description="currencies shoppers may pick (comma-separated; the first is the default)",
    )
    shop_name: str = Field(default="Agora", min_length=1, max_length=80)
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AGORA_REDIS_URL", "redis_url"),
        description=(
            "Redis shared by every worker and replica for rate limits (required in prod); "
            "unset in dev/test: an embedded Redis when workers > 1, else the worker's memory"
        ),
    )

    @property
    def needs_shared_counters(self) -> bool:
        """Rate limits are counted by more than one process, with no Redis configured."""
        return self.rate_limit_enabled and self.redis_url is None and self.workers > 1

    def development_defaults(self) -> list[str]:
        """What `AGORA_ENV=prod` refuses (see `refuse_development_defaults`)."""
        refused = []
        if self.docs_enabled and "docs_enabled" not in self.model_fields_set:
            refused.append(
                "API docs on by default: set AGORA_GATEWAY_DOCS_ENABLED=false "
                "(or =true to publish /api/docs deliberately)"
            )
        if self.rate_limit_enabled and self.redis_url is None:
            refused.append(
                "no shared rate-limit store: set AGORA_REDIS_URL (every worker and replica "
                "must count against the same limits)"
            )
        return refused

    @field_validator("web_locales", "web_currencies", mode="before")
    @classmethod
    def _split_choices(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("web_locales")
    @classmethod
    def _valid_locales(cls, value: list[str]) -> list[str]:
        if not value or any(
            not (code.isascii() and code.isalpha() and len(code) == 2) for code in value
        ):
            raise ValueError("web locales are two-letter language codes, at least one")
        return value

    @field_validator("web_currencies")
    @classmethod
    def _valid_currencies(cls, value: list[str]) -> list[str]:
        if not value or any(not is_currency(code) for code in value):
            raise ValueError("web currencies are currency codes Agora knows, at least one")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ws_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(part).strip().rstrip("/").lower() for part in value if str(part).strip()]
        return value

    @field_validator("ws_allowed_origins")
    @classmethod
    def _valid_origins(cls, value: list[str]) -> list[str]:
        for entry in value:
            scheme, separator, host = entry.partition("://")
            if scheme not in ("http", "https") or not separator or not host or "/" in host:
                raise ValueError(f"{entry!r} is not an origin like https://shop.example")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # raises ValueError naming the entry
        return value

    @field_validator("rate_limit", "rate_limit_user")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        parse_many(value)  # raises ValueError on anything `limits` cannot read
        return value
