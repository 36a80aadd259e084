"""Settings of the auth service (`AGORA_AUTH_*`; the mail server is `AGORA_SMTP_URL`)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from agora.auth.domain import DEFAULT_2FA_ROLES, LockoutPolicy
from agora.platform.embedded.mail_sink import DEFAULT_SMTP_PORT
from agora.platform.settings import ServiceSettings, service_settings_config


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

    @property
    def resolved_smtp_url(self) -> str:
        return self.smtp_url or f"smtp://127.0.0.1:{DEFAULT_SMTP_PORT}"

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
