"""FinishOidcLogin against a local OpenID Connect provider: which account an external identity
signs in to (linked, matched by a verified email, or new), and single-use sign-in state."""

from __future__ import annotations

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
    serve_auth,
    verified_account,
    verified_claims,
)
from oidc_provider import ProviderClient, ProviderSetup, ProviderUser, serve_oidc_provider
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.auth.mail import Mailer
from agora.auth.oidc import OidcClient, OidcProviderConfig
from agora.auth.service import AuthService
from agora.auth.settings import AuthSettings

REDIRECT_URI = "http://127.0.0.1:9/auth/oidc/callback"
_RUN = uuid.uuid4().hex[:8]
NEWCOMER = ProviderUser(subject=f"new-{_RUN}", email=f"new-{_RUN}@example.com", name="New")
# Their emails are registered here, with a password, before they sign in at the provider.
KNOWN = ProviderUser(subject=f"known-{_RUN}", email=f"known-{_RUN}@example.com")
SQUATTER = ProviderUser(
    subject=f"squat-{_RUN}", email=f"squat-{_RUN}@example.com", email_verified=False
)
UNVERIFIED = ProviderUser(
    subject=f"unverified-{_RUN}", email=f"unverified-{_RUN}@example.com", email_verified=False
)


@pytest.fixture(scope="module")
async def oidc_auth(
    tmp_path_factory: pytest.TempPathFactory,
    auth_engine: AsyncEngine,
    auth_settings: AuthSettings,
    mailer: Mailer,
    security_files: SecurityFiles,
) -> AsyncIterator[AuthServiceStub]:
    """An auth service with the local provider configured as `local`."""
    setup = ProviderSetup(
        users=(NEWCOMER, KNOWN, SQUATTER, UNVERIFIED),
        clients=(ProviderClient("agora", "agora-secret", (REDIRECT_URI,)),),
    )
    async with serve_oidc_provider(setup, tmp_path_factory.mktemp("oidc")) as provider:
        client = OidcClient(
            {"local": OidcProviderConfig("local", provider.discovery_url, "agora", "agora-secret")}
        )
        service = AuthService(auth_engine, auth_settings, mailer, oidc=client)
        server, jwks_channel = await serve_auth(service, security_files)
        channel = grpc.aio.insecure_channel(server.address)
        yield AuthServiceStub(channel)
        await channel.close()
        await server.stop(0)
        await jwks_channel.close()
        await client.aclose()


async def sign_in(auth: AuthServiceStub, user: ProviderUser) -> pb.LoginResponse:
    """The whole flow: start, the browser at the provider, finish."""
    callback = await authorize(auth, user)
    return await auth.FinishOidcLogin(
        pb.FinishOidcLoginRequest(state=callback["state"], code=callback["code"]),
        timeout=TIMEOUT_S,
    )


async def authorize(auth: AuthServiceStub, user: ProviderUser) -> dict[str, str]:
    started = await auth.StartOidcLogin(
        pb.StartOidcLoginRequest(
            idempotency_key=key(), provider="local", redirect_uri=REDIRECT_URI
        ),
        timeout=TIMEOUT_S,
    )
    url = f"{started.authorization_url}&login_hint={quote(user.subject)}"
    async with httpx.AsyncClient() as browser:
        response = await browser.get(url)
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == [started.state]
    return {name: values[0] for name, values in query.items()}


async def me(auth: AuthServiceStub, response: pb.LoginResponse) -> pb.User:
    return await auth.GetMe(pb.GetMeRequest(), metadata=as_user(response.tokens.access_token))


async def test_a_new_identity_gets_a_customer_account_and_keeps_it(
    oidc_auth: AuthServiceStub,
) -> None:
    first = await sign_in(oidc_auth, NEWCOMER)
    _, claims = await verified_claims(oidc_auth, first.tokens.access_token)
    account = await me(oidc_auth, first)

    assert claims["amr"] == ["oidc"]
    assert (account.email, list(account.roles), account.email_verified) == (
        NEWCOMER.email,
        ["customer"],
        True,
    )
    assert (await me(oidc_auth, await sign_in(oidc_auth, NEWCOMER))).id == account.id


async def test_a_verified_email_signs_in_to_the_verified_account_with_that_email(
    oidc_auth: AuthServiceStub, mail_dir: Path
) -> None:
    await verified_account(oidc_auth, mail_dir, KNOWN.email)
    by_password = await login(oidc_auth, KNOWN.email)

    by_provider = await sign_in(oidc_auth, KNOWN)

    assert (await me(oidc_auth, by_provider)).id == (await me(oidc_auth, by_password)).id


async def test_an_unverified_email_never_takes_over_an_existing_account(
    oidc_auth: AuthServiceStub, mail_dir: Path
) -> None:
    await verified_account(oidc_auth, mail_dir, SQUATTER.email)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sign_in(oidc_auth, SQUATTER)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_an_unverified_email_makes_an_account_with_an_unverified_email(
    oidc_auth: AuthServiceStub,
) -> None:
    account = await me(oidc_auth, await sign_in(oidc_auth, UNVERIFIED))

    assert account.email == UNVERIFIED.email
    assert not account.email_verified


async def test_the_sign_in_state_works_once(oidc_auth: AuthServiceStub) -> None:
    callback = await authorize(oidc_auth, NEWCOMER)
    finish = pb.FinishOidcLoginRequest(state=callback["state"], code=callback["code"])
    await oidc_auth.FinishOidcLogin(finish, timeout=TIMEOUT_S)

    with pytest.raises(grpc.aio.AioRpcError) as replayed:
        await oidc_auth.FinishOidcLogin(finish, timeout=TIMEOUT_S)

    assert failure(replayed.value).reason == "OIDC_STATE_INVALID"


async def test_an_unknown_provider_is_refused(oidc_auth: AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await oidc_auth.StartOidcLogin(
            pb.StartOidcLoginRequest(
                idempotency_key=key(), provider="nowhere", redirect_uri=REDIRECT_URI
            ),
            timeout=TIMEOUT_S,
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
