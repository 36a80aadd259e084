"""JWTs of Agora (docs/adr/0007): signing, and verifying them into a `Principal`.

Only `EdDSA` over Ed25519 keys is accepted, whatever the header says (so `alg: none`, HS256
keyed with a public key, RS/ES algorithms all fail); access tokens (`typ: at+jwt`) verify only
under the auth service's published keys, service tokens (`typ: svc+jwt`) only under the
deployment's service key; `iss` and `aud` must be `agora`; `exp` and `nbf` allow 30 s of clock
skew. A service token's permissions must lie within what that service is declared to hold
(`SERVICE_PERMISSIONS`): the service key signs for every process, so the claims alone prove
nothing beyond "some process of this deployment". A token whose session (`sid`) has been revoked
is refused as soon as the revocation reaches this process (`agora.platform.security.revocation`).
Every refusal is an `Unauthenticated` with a machine-readable reason.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from joserfc import jws
from joserfc import jwt as jose_jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwa import EdDSAAlgorithm
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry
from joserfc.jwt import ClaimsOption

from agora.platform.errors import TOKEN_EXPIRED, TOKEN_INVALID, Unauthenticated
from agora.platform.security.permissions import service_permissions
from agora.platform.security.principal import Principal

ISSUER = "agora"
AUDIENCE = "agora"
ALGORITHM = "EdDSA"
ACCESS_TOKEN_TYPE = "at+jwt"
SERVICE_TOKEN_TYPE = "svc+jwt"
SERVICE_SUBJECT_PREFIX = "service:"
LEEWAY_S = 30
# Far above any token of ours (a few hundred bytes); bounds the work an attacker can ask for.
MAX_TOKEN_BYTES = 8192
_HEADER_FIELDS = frozenset({"alg", "kid", "typ"})
# A verified token is remembered (by its exact text) for at most this long, so a busy caller
# costs one signature check a minute rather than one per call.
VERIFIED_CACHE_S = 60.0
VERIFIED_CACHE_SIZE = 4096


class _EdDSA(EdDSAAlgorithm):
    # RFC 9864 prefers the name "Ed25519"; ADR 0007 fixes "EdDSA" over Ed25519 keys only.
    security_warning = None  # type: ignore[assignment]


class _EdDSARegistry(JWSRegistry):
    """A registry that knows one algorithm, so no other can ever be picked from a header."""

    algorithms = {ALGORITHM: _EdDSA()}
    recommended = [ALGORITHM]


REGISTRY = _EdDSARegistry(algorithms=[ALGORITHM])


class UserKeys(Protocol):
    """Where access tokens' verification keys come from (`agora.platform.security.jwks`)."""

    async def key(self, kid: str) -> OKPKey | None:
        """The Ed25519 public key named `kid`, or None when the source does not know it."""
        ...


class RevokedSessions(Protocol):
    """Sessions ended before their tokens expire (`agora.platform.security.revocation`)."""

    def is_revoked(self, session_id: str) -> bool:
        """True when the session `session_id` has been revoked."""
        ...


def sign_token(claims: Mapping[str, Any], *, key: OKPKey, kid: str, typ: str) -> str:
    """A compact JWS of `claims` signed with the Ed25519 private `key`."""
    header = {"alg": ALGORITHM, "kid": kid, "typ": typ}
    return jose_jwt.encode(header, dict(claims), key, algorithms=[ALGORITHM], registry=REGISTRY)


def invalid(message: str) -> Unauthenticated:
    return Unauthenticated(message, reason=TOKEN_INVALID)


class TokenVerifier:
    """Turns a bearer token into the `Principal` it stands for, or raises `Unauthenticated`."""

    def __init__(
        self,
        user_keys: UserKeys | None,
        service_keys: Mapping[str, OKPKey],
        *,
        leeway_s: int = LEEWAY_S,
        clock: Callable[[], float] = time.time,
        revoked: RevokedSessions | None = None,
    ) -> None:
        self._user_keys = user_keys
        self._revoked = revoked
        self._service_keys = dict(service_keys)
        self._leeway_s = leeway_s
        self._clock = clock
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; `Unauthenticated` (TOKEN_INVALID, TOKEN_EXPIRED)."""
        now = self._clock()
        cached = self._verified.get(token)
        if cached is not None and now >= cached[1]:
            del self._verified[token]
            cached = None
        if cached is not None:
            principal = cached[0]
        else:
            principal, expires_at = await self._verify(token, now)
            until = min(expires_at + self._leeway_s, now + VERIFIED_CACHE_S)
            self._remember(token, principal, until)
        # Checked on every call, cached tokens included: a revocation applies at once.
        if (
            principal.session_id
            and self._revoked
            and self._revoked.is_revoked(principal.session_id)
        ):
            raise invalid("the session of this token has ended: log in again")
        return principal

    async def _verify(self, token: str, now: float) -> tuple[Principal, float]:
        raw = token.encode("ascii", "replace")
        if len(raw) > MAX_TOKEN_BYTES:
            raise invalid("the token is too long")
        try:
            obj = jws.extract_compact(raw, registry=REGISTRY)
        except (JoseError, ValueError) as error:
            raise invalid("the token is not a compact JWS") from error
        header = obj.headers()
        typ = _checked_header(header)
        key = await self._key(typ, header["kid"])
        try:
            valid = jws.validate_compact(obj, key, registry=REGISTRY)
        except (JoseError, ValueError) as error:
            raise invalid("the token's signature does not verify") from error
        if not valid:
            raise invalid("the token's signature does not verify")
        claims = _claims(obj.payload)
        self._check_claims(claims, int(now))
        return _principal(typ, claims), float(claims["exp"])

    async def _key(self, typ: str, kid: str) -> OKPKey:
        key: OKPKey | None
        if typ == SERVICE_TOKEN_TYPE:
            key = self._service_keys.get(kid)
        else:
            key = await self._user_keys.key(kid) if self._user_keys is not None else None
        if key is None:
            raise invalid(f"no {typ} key is known as {kid!r}")
        return key

    def _check_claims(self, claims: dict[str, Any], now: int) -> None:
        required: ClaimsOption = {"essential": True}
        registry = jose_jwt.JWTClaimsRegistry(
            now=now,
            leeway=self._leeway_s,
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            sub=required,
            exp=required,
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as error:
            raise Unauthenticated("the token has expired", reason=TOKEN_EXPIRED) from error
        except ClaimError as error:
            raise invalid(f"the token's claims are not acceptable: {error.description}") from error

    def _remember(self, token: str, principal: Principal, until: float) -> None:
        self._verified[token] = (principal, until)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)


def _checked_header(header: Mapping[str, Any]) -> str:
    """The token type, once the header is exactly what Agora signs."""
    if header.get("alg") != ALGORITHM:
        raise invalid(f"the algorithm must be {ALGORITHM}")
    if not set(header) <= _HEADER_FIELDS:
        raise invalid("the token's header has unexpected fields")
    typ = header.get("typ")
    if typ not in (ACCESS_TOKEN_TYPE, SERVICE_TOKEN_TYPE):
        raise invalid(f"the token type must be {ACCESS_TOKEN_TYPE} or {SERVICE_TOKEN_TYPE}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise invalid("the token names no key (kid)")
    return str(typ)


def _claims(payload: bytes | None) -> dict[str, Any]:
    try:
        claims = json.loads(payload or b"")
    except ValueError as error:
        raise invalid("the token's claims are not JSON") from error
    if not isinstance(claims, dict):
        raise invalid("the token's claims are not a JSON object")
    return claims


def _principal(typ: str, claims: Mapping[str, Any]) -> Principal:
    subject = claims["sub"]
    is_service = subject.startswith(SERVICE_SUBJECT_PREFIX)
    if (typ == SERVICE_TOKEN_TYPE) != is_service:
        raise invalid("the token's subject does not match its type")
    if is_service and len(subject) == len(SERVICE_SUBJECT_PREFIX):
        raise invalid("the service token names no service")
    permissions = frozenset(_strings(claims, "perms"))
    if is_service:
        declared = service_permissions(subject[len(SERVICE_SUBJECT_PREFIX) :])
        if not permissions <= declared:
            raise invalid("the service token claims permissions its service is not declared")
    return Principal(
        subject=subject,
        kind="service" if is_service else "user",
        roles=frozenset(_strings(claims, "roles")),
        permissions=permissions,
        session_id=_string(claims, "sid"),
        auth_methods=tuple(_strings(claims, "amr")),
    )


def _strings(claims: Mapping[str, Any], name: str) -> Sequence[str]:
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"the token's {name!r} claim must be a list of strings")
    return value


def _string(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name, "")
    if not isinstance(value, str):
        raise invalid(f"the token's {name!r} claim must be a string")
    return value


def token_type(token: str) -> str:
    """The `typ` a compact JWS's header names, unverified ("" when there is none).

    For routing decisions only (the edge refusing service tokens): never for trust.
    """
    header = token.split(".", 1)[0]
    if not header or len(header) > MAX_TOKEN_BYTES:
        return ""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        return ""
    typ = decoded.get("typ") if isinstance(decoded, dict) else None
    return typ if isinstance(typ, str) else ""
