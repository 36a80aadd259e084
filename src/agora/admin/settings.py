"""Settings of the admin service (`AGORA_ADMIN_*`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from agora.admin.content import locale_violations
from agora.platform.embedded.mail_sink import DEFAULT_SMTP_PORT
from agora.platform.kernel.money import ISO_EXPONENTS
from agora.platform.settings import ServiceSettings, service_settings_config


class AdminSettings(ServiceSettings):
    """`AGORA_ADMIN_PORT`, `AGORA_ADMIN_DB_POOL_SIZE`, …"""

    # By name too (`AdminSettings(smtp_url=…)`), not only by the `AGORA_SMTP_URL` alias.
    model_config = {**service_settings_config("admin"), "populate_by_name": True}

    content_locales: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["en", "de"],
        description="BCP 47 tags content may be written in (comma-separated: `en,de,fr-CH`)",
    )
    media_dir: Path | None = Field(
        default=None, description="where uploaded media live; unset: <data_dir>/media"
    )
    media_max_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="largest accepted upload (the gateway's body limit also bounds REST uploads)",
    )
    content_schedule_interval_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="how often passed publish/unpublish times are announced",
    )

    @field_validator("content_locales", mode="before")
    @classmethod
    def _split_locales(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("content_locales")
    @classmethod
    def _check_locales(cls, value: list[str]) -> list[str]:
        if not value or len(value) > 50:
            raise ValueError("between 1 and 50 locales")
        if bad := locale_violations(value):
            raise ValueError(f"not BCP 47 language tags: {', '.join(bad)}")
        return list(dict.fromkeys(value))

    # How long a 2FA reset waits for a second staff member's approval.
    totp_reset_approval_ttl_s: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    # Deadline of each call user management makes to auth and orders.
    users_call_timeout_s: float = Field(default=5.0, gt=0, le=60)

    # The currency analytics convert every order's money into (`AGORA_ADMIN_REPORTING_CURRENCY`).
    reporting_currency: str = "EUR"

    @field_validator("reporting_currency")
    @classmethod
    def _known_currency(cls, code: str) -> str:
        if code not in ISO_EXPONENTS:
            raise ValueError(f"unknown ISO 4217 currency {code!r}")
        return code

    # Where media bytes live (`AGORA_ADMIN_MEDIA_STORE`): `media_dir`, or an S3-compatible bucket.
    media_store: Literal["disk", "s3"] = "disk"
    media_s3_bucket: str | None = Field(default=None, min_length=3, max_length=63)
    media_s3_endpoint: str | None = Field(
        default=None, description="an S3-compatible server's URL (MinIO, Ceph, R2); unset: AWS"
    )
    media_s3_region: str = Field(default="us-east-1", max_length=50)
    media_s3_prefix: str = Field(default="", max_length=200, description="keys' prefix")
    media_s3_access_key_id: str | None = Field(
        default=None, description="unset: AWS_ACCESS_KEY_ID, a web identity or the instance role"
    )
    media_s3_secret_access_key: SecretStr | None = None
    media_s3_secret_access_key_file: Path | None = Field(
        default=None, description="a file holding the secret key (a mounted secret)"
    )

    @model_validator(mode="after")
    def _complete_s3_store(self) -> AdminSettings:
        if self.media_store != "s3":
            return self
        if not self.media_s3_bucket:
            raise ValueError("AGORA_ADMIN_MEDIA_STORE=s3 needs AGORA_ADMIN_MEDIA_S3_BUCKET")
        if self.media_s3_endpoint and not self.media_s3_endpoint.startswith(
            ("http://", "https://")
        ):
            raise ValueError("AGORA_ADMIN_MEDIA_S3_ENDPOINT must be an http(s) URL")
        if self.media_s3_access_key_id and self.media_s3_secret_key() is None:
            raise ValueError(
                "AGORA_ADMIN_MEDIA_S3_ACCESS_KEY_ID needs AGORA_ADMIN_MEDIA_S3_SECRET_ACCESS_KEY "
                "or AGORA_ADMIN_MEDIA_S3_SECRET_ACCESS_KEY_FILE"
            )
        return self

    def media_s3_secret_key(self) -> str | None:
        """The S3 secret key: the setting's, else the file's (stripped), else None."""
        if self.media_s3_secret_access_key is not None:
            return self.media_s3_secret_access_key.get_secret_value()
        if self.media_s3_secret_access_key_file is not None:
            return self.media_s3_secret_access_key_file.read_text().strip()
        return None

    # Reports: a period is closed (its report frozen) once its end is this far in the past.
    report_close_grace_s: int = Field(default=24 * 3600, ge=0, le=31 * 24 * 3600)
    report_schedule_interval_s: float = Field(
        default=60.0, gt=0, le=3600, description="how often due report schedules are mailed"
    )
    smtp_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AGORA_SMTP_URL", "AGORA_ADMIN_SMTP_URL"),
        description="where scheduled reports are mailed through; unset: the local sink",
    )
    mail_from: str = "Agora reports <reports@agora.localhost>"

    @property
    def resolved_smtp_url(self) -> str:
        return self.smtp_url or f"smtp://127.0.0.1:{DEFAULT_SMTP_PORT}"
