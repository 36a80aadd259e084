"""Factories for the auth integration tests: unique accounts made through the API, mail read
back from the sink, call metadata, a clock the tests can move, tokens checked against GetJwks."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pyotp
from joserfc import jwt
from joserfc.jwk import KeySet
from security_support import SecurityFiles, bearer, from_gateway, service_identity
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.platform.embedded.mail_sink import StoredMail, stored_mail
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.rpc.status import ErrorInfo, error_info_from_rpc_error
from agora.platform.runtime import Backends, ServiceParts
from agora.platform.security.interceptor import AuthorizationInterceptor
from agora.platform.security.jwks import GrpcJwksSource, JwksChain, StaticJwksSource
from agora.platform.security.tokens import REGISTRY, TokenVerifier

TIMEOUT_S = 10.0
PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r"token=([A-Za-z0-9_-]+)")


def key() -> str:
    return str(uuid.uuid4())


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Clock:
    """The service's clock: real time moved forward by `offset` (reset after each test)."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def origin(
    ip: str = "203.0.113.7", user_agent: str = "pytest-browser/1.0"
) -> list[tuple[str, str]]:
    """Metadata as the gateway sends it: the client's IP and user agent, with its proof."""
    return from_gateway(ip, user_agent)


def as_user(access_token: str, **where: str) -> list[tuple[str, str]]:
    return [("authorization", bearer(access_token)), *origin(**where)]


def failure(error: grpc.aio.AioRpcError) -> ErrorInfo:
    return error_info_from_rpc_error(error)


async def mail_to(
    directory: Path, address: str, subject_part: str, *, count: int = 1, timeout_s: float = 10.0
) -> list[StoredMail]:
    """The first `count` mails to `address` whose subject contains `subject_part` (waiting for
    them: mail leaves in the background)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [m for m in stored_mail(directory) if m.to == address and subject_part in m.subject]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail {subject_part!r} to {address} after {timeout_s} s")
        await asyncio.sleep(0.05)


def link_token(mail: StoredMail) -> str:
    match = _TOKEN.search(mail.body())
    assert match is not None, mail.body()
    return match.group(1)


async def register(auth: AuthServiceStub, email: str, password: str = PASSWORD) -> None:
    await auth.Register(
        pb.RegisterRequest(idempotency_key=key(), email=email, password=password, name="Test"),
        metadata=origin(),
        timeout=TIMEOUT_S,
    )


async def verified_account(
    auth: AuthServiceStub, mail_dir: Path, email: str | None = None, password: str = PASSWORD
) -> str:
    """A registered account whose email is verified through the mailed link; its email."""
    email = email or unique_email()
    await register(auth, email, password)
    (mail,) = await mail_to(mail_dir, email, "Confirm your email")
    await auth.VerifyEmail(
        pb.VerifyEmailRequest(idempotency_key=key(), token=link_token(mail)), timeout=TIMEOUT_S
    )
    return email


async def login(
    auth: AuthServiceStub,
    email: str,
    password: str = PASSWORD,
    *,
    ip: str = "203.0.113.7",
    user_agent: str = "pytest-browser/1.0",
) -> pb.LoginResponse:
    return await auth.Login(
        pb.LoginRequest(email=email, password=password),
        metadata=origin(ip, user_agent),
        timeout=TIMEOUT_S,
    )


async def logged_in(auth: AuthServiceStub, mail_dir: Path) -> tuple[str, pb.Tokens]:
    """A verified customer and the tokens of a fresh session."""
    email = await verified_account(auth, mail_dir)
    response = await login(auth, email)
    assert response.HasField("tokens")
    return email, response.tokens


async def verified_claims(
    auth: AuthServiceStub, access_token: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of an access token, its signature checked against GetJwks."""
    jwks = await auth.GetJwks(pb.GetJwksRequest(), timeout=TIMEOUT_S)
    keys = KeySet.import_key_set(
        {
            "keys": [
                {f: getattr(k, f) for f in ("kty", "crv", "x", "kid", "alg", "use")}
                for k in jwks.keys
            ]
        }
    )
    token = jwt.decode(access_token, keys, algorithms=["EdDSA"], registry=REGISTRY)
    return dict(token.header), dict(token.claims)


def kids(jwks: pb.Jwks) -> Sequence[str]:
    return [k.kid for k in jwks.keys]


def verifier_for(address: str, files: SecurityFiles) -> tuple[TokenVerifier, grpc.aio.Channel]:
    """A verifier as a deployment builds one: the auth service's keys over gRPC, and the test
    keys (admin tokens of security_support)."""
    channel = grpc.aio.insecure_channel(address)
    # The tests move the service's clock (key activation) but not the verifier's: it may look
    # for every unknown kid rather than at most every 10 s.
    from_auth = GrpcJwksSource(lambda: channel, min_refresh_interval_s=0.0)
    keys = JwksChain([StaticJwksSource(files.jwks_path), from_auth])
    return TokenVerifier(keys, service_identity("tests").verification_keys()), channel


async def serve_auth(
    parts: ServiceParts, files: SecurityFiles
) -> tuple[GrpcServer, grpc.aio.Channel]:
    """A server on a loopback port serving the servicers `compose` built, verifying user
    tokens under its own GetJwks."""
    port = free_port()
    verifier, jwks_channel = verifier_for(f"127.0.0.1:{port}", files)
    server = GrpcServer("auth", "127.0.0.1", port, authorization=AuthorizationInterceptor(verifier))
    for servicer in parts.servicers:
        server.add(servicer.add_to_server, servicer.implementation)
    await server.start()
    return server, jwks_channel


def over(backends: Backends, engine: AsyncEngine) -> Backends:
    """The same backends over another database's engine."""
    return replace(backends, engine=engine)


def totp_code(secret: str, offset_steps: int = 0) -> str:
    """The TOTP code of `secret` now, or `offset_steps` steps of 30 s away."""
    at = datetime.now(UTC) + timedelta(seconds=30 * offset_steps)
    return str(pyotp.TOTP(secret).at(at))


async def enroll_totp(auth: AuthServiceStub, access_token: str) -> str:
    """TOTP enrolled and confirmed with the current code; the secret."""
    enrolled = await auth.EnrollTotp(
        pb.EnrollTotpRequest(idempotency_key=key()),
        metadata=as_user(access_token),
        timeout=TIMEOUT_S,
    )
    await auth.ConfirmTotp(
        pb.ConfirmTotpRequest(idempotency_key=key(), code=totp_code(enrolled.secret)),
        metadata=as_user(access_token),
        timeout=TIMEOUT_S,
    )
    return enrolled.secret


async def second_factor(auth: AuthServiceStub, mfa_token: str, code: str) -> pb.LoginResponse:
    return await auth.VerifyLoginTotp(
        pb.VerifyLoginTotpRequest(mfa_token=mfa_token, code=code),
        metadata=origin(),
        timeout=TIMEOUT_S,
    )
