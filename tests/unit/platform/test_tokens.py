"""Token verification (docs/adr/0007): what is accepted, and every way a forged or stale token
is refused, with its machine-readable reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from security_support import (
    SERVICE_KEY,
    TEST_USER_KID,
    USER_SIGNING_KEY,
    jwks,
    mint_token,
    service_identity,
)

from agora.platform.errors import TOKEN_EXPIRED, TOKEN_INVALID, Unauthenticated, Unavailable
from agora.platform.security.jwks import RefreshingJwks
from agora.platform.security.service_identity import ServiceIdentity
from agora.platform.security.tokens import SERVICE_TOKEN_TYPE, TokenVerifier, token_type

NOW = 1_900_000_000.0
USER = "7c0a4f0e-3a52-4d8e-9d0b-0f1e2d3c4b5a"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def user_keys(
    document: Mapping[str, Any] | None = None, clock: Clock | None = None
) -> RefreshingJwks:
    async def fetch() -> Mapping[str, Any]:
        return document if document is not None else jwks()

    return RefreshingJwks(fetch, name="test", clock=clock or Clock())


def verifier(keys: RefreshingJwks | None = None, now: float = NOW) -> TokenVerifier:
    return TokenVerifier(
        keys or user_keys(), service_identity("any").verification_keys(), clock=Clock(now)
    )


def token(**claims: Any) -> str:
    return mint_token(USER, issued_at=NOW, **claims)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments(value: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = value.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload)), signature


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def signing_input(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def compact(header: Mapping[str, Any], claims: Mapping[str, Any], signature: bytes) -> str:
    return f"{signing_input(header, claims)}.{b64(signature)}"


def ed25519_signed(
    header: Mapping[str, Any], claims: Mapping[str, Any], key: Ed25519PrivateKey = USER_SIGNING_KEY
) -> str:
    """Exactly `header` and `claims`, with a good Ed25519 signature."""
    return compact(header, claims, key.sign(signing_input(header, claims).encode()))


async def refused(value: str, reason: str = TOKEN_INVALID, **options: Any) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        await verifier(**options).verify(value)
    assert caught.value.reason == reason
    return caught.value


async def test_a_valid_access_token_is_the_user_with_its_roles_and_permissions() -> None:
    principal = await verifier().verify(
        token(roles=["staff"], permissions=["catalog:write"], sid="s-1", amr=["pwd", "otp"])
    )

    assert principal.subject == USER
    assert principal.kind == "user"
    assert principal.roles == {"staff"}
    assert principal.permissions == {"catalog:write"}
    assert principal.session_id == "s-1"
    assert principal.auth_methods == ("pwd", "otp")


async def test_a_service_token_is_the_service_with_its_permissions() -> None:
    identity = ServiceIdentity(
        "orders", SERVICE_KEY, permissions=frozenset({"catalog:reservations:write"})
    )

    principal = await TokenVerifier(None, identity.verification_keys()).verify(identity.token())

    assert principal.subject == "service:orders"
    assert principal.kind == "service"
    assert principal.permissions == {"catalog:reservations:write"}


async def test_alg_none_is_refused() -> None:
    header, claims, _ = segments(token())
    unsigned = compact({**header, "alg": "none"}, claims, b"")

    await refused(unsigned)


async def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    header, claims, _ = segments(token(permissions=["catalog:write"]))
    forged_header = {**header, "alg": "HS256"}
    public = USER_SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    mac = hmac.new(public, signing_input(forged_header, claims).encode(), hashlib.sha256)

    await refused(compact(forged_header, claims, mac.digest()))


async def test_an_es256_token_is_refused_even_with_a_good_signature() -> None:
    header, claims, _ = segments(token())
    forged_header = {**header, "alg": "ES256"}
    key = ec.generate_private_key(ec.SECP256R1())
    signature = key.sign(signing_input(forged_header, claims).encode(), ec.ECDSA(hashes.SHA256()))

    await refused(compact(forged_header, claims, signature))


async def test_an_unknown_kid_is_refused() -> None:
    await refused(token(kid="somebody-elses-key"))


async def test_a_token_signed_by_another_key_under_a_known_kid_is_refused() -> None:
    stranger = Ed25519PrivateKey.generate()

    await refused(token(key=stranger))


async def test_a_tampered_payload_is_refused() -> None:
    header, claims, signature = segments(token(permissions=["orders:read:own"]))
    escalated = {**claims, "perms": ["orders:read:any"]}
    head = b64(json.dumps(header).encode())

    await refused(f"{head}.{b64(json.dumps(escalated).encode())}.{signature}")


async def test_an_expired_token_is_refused_as_expired() -> None:
    await refused(token(lifetime_s=60), TOKEN_EXPIRED, now=NOW + 60 + 31)


async def test_expiry_allows_thirty_seconds_of_clock_skew() -> None:
    principal = await verifier(now=NOW + 60 + 29).verify(token(lifetime_s=60))

    assert principal.subject == USER


async def test_a_token_not_valid_yet_is_refused() -> None:
    await refused(token(nbf=int(NOW) + 31))


async def test_not_before_allows_thirty_seconds_of_clock_skew() -> None:
    principal = await verifier().verify(token(nbf=int(NOW) + 29))

    assert principal.subject == USER


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "someone-else"},
        {"iss": "https://evil.example"},
        {"aud": None},
        {"iss": None},
        {"exp": None},
        {"sub": ""},
        {"perms": "catalog:write"},
        {"roles": [1]},
    ],
    ids=["aud", "iss", "no-aud", "no-iss", "no-exp", "no-sub", "perms-not-a-list", "roles"],
)
async def test_claims_other_than_agoras_are_refused(claims: dict[str, Any]) -> None:
    header, body, _ = segments(token())
    body.update(claims)

    await refused(ed25519_signed(header, {k: v for k, v in body.items() if v is not None}))


async def test_a_service_token_type_under_a_user_key_is_refused() -> None:
    await refused(token(typ=SERVICE_TOKEN_TYPE, sub="service:orders"))


async def test_an_access_token_signed_with_the_service_key_is_refused() -> None:
    identity = service_identity("orders")

    await refused(mint_token(USER, issued_at=NOW, key=SERVICE_KEY, kid=identity.kid))


async def test_a_service_token_for_a_user_subject_is_refused() -> None:
    identity = service_identity("orders")

    await refused(
        mint_token(USER, issued_at=NOW, key=SERVICE_KEY, kid=identity.kid, typ=SERVICE_TOKEN_TYPE)
    )


async def test_an_access_token_for_a_service_subject_is_refused() -> None:
    await refused(token(sub="service:orders"))


@pytest.mark.parametrize(
    "extra",
    [{"typ": "JWT"}, {"jku": "https://evil.example/jwks"}, {"b64": False, "crit": ["b64"]}],
    ids=["typ-jwt", "jku", "unencoded-payload"],
)
async def test_a_header_agora_does_not_sign_is_refused(extra: dict[str, Any]) -> None:
    header, claims, _ = segments(token())

    await refused(ed25519_signed({**header, **extra}, claims))


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b", "a.b.c", "x" * 10_000])
async def test_garbage_is_refused_as_invalid(garbage: str) -> None:
    await refused(garbage)


async def test_unknown_kids_refetch_the_keys_at_most_once_per_ten_seconds() -> None:
    clock = Clock()
    keys = user_keys(clock=clock)
    check = verifier(keys)
    await check.verify(token())
    await refused_by(check, token(kid="made-up"))
    assert keys.fetches == 1  # the keys were fetched just now

    clock.now += 10
    for _ in range(5):
        await refused_by(check, token(kid="made-up"))
    assert keys.fetches == 2

    clock.now += 10
    await refused_by(check, token(kid="made-up"))
    assert keys.fetches == 3


async def test_a_rotated_key_is_found_by_its_new_kid() -> None:
    document = jwks()
    clock = Clock()
    keys = user_keys(document, clock)
    check = verifier(keys)
    await check.verify(token())
    new_key = Ed25519PrivateKey.generate()
    document["keys"] = [*document["keys"], *jwks(new_key, "rotated")["keys"]]
    clock.now += 11

    principal = await check.verify(token(key=new_key, kid="rotated"))

    assert principal.subject == USER


async def test_keys_that_cannot_be_fetched_at_all_are_unavailable_not_unauthenticated() -> None:
    async def down() -> Mapping[str, Any]:
        raise ConnectionError("auth is down")

    with pytest.raises(Unavailable):
        await verifier(RefreshingJwks(down, name="auth")).verify(token())


async def refused_by(check: TokenVerifier, value: str) -> None:
    with pytest.raises(Unauthenticated):
        await check.verify(value)


def test_jwks_entries_that_are_not_ed25519_signature_keys_are_ignored() -> None:
    from agora.platform.security.jwks import parse_jwks

    good = jwks()["keys"][0]
    document = {
        "keys": [
            good,
            {**good, "kid": "x25519", "crv": "X25519"},
            {**good, "kid": "rsa", "kty": "RSA"},
            {**good, "kid": "enc", "use": "enc"},
            {**good, "kid": "hs", "alg": "HS256"},
            {"kid": "oct", "kty": "oct", "k": "c2VjcmV0"},
        ]
    }

    assert set(parse_jwks(document)) == {TEST_USER_KID}


# --- service tokens hold at most what their service is declared to hold ---------------------


@pytest.mark.parametrize(
    ("name", "claimed"),
    [
        ("orders", {"catalog:read", "catalog:write"}),
        ("catalog", {"payments:refund"}),
        ("unknown-service", {"catalog:read"}),
        ("gateway", {"orders:read:any"}),
    ],
    ids=["orders-plus-catalog-write", "catalog-with-any", "undeclared-service", "gateway-acting"],
)
async def test_a_service_token_claiming_more_than_its_declared_permissions_is_refused(
    name: str, claimed: set[str]
) -> None:
    forged = ServiceIdentity(name, SERVICE_KEY, permissions=frozenset(claimed), clock=Clock())

    error = await refused(forged.token())

    assert "not declared" in error.message


async def test_a_service_token_within_its_declared_permissions_is_accepted() -> None:
    fewer = ServiceIdentity(
        "orders", SERVICE_KEY, permissions=frozenset({"catalog:read"}), clock=Clock()
    )

    principal = await verifier().verify(fewer.token())

    assert principal.permissions == {"catalog:read"}


def test_the_edge_reads_a_tokens_type_without_trusting_it() -> None:
    assert token_type(service_identity("orders").token()) == SERVICE_TOKEN_TYPE
    assert token_type(token()) == "at+jwt"
    assert token_type("not-a-token") == ""
    assert token_type(f"{b64(b'[1]')}.x.y") == ""


# --- revoked sessions -------------------------------------------------------------------------


class Revoked:
    def __init__(self) -> None:
        self.sessions: set[str] = set()

    def is_revoked(self, session_id: str) -> bool:
        return session_id in self.sessions


async def test_a_token_of_a_revoked_session_is_refused_even_from_the_verified_cache() -> None:
    revoked = Revoked()
    checking = TokenVerifier(
        user_keys(), service_identity("any").verification_keys(), clock=Clock(), revoked=revoked
    )
    value = token(sid="session-9")
    assert (await checking.verify(value)).session_id == "session-9"  # now cached

    revoked.sessions.add("session-9")

    with pytest.raises(Unauthenticated) as caught:
        await checking.verify(value)
    assert caught.value.reason == TOKEN_INVALID
    assert (await checking.verify(token(sid="session-10"))).session_id == "session-10"
