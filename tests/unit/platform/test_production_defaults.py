"""`AGORA_ENV=prod` refuses to start with development defaults (README, "Deployment"): API docs
on by default, mail links to localhost, the development mail sink, rate limits counted per
process; each refusal names the variable to set. Outside prod the same defaults are fine."""

from __future__ import annotations

from pathlib import Path

import pytest

from agora.auth.settings import AuthSettings
from agora.gateway.settings import GatewaySettings
from agora.platform.embedded.mail_sink import DEFAULT_SMTP_PORT
from agora.platform.runtime import PageTokenKey
from agora.platform.settings import (
    PlatformSettings,
    ProductionDefaultsRefused,
    refuse_development_defaults,
)

PROD = PlatformSettings(env="prod", database_url="postgresql://db/agora", nats_url="nats://bus")
REDIS = "redis://redis.internal:6379/0"
SMTP = "smtps://shop:secret@mail.example.com:465"
PUBLIC = "https://shop.example.com"


def refused_lines(*settings: GatewaySettings | AuthSettings) -> list[str]:
    with pytest.raises(ProductionDefaultsRefused) as refused:
        refuse_development_defaults(PROD, *settings)
    return list(refused.value.refused)


def test_gateway_defaults_are_refused_in_prod_naming_what_to_set() -> None:
    lines = refused_lines(GatewaySettings())

    assert len(lines) == 2
    assert "AGORA_GATEWAY_DOCS_ENABLED" in lines[0]
    assert "AGORA_REDIS_URL" in lines[1]


def test_api_docs_in_prod_only_when_asked_for() -> None:
    refuse_development_defaults(PROD, GatewaySettings(docs_enabled=True, redis_url=REDIS))
    refuse_development_defaults(PROD, GatewaySettings(docs_enabled=False, redis_url=REDIS))

    assert "AGORA_GATEWAY_DOCS_ENABLED" in refused_lines(GatewaySettings(redis_url=REDIS))[0]


def test_prod_rate_limits_need_a_shared_store_even_with_one_worker() -> None:
    one_worker = GatewaySettings(docs_enabled=False, workers=1)

    assert "AGORA_REDIS_URL" in refused_lines(one_worker)[0]
    refuse_development_defaults(PROD, GatewaySettings(docs_enabled=False, rate_limit_enabled=False))


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8700",
        "http://localhost:8700",
        "https://LOCALHOST",
        "http://[::1]:8700",
        "http://127.1.2.3",
        "https://shop.localhost",
    ],
)
def test_mail_links_to_this_machine_are_refused_in_prod(base_url: str) -> None:
    lines = refused_lines(AuthSettings(public_base_url=base_url, smtp_url=SMTP))

    assert len(lines) == 1
    assert lines[0].startswith(f"AGORA_AUTH_PUBLIC_BASE_URL={base_url}")


@pytest.mark.parametrize(
    "smtp_url",
    [None, f"smtp://127.0.0.1:{DEFAULT_SMTP_PORT}", f"smtp://localhost:{DEFAULT_SMTP_PORT}"],
)
def test_the_development_mail_sink_is_refused_in_prod(smtp_url: str | None) -> None:
    lines = refused_lines(AuthSettings(public_base_url=PUBLIC, smtp_url=smtp_url))

    assert len(lines) == 1
    assert "AGORA_SMTP_URL" in lines[0]


def test_a_local_relay_and_a_public_shop_are_accepted_in_prod() -> None:
    auth = AuthSettings(public_base_url=PUBLIC, smtp_url="smtp://127.0.0.1:25")
    gateway = GatewaySettings(docs_enabled=False, redis_url=REDIS)

    refuse_development_defaults(PROD, auth, gateway)


def test_every_refusal_of_a_process_is_reported_at_once() -> None:
    message = str(ProductionDefaultsRefused(refused_lines(AuthSettings(), GatewaySettings())))

    for variable in (
        "AGORA_AUTH_PUBLIC_BASE_URL",
        "AGORA_SMTP_URL",
        "AGORA_GATEWAY_DOCS_ENABLED",
        "AGORA_REDIS_URL",
    ):
        assert variable in message


@pytest.mark.parametrize("env", ["dev", "test"])
def test_development_defaults_are_fine_outside_prod(env: str, tmp_path: Path) -> None:
    platform = PlatformSettings(env=env, data_dir=tmp_path)

    refuse_development_defaults(platform, AuthSettings(), GatewaySettings())


def test_oidc_redirects_default_to_the_public_callback_and_local_ones_are_refused_in_prod() -> None:
    default = AuthSettings(public_base_url=PUBLIC + "/", smtp_url=SMTP)
    local = AuthSettings(
        public_base_url=PUBLIC,
        smtp_url=SMTP,
        oidc_redirect_uris="https://shop.example.com/auth/oidc/callback,http://127.0.0.1/cb",
    )

    assert default.allowed_redirect_uris == {PUBLIC + "/auth/oidc/callback"}
    assert local.allowed_redirect_uris == {
        "https://shop.example.com/auth/oidc/callback",
        "http://127.0.0.1/cb",
    }
    assert "AGORA_AUTH_OIDC_REDIRECT_URIS" in refused_lines(local)[0]


def test_services_need_their_own_page_token_key_in_prod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGORA_PAGE_TOKEN_KEY", raising=False)
    with pytest.raises(ProductionDefaultsRefused) as refused:
        refuse_development_defaults(PROD, PageTokenKey())
    assert "AGORA_PAGE_TOKEN_KEY" in str(refused.value)
    monkeypatch.setenv("AGORA_PAGE_TOKEN_KEY", "ab" * 32)
    refuse_development_defaults(PROD, PageTokenKey())
