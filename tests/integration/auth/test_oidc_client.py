"""The OpenID Connect client against a local provider that speaks the real protocol over HTTP."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from oidc_provider import (
    ProviderClient,
    ProviderEmail,
    ProviderSetup,
    ProviderUser,
    RunningProvider,
    serve_oidc_provider,
)

from agora.auth.oidc import (
    GITHUB_SCOPES,
    OidcClient,
    OidcIdentity,
    OidcProviderConfig,
    OidcStart,
)
from agora.platform.errors import InvalidArgument, Unauthenticated, Unavailable
from agora.platform.net import free_port

REDIRECT_URI = "http://127.0.0.1:9/auth/oidc/callback"
ALICE = ProviderUser(
    subject="alice-1", email="alice@example.com", name="Alice Example", login="alice"
)
CAROL = ProviderUser(subject="carol-3", email="carol@example.com", email_verified=False)
# GitHub-style: an unverified primary address and a verified secondary one.
BOB = ProviderUser(
    subject="4242",
    email="bob@example.com",
    email_verified=False,
    login="bob",
    other_emails=(ProviderEmail("bob@work.example", verified=True),),
)
SETUP = ProviderSetup(
    users=(ALICE, CAROL, BOB),
    clients=(
        ProviderClient("agora", "agora-secret", (REDIRECT_URI,)),
        ProviderClient("forger", "forger-secret", (REDIRECT_URI,), forge_id_tokens=True),
    ),
)


@pytest.fixture(scope="module")
async def provider(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningProvider]:
    async with serve_oidc_provider(SETUP, tmp_path_factory.mktemp("oidc")) as running:
        yield running


def configs(provider: RunningProvider) -> dict[str, OidcProviderConfig]:
    url = provider.discovery_url
    listed = [
        OidcProviderConfig("local", url, "agora", "agora-secret"),
        OidcProviderConfig("forging", url, "forger", "forger-secret"),
        OidcProviderConfig("wrong-secret", url, "agora", "not-the-secret"),
        OidcProviderConfig(
            "ghe",
            provider.github_base_url,
            "agora",
            "agora-secret",
            scopes=GITHUB_SCOPES,
            protocol="github",
        ),
    ]
    return {config.name: config for config in listed}


@pytest.fixture
async def oidc(provider: RunningProvider) -> AsyncIterator[OidcClient]:
    client = OidcClient(configs(provider), redirect_uris={REDIRECT_URI})
    yield client
    await client.aclose()


async def authorize(start: OidcStart, login_hint: str | None = None) -> dict[str, str]:
    """Follow the authorization URL as the user's browser would; returns the callback's query."""
    url = start.authorization_url
    if login_hint:
        url += f"&login_hint={quote(login_hint)}"
    async with httpx.AsyncClient() as browser:
        response = await browser.get(url)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}


async def sign_in(oidc: OidcClient, provider: str, login_hint: str | None = None) -> OidcIdentity:
    start = await oidc.start(provider, REDIRECT_URI)
    callback = await authorize(start, login_hint)
    return await oidc.finish(
        provider,
        code=callback["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=start.code_verifier,
        nonce=start.nonce,
    )


async def test_code_flow_returns_the_identity_the_provider_vouches_for(oidc: OidcClient) -> None:
    identity = await sign_in(oidc, "local", login_hint="alice")

    assert identity == OidcIdentity(
        provider="local",
        subject="alice-1",
        email="alice@example.com",
        email_verified=True,
        name="Alice Example",
    )


async def test_unverified_email_is_reported_unverified(oidc: OidcClient) -> None:
    identity = await sign_in(oidc, "local", login_hint="carol@example.com")

    assert (identity.subject, identity.email, identity.email_verified) == (
        "carol-3",
        "carol@example.com",
        False,
    )


async def test_state_comes_back_unchanged(oidc: OidcClient) -> None:
    start = await oidc.start("local", REDIRECT_URI)

    callback = await authorize(start)

    assert callback["state"] == start.state
    assert set(callback) == {"code", "state"}


async def test_authorization_url_carries_pkce_s256_state_and_nonce(oidc: OidcClient) -> None:
    start = await oidc.start("local", REDIRECT_URI)
    again = await oidc.start("local", REDIRECT_URI)

    query = {
        key: values[0] for key, values in parse_qs(urlsplit(start.authorization_url).query).items()
    }
    challenge = base64.urlsafe_b64encode(hashlib.sha256(start.code_verifier.encode()).digest())
    assert query["response_type"] == "code"
    assert query["client_id"] == "agora"
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["scope"] == "openid email profile"
    assert query["state"] == start.state
    assert query["nonce"] == start.nonce
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == challenge.rstrip(b"=").decode()
    assert start.code_verifier not in start.authorization_url
    assert len({start.state, start.nonce, again.state, again.nonce}) == 4
    assert start.code_verifier != again.code_verifier


async def test_wrong_code_verifier_is_rejected(oidc: OidcClient) -> None:
    start = await oidc.start("local", REDIRECT_URI)
    callback = await authorize(start)
    other_verifier = (await oidc.start("local", REDIRECT_URI)).code_verifier

    with pytest.raises(Unauthenticated, match="invalid_grant"):
        await oidc.finish(
            "local",
            code=callback["code"],
            redirect_uri=REDIRECT_URI,
            code_verifier=other_verifier,
            nonce=start.nonce,
        )


async def test_code_is_accepted_once(oidc: OidcClient) -> None:
    start = await oidc.start("local", REDIRECT_URI)
    callback = await authorize(start)
    arguments = {
        "code": callback["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": start.code_verifier,
        "nonce": start.nonce,
    }
    await oidc.finish("local", **arguments)

    with pytest.raises(Unauthenticated, match="invalid_grant"):
        await oidc.finish("local", **arguments)


async def test_nonce_mismatch_is_rejected(oidc: OidcClient) -> None:
    start = await oidc.start("local", REDIRECT_URI)
    callback = await authorize(start)
    other_nonce = (await oidc.start("local", REDIRECT_URI)).nonce

    with pytest.raises(Unauthenticated, match="nonce"):
        await oidc.finish(
            "local",
            code=callback["code"],
            redirect_uri=REDIRECT_URI,
            code_verifier=start.code_verifier,
            nonce=other_nonce,
        )


async def test_id_token_signed_with_a_key_outside_the_jwks_is_rejected(oidc: OidcClient) -> None:
    with pytest.raises(Unauthenticated, match="ID token rejected: bad_signature"):
        await sign_in(oidc, "forging", login_hint="alice")


async def test_wrong_client_secret_is_rejected(oidc: OidcClient) -> None:
    with pytest.raises(Unauthenticated, match="invalid_client"):
        await sign_in(oidc, "wrong-secret")


async def test_unknown_provider_is_an_invalid_argument(oidc: OidcClient) -> None:
    with pytest.raises(InvalidArgument) as started:
        await oidc.start("myspace", REDIRECT_URI)
    with pytest.raises(InvalidArgument) as finished:
        await oidc.finish(
            "myspace", code="c", redirect_uri=REDIRECT_URI, code_verifier="v", nonce="n"
        )

    for error in (started.value, finished.value):
        assert [violation.field for violation in error.violations] == ["provider"]
    assert oidc.provider_names() == ["forging", "ghe", "local", "wrong-secret"]


async def test_unreachable_provider_is_unavailable() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    oidc = OidcClient(
        {"down": OidcProviderConfig("down", nowhere, "agora", "agora-secret")},
        redirect_uris={REDIRECT_URI},
    )
    try:
        with pytest.raises(Unavailable):
            await oidc.start("down", REDIRECT_URI)
    finally:
        await oidc.aclose()


async def test_provider_gone_before_the_code_exchange_is_unavailable(tmp_path: Path) -> None:
    async with serve_oidc_provider(SETUP, tmp_path) as running:
        oidc = OidcClient(configs(running), redirect_uris={REDIRECT_URI})
        start = await oidc.start("local", REDIRECT_URI)
        callback = await authorize(start)
    try:
        with pytest.raises(Unavailable, match="token endpoint"):
            await oidc.finish(
                "local",
                code=callback["code"],
                redirect_uri=REDIRECT_URI,
                code_verifier=start.code_verifier,
                nonce=start.nonce,
            )
    finally:
        await oidc.aclose()


async def test_discovery_and_jwks_are_fetched_once(provider: RunningProvider) -> None:
    fetched: list[str] = []

    async def record(request: httpx.Request) -> None:
        fetched.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        oidc = OidcClient(configs(provider), redirect_uris={REDIRECT_URI}, http=http)
        await sign_in(oidc, "local")
        await sign_in(oidc, "local")

    assert fetched == ["/.well-known/openid-configuration", "/jwks"]


async def test_github_layout_takes_the_verified_address_from_user_emails(
    oidc: OidcClient,
) -> None:
    bob = await sign_in(oidc, "ghe", login_hint="bob")
    alice = await sign_in(oidc, "ghe", login_hint="alice")

    assert bob == OidcIdentity(
        provider="ghe", subject="4242", email="bob@work.example", email_verified=True, name="bob"
    )
    assert (alice.subject, alice.email, alice.email_verified, alice.name) == (
        "alice-1",
        "alice@example.com",
        True,
        "Alice Example",
    )


async def test_github_layout_reports_an_unverified_primary_as_unverified(
    oidc: OidcClient,
) -> None:
    carol = await sign_in(oidc, "ghe", login_hint="carol-3")

    assert (carol.email, carol.email_verified) == ("carol@example.com", False)


async def test_github_layout_checks_pkce_too(oidc: OidcClient) -> None:
    start = await oidc.start("ghe", REDIRECT_URI)
    callback = await authorize(start)

    assert "nonce" not in start.authorization_url
    with pytest.raises(Unauthenticated, match="invalid_grant"):
        await oidc.finish(
            "ghe",
            code=callback["code"],
            redirect_uri=REDIRECT_URI,
            code_verifier=start.code_verifier[:-1]
            + ("A" if start.code_verifier[-1] != "A" else "B"),
            nonce=start.nonce,
        )
