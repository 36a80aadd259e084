"""Typed settings from the environment (`AGORA_*`), failing fast with a clear message.

Defaults point at the embedded infrastructure that `agora up` starts, so a laptop needs no
configuration; any `AGORA_*` variable replaces the part it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Defaults chosen away from a system PostgreSQL (5432) or NATS (4222) already on the machine.
DEFAULT_PG_PORT = 55432
DEFAULT_NATS_PORT = 54222
DEFAULT_GATEWAY_PORT = 8700
DEFAULT_GRPC_PORTS = {
    "catalog": 8711,
    "orders": 8712,
    "payments": 8713,
    "auth": 8714,
    "chain": 8715,
    "support": 8716,
    "admin": 8717,
}
DEFAULT_DATABASE = "agora"


class ProductionDefaultsRefused(ValueError):
    """Settings left at a development default that `AGORA_ENV=prod` refuses to start with."""

    def __init__(self, refused: Sequence[str]) -> None:
        self.refused = tuple(refused)
        super().__init__(
            "AGORA_ENV=prod refuses development defaults (see README, Deployment):\n  - "
            + "\n  - ".join(self.refused)
        )


class ProductionChecked(Protocol):
    def development_defaults(self) -> list[str]: ...


def refuse_development_defaults(platform: PlatformSettings, *settings: ProductionChecked) -> None:
    """Under `AGORA_ENV=prod`, raise ProductionDefaultsRefused naming every setting of
    `settings` still at a development default (each says what to set instead)."""
    if platform.env != "prod":
        return
    refused = [line for each in settings for line in each.development_defaults()]
    if refused:
        raise ProductionDefaultsRefused(refused)


def is_loopback_url(url: str) -> bool:
    """True when `url` points at this machine (`localhost`, `*.localhost`, 127.0.0.0/8, ::1)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class PlatformSettings(BaseSettings):
    """Settings shared by every process of one Agora deployment."""

    model_config = SettingsConfigDict(env_prefix="AGORA_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("var")
    host: str = Field(default="127.0.0.1", description="address services and the gateway bind")
    advertise_host: str | None = Field(
        default=None, description="address other processes reach this one at (default: host)"
    )
    pg_port: int = DEFAULT_PG_PORT
    nats_port: int = DEFAULT_NATS_PORT
    nats_sync_interval: str = Field(
        default="always",
        pattern=r"^(always|[1-9][0-9]{0,5}(ms|s|m))$",
        description="the embedded JetStream's fsync policy: `always` (every write, docs/adr/0003) "
        "or an interval such as `1s`, for measuring what fsync costs (an acked event may then be "
        "lost by a power cut)",
    )
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means the embedded server"
    )
    nats_url: str | None = Field(default=None, description="NATS URL; unset means embedded")
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    rpc_timeout_s: float = Field(default=5.0, gt=0)
    discovery: bool = True
    instance_ttl_s: float = Field(default=10.0, gt=1)
    service_key_file: Path | None = Field(
        default=None,
        description="the deployment's Ed25519 service key (PEM); default "
        "<data_dir>/secrets/service-ed25519.pem, created in dev and test only",
    )
    kek_file: Path | None = Field(
        default=None,
        description="the key-encryption key of secrets at rest (base64 lines, current first); "
        "default <data_dir>/secrets/kek, created in dev and test only",
    )
    kek: str | None = Field(
        default=None,
        description="dev and test only: the KEK lines (base64, comma-separated) instead of a file",
        repr=False,
    )
    auth_jwks_file: Path | None = Field(
        default=None,
        description="a JWKS file of access-token keys, trusted next to the auth service's",
    )

    @property
    def advertised_host(self) -> str:
        if self.advertise_host:
            return self.advertise_host
        return "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_nats(self) -> bool:
        return self.nats_url is None

    @property
    def resolved_database_url(self) -> str:
        """An SQLAlchemy asyncpg URL."""
        url = self.database_url or (
            f"postgresql://postgres@127.0.0.1:{self.pg_port}/{DEFAULT_DATABASE}"
        )
        return to_asyncpg_url(url)

    @property
    def resolved_nats_url(self) -> str:
        return self.nats_url or f"nats://127.0.0.1:{self.nats_port}"

    @model_validator(mode="after")
    def _refuse_embedded_in_production(self) -> PlatformSettings:
        if self.env == "prod" and (self.database_url is None or self.nats_url is None):
            raise ValueError(
                "AGORA_ENV=prod needs AGORA_DATABASE_URL and AGORA_NATS_URL: "
                "the embedded servers are for development"
            )
        return self


class ServiceSettings(BaseSettings):
    """Per-service settings, read from `AGORA_<SERVICE>_*`; subclass once per service."""

    model_config = SettingsConfigDict(extra="ignore")

    port: int = 0
    address: str | None = Field(
        default=None, description="static address other services use; wins over discovery"
    )
    db_pool_size: int = Field(default=10, ge=1, le=200)

    def development_defaults(self) -> list[str]:
        """Settings left at a development default that production must set, one line each
        (refused under `AGORA_ENV=prod` by `refuse_development_defaults`)."""
        return []


def service_settings_config(service: str) -> SettingsConfigDict:
    """The settings config of a service's settings class (`AGORA_CATALOG_PORT`, …)."""
    return SettingsConfigDict(env_prefix=f"AGORA_{service.upper()}_", extra="ignore")


def grpc_port(service: str, configured: int) -> int:
    """The service's gRPC port: configured, else its default."""
    return configured or DEFAULT_GRPC_PORTS[service]


def to_asyncpg_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and point SQLAlchemy at asyncpg."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def to_libpq_url(url: str) -> str:
    """The plain `postgresql://` form of an SQLAlchemy URL (for asyncpg.connect, psql)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
