"""Sign-in with an external identity provider through the auth service's gRPC API.

The provider is the local one of oidc_provider.py (real HTTP, Authlib's server); the auth service
is configured as a deployment is, through `AGORA_AUTH_OIDC_PROVIDERS`. Accounts are linked by
email only when the provider and the shop have both verified it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import grpc
import httpx
import pytest
from auth_support import (
    TIMEOUT_S,
    as_user,
    failure,
    key,
    login,
    origin,
    serve_auth,
    verified_account,
    verified_claims,
)
from oidc_provider import (
    ProviderClient,
    ProviderSetup,
    ProviderUser,
    RunningProvider,
    serve_oidc_provider,
)
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.auth import store
from agora.auth.bootstrap import compose, oidc_client
from agora.auth.settings import AuthSettings
from agora.platform.mail import Mailer
from agora.platform.runtime import Backends
from agora.platform.security.envelope import SecretBox

REDIRECT_URI = "http://shop.test/auth/oidc/callback"
RUN = uuid.uuid4().hex[:8]
# Each user's email is unique to this run: the database is shared by the session's tests.
NEWCOMER = ProviderUser(
    subject=f"new-{RUN}", email=f"newcomer-{RUN}@example.com", name="Nora Newcomer"
)
OWNER = ProviderUser(subject=f"owner-{RUN}", email=f"owner-{RUN}@example.com", name="Olga Owner")
# Claims the address of a verified local account, but the provider never verified it.
SQUATTER = ProviderUser(
    subject=f"squatter-{RUN}",
    email=f"victim-{RUN}@example.com",
    email_verified=False,
    name="Sam Squatter",
)
# Verified at the provider, but the local account with that address never confirmed it.
LATECOMER = ProviderUser(
    subject=f"late-{RUN}", email=f"unconfirmed-{RUN}@example.com", name="Lea Late"
)
# Unverified at the provider, and no local account has the address.
UNVERIFIED = ProviderUser(
    subject=f"unverified-{RUN}", email=f"unverified-{RUN}@example.com", email_verified=False
)
SETUP = ProviderSetup(
    users=(NEWCOMER, OWNER, SQUATTER, LATECOMER, UNVERIFIED),
    clients=(
        ProviderClient("agora", "agora-secret", (REDIRECT_URI,)),
        ProviderClient("forger", "forger-secret", (REDIRECT_URI,), forge_id_tokens=True),
    ),
)


@pytest.fixture(scope="module")
async def provider(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningProvider]:
    async with serve_oidc_provider(SETUP, tmp_path_factory.mktemp("oidc-login")) as running:
        yield running


@pytest.fixture(scope="module")
async def oidc_auth(
    provider: RunningProvider,
    auth_backends: Backends,
    auth_settings: AuthSettings,
    mailer: Mailer,
    security_files: SecurityFiles,
    auth_secrets: SecretBox,
) -> AsyncIterator[AuthServiceStub]:
    """The auth service with the local provider configured as `local` (and a forging `forged`)."""
    providers = [
        {
            "name": "local",
            "discovery_url": provider.discovery_url,
            "client_id": "agora",
            "client_secret": "agora-secret",
        },
        {
            "name": "forged",
            "discovery_url": provider.discovery_url,
            "client_id": "forger",
            "client_secret": "forger-secret",
        },
    ]
    settings = auth_settings.model_copy(update={"oidc_providers": json.dumps(providers)})
    oidc = oidc_client(settings)
    assert oidc is not None
    parts = compose(auth_backends, settings, secrets=auth_secrets, mailer=mailer, oidc=oidc)
    server, jwks_channel = await serve_auth(parts, security_files)
    channel = grpc.aio.insecure_channel(server.address)
    yield AuthServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await jwks_channel.close()
    await oidc.aclose()


async def start(auth: AuthServiceStub, provider: str = "local") -> pb.StartOidcLoginResponse:
    return await auth.StartOidcLogin(
        pb.StartOidcLoginRequest(
            idempotency_key=key(), provider=provider, redirect_uri=REDIRECT_URI
        ),
        metadata=origin(),
        timeout=TIMEOUT_S,
    )


async def at_provider(started: pb.StartOidcLoginResponse, user: ProviderUser) -> dict[str, str]:
    """The browser at the provider: signed in as `user`, sent back with `code` and `state`."""
    url = f"{started.authorization_url}&login_hint={quote(user.subject)}"
    async with httpx.AsyncClient() as browser:
        response = await browser.get(url)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {name: values[0] for name, values in parse_qs(location.query).items()}


async def finish(auth: AuthServiceStub, callback: dict[str, str]) -> pb.LoginResponse:
    return await auth.FinishOidcLogin(
        pb.FinishOidcLoginRequest(state=callback["state"], code=callback["code"]),
        metadata=origin(),
        timeout=TIMEOUT_S,
    )


async def sign_in(
    auth: AuthServiceStub, user: ProviderUser, provider: str = "local"
) -> pb.LoginResponse:
    started = await start(auth, provider)
    callback = await at_provider(started, user)
    assert callback["state"] == started.state
    return await finish(auth, callback)


async def me(auth: AuthServiceStub, tokens: pb.Tokens) -> pb.User:
    return await auth.GetMe(
        pb.GetMeRequest(), metadata=as_user(tokens.access_token), timeout=TIMEOUT_S
    )


async def test_first_sign_in_creates_a_customer_with_the_verified_email(
    oidc_auth: AuthServiceStub,
) -> None:
    response = await sign_in(oidc_auth, NEWCOMER)

    assert response.HasField("tokens")
    _, claims = await verified_claims(oidc_auth, response.tokens.access_token)
    user = await me(oidc_auth, response.tokens)
    assert claims["amr"] == ["oidc"]
    assert claims["sub"] == user.id
    assert (user.email, user.name, user.email_verified) == (
        NEWCOMER.email,
        NEWCOMER.name,
        True,
    )
    assert list(user.roles) == ["customer"]

    again = await sign_in(oidc_auth, NEWCOMER)
    assert (await me(oidc_auth, again.tokens)).id == user.id


async def test_verified_email_links_the_existing_account(
    oidc_auth: AuthServiceStub, auth: AuthServiceStub, mail_dir: Path
) -> None:
    await verified_account(auth, mail_dir, OWNER.email)
    by_password = await login(auth, OWNER.email)

    response = await sign_in(oidc_auth, OWNER)

    assert (await me(oidc_auth, response.tokens)).id == (await me(oidc_auth, by_password.tokens)).id


async def test_unverified_email_at_the_provider_links_nothing(
    oidc_auth: AuthServiceStub, auth: AuthServiceStub, mail_dir: Path, auth_engine: AsyncEngine
) -> None:
    await verified_account(auth, mail_dir, SQUATTER.email)

    for _ in range(2):  # refused again: the first attempt left no link behind
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await sign_in(oidc_auth, SQUATTER)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    async with auth_engine.connect() as connection:
        assert await store.oidc_identity_user(connection, "local", SQUATTER.subject) is None
    assert (await login(auth, SQUATTER.email)).HasField("tokens")


async def test_unconfirmed_local_account_is_not_linked_either(
    oidc_auth: AuthServiceStub, auth: AuthServiceStub
) -> None:
    await auth.Register(
        pb.RegisterRequest(
            idempotency_key=key(),
            email=LATECOMER.email,
            password="correct horse battery staple",
            name="Someone Else",
        ),
        metadata=origin(),
        timeout=TIMEOUT_S,
    )

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sign_in(oidc_auth, LATECOMER)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_state_is_good_for_one_finish(oidc_auth: AuthServiceStub) -> None:
    started = await start(oidc_auth)
    callback = await at_provider(started, NEWCOMER)
    await finish(oidc_auth, callback)

    with pytest.raises(grpc.aio.AioRpcError) as replayed:
        await finish(oidc_auth, callback)

    assert replayed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert failure(replayed.value).reason == "OIDC_STATE_INVALID"


async def test_forged_id_token_signs_nobody_in(oidc_auth: AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sign_in(oidc_auth, NEWCOMER, provider="forged")

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "ID token rejected" in (refused.value.details() or "")


async def test_unknown_provider_is_an_invalid_argument(oidc_auth: AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await start(oidc_auth, provider="myspace")

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in failure(refused.value).violations] == ["provider"]


async def test_an_unverified_email_makes_an_account_whose_email_stays_unverified(
    oidc_auth: AuthServiceStub,
) -> None:
    account = await me(oidc_auth, (await sign_in(oidc_auth, UNVERIFIED)).tokens)

    assert account.email == UNVERIFIED.email
    assert not account.email_verified


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://attacker.example/auth/oidc/callback",
        "http://shop.test/auth/oidc/callback/../../elsewhere",
        "http://shop.test.attacker.example/auth/oidc/callback",
        "http://shop.test/auth/oidc/callback?next=https://attacker.example",
    ],
)
async def test_redirect_uri_outside_the_allow_list_is_refused(
    oidc_auth: AuthServiceStub, redirect_uri: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await oidc_auth.StartOidcLogin(
            pb.StartOidcLoginRequest(
                idempotency_key=key(), provider="local", redirect_uri=redirect_uri
            ),
            metadata=origin(),
            timeout=TIMEOUT_S,
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in failure(refused.value).violations] == ["redirectUri"]
