"""AGORA_AUTH_OIDC_PROVIDERS: presets, explicit discovery URLs, and refusals of bad entries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agora.auth.oidc import (
    DEFAULT_SCOPES,
    GITHUB_SCOPES,
    PRESETS,
    OidcProviderConfig,
    providers_from_settings,
)

GOOGLE_DISCOVERY = "https://accounts.google.com/.well-known/openid-configuration"


def settings(*entries: dict[str, Any]) -> str:
    return json.dumps(list(entries))


def entry(name: str = "corp", **fields: Any) -> dict[str, Any]:
    return {"name": name, "client_id": "id", "client_secret": "secret", **fields}


def test_presets_are_google_by_discovery_and_github_by_its_oauth2_layout() -> None:
    assert set(PRESETS) == {"google", "github"}
    assert PRESETS["google"].discovery_url == GOOGLE_DISCOVERY
    assert PRESETS["google"].protocol == "oidc"
    assert PRESETS["google"].scopes == ("openid", "email", "profile")
    assert PRESETS["github"].discovery_url == "https://github.com"
    assert PRESETS["github"].protocol == "github"
    assert PRESETS["github"].scopes == ("read:user", "user:email")


@pytest.mark.parametrize("raw", ["", "  ", "[]"])
def test_nothing_configured_means_no_provider(raw: str) -> None:
    assert providers_from_settings(raw) == {}


def test_presets_fill_url_protocol_and_scopes() -> None:
    providers = providers_from_settings(
        settings(entry("google", preset="google"), entry("github", preset="github"))
    )

    assert providers == {
        "google": OidcProviderConfig("google", GOOGLE_DISCOVERY, "id", "secret", DEFAULT_SCOPES),
        "github": OidcProviderConfig(
            "github", "https://github.com", "id", "secret", GITHUB_SCOPES, protocol="github"
        ),
    }


def test_any_provider_by_discovery_url_with_its_own_scopes() -> None:
    url = "https://login.example.com/realms/shop/.well-known/openid-configuration"

    providers = providers_from_settings(
        settings(entry("keycloak", discovery_url=url, scopes=["openid", "email"]))
    )

    assert providers["keycloak"] == OidcProviderConfig(
        "keycloak", url, "id", "secret", ("openid", "email"), protocol="oidc"
    )


def test_discovery_url_overrides_a_preset_for_github_enterprise() -> None:
    providers = providers_from_settings(
        settings(entry("ghe", preset="github", discovery_url="https://github.example.com"))
    )

    assert providers["ghe"].discovery_url == "https://github.example.com"
    assert providers["ghe"].protocol == "github"
    assert providers["ghe"].scopes == GITHUB_SCOPES


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/.well-known/openid-configuration", "http://localhost:9000"]
)
def test_plain_http_is_accepted_on_loopback_only(url: str) -> None:
    assert providers_from_settings(settings(entry(discovery_url=url)))["corp"].discovery_url == url


@pytest.mark.parametrize(
    ("entries", "complaint"),
    [
        ([entry(preset="facebook")], "unknown preset 'facebook'"),
        ([entry()], "give a discovery_url or a preset"),
        ([entry(discovery_url="http://idp.example.com/.well-known/x")], "must be https"),
        ([entry(discovery_url="ftp://idp.example.com")], "must be https"),
        ([entry(discovery_url="not a url")], "must be https"),
        ([entry(preset="google"), entry(preset="google")], "'corp' is listed twice"),
        ([entry(preset="google", scopes=["email"])], "needs the 'openid' scope"),
        ([entry(preset="google", scopes=[])], "scopes"),
        ([{"name": "corp", "preset": "google", "client_id": "id"}], "client_secret"),
        ([entry(preset="google", client_secret="")], "client_secret"),
        ([entry(preset="google", tenant="x")], "tenant"),
        ([entry("Bad Name", preset="google")], "name"),
    ],
)
def test_bad_entries_are_refused_naming_the_problem(
    entries: list[dict[str, Any]], complaint: str
) -> None:
    with pytest.raises(ValueError, match="AGORA_AUTH_OIDC_PROVIDERS") as refused:
        providers_from_settings(settings(*entries))

    assert complaint in str(refused.value)


@pytest.mark.parametrize("raw", ["{", '{"name": "google"}', '"google"'])
def test_settings_must_be_a_json_list(raw: str) -> None:
    with pytest.raises(ValueError, match="AGORA_AUTH_OIDC_PROVIDERS"):
        providers_from_settings(raw)
