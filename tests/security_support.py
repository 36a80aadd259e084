"""Tokens for tests: a fixed Ed25519 key standing in for the auth service's signing key, the
deployment's service key, and channels that send a token on every call.

The keys are derived from fixed seeds, so any test module (and `agora up` under the e2e tests)
can mint tokens that the services verify: tests/conftest.py writes their JWKS and the service
key to files and points `AGORA_AUTH_JWKS_FILE` / `AGORA_SERVICE_KEY_FILE` at them. Test keys
only: no deployment trusts them.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from agora.platform.rpc.interceptors import RequestIdChannel
from agora.platform.security.envelope import new_key_line
from agora.platform.security.interceptor import AuthorizationInterceptor
from agora.platform.security.jwks import StaticJwksSource
from agora.platform.security.permissions import all_declared_permissions
from agora.platform.security.service_identity import BEARER, ServiceIdentity
from agora.platform.security.tokens import (
    ACCESS_TOKEN_TYPE,
    AUDIENCE,
    ISSUER,
    TokenVerifier,
    sign_token,
)

TEST_USER_KID = "agora-test-user-key"
# Tokens minted at import (module constants) live until the end of the whole suite (~30 min).
ACCESS_TOKEN_LIFETIME_S = 4 * 3600
ADMIN_SUBJECT = "00000000-0000-4000-8000-00000000ad01"


def _key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


USER_SIGNING_KEY = _key("agora tests: access token signing key")
SERVICE_KEY = _key("agora tests: deployment service key")


def every_permission() -> frozenset[str]:
    """What an admin holds: every permission of the registry."""
    return all_declared_permissions()


def jwks(key: Ed25519PrivateKey = USER_SIGNING_KEY, kid: str = TEST_USER_KID) -> dict[str, Any]:
    """The JWKS document publishing `key`'s public half under `kid`."""
    public = OKPKey.import_key(key.public_key()).as_dict(private=False)
    return {"keys": [{**public, "kid": kid, "alg": "EdDSA", "use": "sig"}]}


@dataclass(frozen=True)
class SecurityFiles:
    """The test JWKS and service key as files, and the environment pointing at them."""

    jwks_path: Path
    service_key_path: Path
    # The key-encryption key of secrets at rest (`AGORA_KEK_FILE`).
    kek_path: Path

    @classmethod
    def write(cls, directory: Path) -> SecurityFiles:
        directory.mkdir(parents=True, exist_ok=True)
        jwks_path = directory / "test-jwks.json"
        jwks_path.write_text(json.dumps(jwks()))
        service_key_path = directory / "service-ed25519.pem"
        service_key_path.write_bytes(
            SERVICE_KEY.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        service_key_path.chmod(0o600)
        kek_path = directory / "kek"
        kek_path.write_text(new_key_line() + "\n")
        kek_path.chmod(0o600)
        return cls(jwks_path, service_key_path, kek_path)

    def environment(self) -> dict[str, str]:
        return {
            "AGORA_AUTH_JWKS_FILE": str(self.jwks_path),
            "AGORA_SERVICE_KEY_FILE": str(self.service_key_path),
            "AGORA_KEK_FILE": str(self.kek_path),
        }


def mint_token(
    subject: str | None = None,
    *,
    roles: Iterable[str] = (),
    permissions: Iterable[str] = (),
    lifetime_s: int = ACCESS_TOKEN_LIFETIME_S,
    issued_at: float | None = None,
    key: Ed25519PrivateKey = USER_SIGNING_KEY,
    kid: str = TEST_USER_KID,
    typ: str = ACCESS_TOKEN_TYPE,
    **claims: Any,
) -> str:
    """An access token as the auth service would sign it (claims overridable for bad tokens)."""
    now = int(time.time() if issued_at is None else issued_at)
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject or str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "roles": sorted(roles),
        "perms": sorted(permissions),
        "amr": ["pwd"],
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_s,
        "jti": uuid.uuid4().hex,
    }
    body.update(claims)
    return sign_token(body, key=OKPKey.import_key(key), kid=kid, typ=typ)


def customer_token(subject: str, **claims: Any) -> str:
    """A customer's token (`customer` role: own orders and carts)."""
    return mint_token(subject, roles=["customer"], permissions=["orders:read:own"], **claims)


def bearer(token: str) -> str:
    return BEARER + token


class RenewedToken:
    """`Bearer <token>`, minted again at half its lifetime (for session-long channels)."""

    def __init__(self, mint: Callable[[], str], lifetime_s: int = ACCESS_TOKEN_LIFETIME_S) -> None:
        self._mint = mint
        self._renew_every_s = lifetime_s / 2
        self._value = ""
        self._renew_at = 0.0

    def __call__(self) -> str:
        now = time.monotonic()
        if now >= self._renew_at:
            self._value = bearer(self._mint())
            self._renew_at = now + self._renew_every_s
        return self._value


def admin_authorization() -> RenewedToken:
    """An admin's `authorization` value: every permission, renewed as it ages."""
    return RenewedToken(
        lambda: mint_token(ADMIN_SUBJECT, roles=["admin"], permissions=every_permission())
    )


def service_identity(name: str) -> ServiceIdentity:
    """`service:<name>` under the test service key (what that service sends on its calls)."""
    return ServiceIdentity(name, SERVICE_KEY)


def from_gateway(
    client_ip: str = "203.0.113.7", user_agent: str = "pytest-browser/1.0"
) -> list[tuple[str, str]]:
    """Metadata as the gateway sends it: the client's IP and user agent, and the gateway's own
    service token proving it is the gateway (without it, services ignore the first two)."""
    return [
        ("x-agora-client-ip", client_ip),
        ("x-agora-user-agent", user_agent),
        ("x-agora-gateway", service_identity("gateway").token()),
    ]


def authorized_channel(
    address: str, authorization: Callable[[], str] | None = None
) -> grpc.aio.Channel:
    """A channel whose calls carry `authorization` (an admin's by default) unless a call sets
    its own `authorization` metadata."""
    return RequestIdChannel(
        grpc.aio.insecure_channel(address), authorization or admin_authorization()
    )


def with_token(token: str) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying `token` (replaces a channel's default)."""
    return (("authorization", bearer(token)),)


def verifier(files: SecurityFiles) -> TokenVerifier:
    """A verifier as the services build one: the test JWKS, the test service key."""
    return TokenVerifier(
        StaticJwksSource(files.jwks_path), service_identity("tests").verification_keys()
    )


def authorization_interceptor(files: SecurityFiles) -> AuthorizationInterceptor:
    """The rule enforcement of a service, for servers tests build themselves."""
    return AuthorizationInterceptor(verifier(files))
