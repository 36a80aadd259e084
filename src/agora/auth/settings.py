"""Settings of the auth service (`AGORA_AUTH_*`; the mail server is `AGORA_SMTP_URL`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode

from agora.auth.domain import DEFAULT_2FA_ROLES, LockoutPolicy
from agora.platform.embedded.mail_sink import DEFAULT_SMTP_PORT
from agora.platform.settings import ServiceSettings, is_loopback_url, service_settings_config

# Where the storefront receives the provider's answer, under `public_base_url`.
OIDC_CALLBACK_PATH = "/auth/oidc/callback"


class AuthSettings(ServiceSettings):
    """`AGORA_AUTH_PORT`, `AGORA_AUTH_ACCESS_TOKEN_TTL_S`, …"""

    # By name too (`AuthSettings(smtp_url=…)`), not only by the `AGORA_SMTP_URL` alias.
    model_config = {**service_settings_config("auth"), "populate_by_name": True}

    access_token_ttl_s: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_s: int = Field(default=30 * 86400, ge=3600)
    email_verification_ttl_s: int = Field(default=24 * 3600, ge=60)
    password_reset_ttl_s: int = Field(default=3600, ge=60)
    # A new signing key is published this long before it signs, so every verifier knows it
    # first (they look for an unknown kid at most every 10 s).
    key_activation_delay_s: float = Field(default=30.0, ge=0)
    mfa_challenge_ttl_s: int = Field(default=300, ge=30, le=1800)
    mfa_challenge_attempts: int = Field(default=5, ge=1, le=20)
    oidc_login_ttl_s: int = Field(default=600, ge=60)
    oidc_redirect_uris: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "the only redirect URIs a sign-in may name (comma-separated, compared exactly); "
            f"unset: <public_base_url>{OIDC_CALLBACK_PATH}"
        ),
    )
    require_2fa_roles: list[str] = Field(default_factory=lambda: list(DEFAULT_2FA_ROLES))
    require_verified_email: bool = True
    # Per account and client IP: a few typos are free, then the wait doubles per failure.
    lockout_free_attempts: int = Field(default=5, ge=1)
    # Per account, whatever the IP: more lenient, it is what an attacker can use against a user.
    lockout_account_free_attempts: int = Field(default=10, ge=1)
    lockout_base_delay_s: float = Field(default=1.0, gt=0)
    lockout_max_delay_s: float = Field(default=900.0, gt=0)
    # Wrong TOTP / recovery codes per account, across challenges and endpoints: a few typos are
    # free, then checks are locked for a wait that doubles per failure (a million codes to guess).
    second_factor_free_attempts: int = Field(default=5, ge=1, le=20)
    second_factor_base_delay_s: float = Field(default=30.0, gt=0)
    second_factor_max_delay_s: float = Field(default=3600.0, gt=0)
    oidc_providers: str = Field(
        default="",
        description="JSON list of identity providers: see agora.auth.oidc.providers_from_settings",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8700", description="where links in mails point"
    )
    smtp_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AGORA_SMTP_URL", "AGORA_AUTH_SMTP_URL"),
        description="smtp://[user:password@]host:port (smtps:// for TLS); unset: the local sink",
    )
    mail_from: str = "Agora <no-reply@agora.localhost>"

    @field_validator("oidc_redirect_uris", mode="before")
    @classmethod
    def _split_redirect_uris(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("oidc_redirect_uris")
    @classmethod
    def _absolute_redirect_uris(cls, value: list[str]) -> list[str]:
        for uri in value:
            parts = urlsplit(uri)
            if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
                raise ValueError(f"{uri!r} is not an absolute http(s) URL without a fragment")
        return value

    @property
    def resolved_smtp_url(self) -> str:
        return self.smtp_url or f"smtp://127.0.0.1:{DEFAULT_SMTP_PORT}"

    @property
    def allowed_redirect_uris(self) -> frozenset[str]:
        """Where an OIDC sign-in may send the browser back to (exact URLs)."""
        if self.oidc_redirect_uris:
            return frozenset(self.oidc_redirect_uris)
        return frozenset({self.public_base_url.rstrip("/") + OIDC_CALLBACK_PATH})

    def development_defaults(self) -> list[str]:
        refused = []
        if is_loopback_url(self.public_base_url):
            refused.append(
                f"AGORA_AUTH_PUBLIC_BASE_URL={self.public_base_url}: links in mails would point "
                "at the recipient's own machine; set the shop's public https URL"
            )
        if self.smtp_url is None or _is_mail_sink(self.smtp_url):
            refused.append(
                "AGORA_SMTP_URL unset or the development mail sink: mail would never leave "
                "this machine; set smtp(s)://user:password@your-mail-server:port"
            )
        loopback_redirects = sorted(u for u in self.oidc_redirect_uris if is_loopback_url(u))
        if loopback_redirects:
            refused.append(
                "AGORA_AUTH_OIDC_REDIRECT_URIS names local addresses "
                f"({', '.join(loopback_redirects)}): list the shop's public callback URLs only"
            )
        return refused

    def account_ip_lockout(self) -> LockoutPolicy:
        return LockoutPolicy(
            self.lockout_free_attempts, self.lockout_base_delay_s, self.lockout_max_delay_s
        )

    def account_lockout(self) -> LockoutPolicy:
        return LockoutPolicy(
            self.lockout_account_free_attempts,
            self.lockout_base_delay_s,
            self.lockout_max_delay_s,
        )

    def second_factor_lockout(self) -> LockoutPolicy:
        return LockoutPolicy(
            self.second_factor_free_attempts,
            self.second_factor_base_delay_s,
            self.second_factor_max_delay_s,
        )


def _is_mail_sink(smtp_url: str) -> bool:
    """The development sink: a loopback address on the sink's port."""
    parts = urlsplit(smtp_url)
    return is_loopback_url(smtp_url) and parts.port == DEFAULT_SMTP_PORT
