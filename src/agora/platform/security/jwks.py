"""Where services find the public keys of access tokens (docs/adr/0007).

- `GrpcJwksSource`: the auth service's `GetJwks` over gRPC (the default).
- `StaticJwksSource`: a JWKS JSON file (`AGORA_AUTH_JWKS_FILE`: tests, air-gapped deployments).

Both cache the keys for 5 minutes and look again when a token names a key they do not know, at
most once per 10 s (so a flood of made-up `kid`s costs the auth service nothing). A source that
has keys keeps them while the auth service is unreachable; one that never had any answers
`Unavailable` (a server-side problem, not the caller's token).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import grpc
import structlog
from google.protobuf import json_format
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from agora.platform.errors import Unavailable
from agora.platform.security.tokens import ALGORITHM

MAX_AGE_S = 300.0
MIN_REFRESH_INTERVAL_S = 10.0
# After a failed first fetch (auth still starting), try again soon rather than in 10 s.
RETRY_WITHOUT_KEYS_S = 1.0
GET_JWKS_METHOD = "/agora.auth.v1.AuthService/GetJwks"
DEFAULT_TIMEOUT_S = 2.0

log = structlog.get_logger("agora.security")

Fetch = Callable[[], Awaitable[Mapping[str, Any]]]


class JwksSource(Protocol):
    """Verification keys of access tokens, by `kid`."""

    async def key(self, kid: str) -> OKPKey | None:
        """The Ed25519 public key named `kid`, or None when the source does not know it."""
        ...


def parse_jwks(document: Mapping[str, Any]) -> dict[str, OKPKey]:
    """The usable keys of a JWKS document by kid: Ed25519 (`OKP`) signature keys only.

    Keys of another type, curve, algorithm or use are skipped (they could never verify a token
    of ours); a key that does not parse is skipped with a warning.
    """
    keys: dict[str, OKPKey] = {}
    for entry in document.get("keys") or ():
        if not isinstance(entry, Mapping):
            continue
        kid = entry.get("kid")
        if not (
            isinstance(kid, str)
            and kid
            and entry.get("kty") == "OKP"
            and entry.get("crv") == "Ed25519"
            and entry.get("alg", ALGORITHM) in (ALGORITHM, "")
            and entry.get("use", "sig") in ("sig", "")
            and "d" not in entry  # a private key published by mistake is not trusted
        ):
            continue
        x = entry.get("x")
        if not isinstance(x, str):
            continue
        public: dict[str, str | list[str]] = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid}
        try:
            keys[kid] = OKPKey.import_key(public)
        except (JoseError, ValueError, TypeError) as error:
            log.warning("jwks_key_unusable", kid=kid, error=repr(error))
    return keys


class RefreshingJwks:
    """Keys fetched by `fetch`, cached for `max_age_s`, refetched for an unknown kid at most once
    per `min_refresh_interval_s`."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        name: str,
        max_age_s: float = MAX_AGE_S,
        min_refresh_interval_s: float = MIN_REFRESH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._name = name
        self._max_age_s = max_age_s
        self._min_interval_s = min_refresh_interval_s
        self._clock = clock
        self._keys: dict[str, OKPKey] | None = None
        self._fetched_at = 0.0
        self._next_attempt_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> OKPKey | None:
        keys = self._keys
        now = self._clock()
        if keys is None or now - self._fetched_at >= self._max_age_s or kid not in keys:
            keys = await self._refreshed(kid)
        return keys.get(kid)

    async def _refreshed(self, kid: str) -> dict[str, OKPKey]:
        async with self._lock:
            keys = self._keys
            now = self._clock()
            fresh = keys is not None and now - self._fetched_at < self._max_age_s
            if (fresh and keys is not None and kid in keys) or now < self._next_attempt_at:
                if keys is None:
                    raise Unavailable(f"no token verification keys from {self._name} yet")
                return keys
            return await self._fetch_now(now)

    async def _fetch_now(self, now: float) -> dict[str, OKPKey]:
        self.fetches += 1
        try:
            document = await self._fetch()
        except Exception as error:  # the auth service down or the file unreadable
            previous = self._keys
            self._next_attempt_at = now + (
                self._min_interval_s if previous is not None else RETRY_WITHOUT_KEYS_S
            )
            log.warning("jwks_fetch_failed", source=self._name, error=repr(error))
            if previous is None:
                raise Unavailable(f"no token verification keys from {self._name}") from error
            return previous
        keys = parse_jwks(document)
        self._keys = keys
        self._fetched_at = now
        self._next_attempt_at = now + self._min_interval_s
        log.debug("jwks_fetched", source=self._name, kids=sorted(keys))
        return keys


class StaticJwksSource(RefreshingJwks):
    """The keys of a JWKS JSON file (re-read like a fetched source, so it can be rotated)."""

    def __init__(self, path: Path, **options: Any) -> None:
        self.path = path

        async def read() -> Mapping[str, Any]:
            document: Mapping[str, Any] = json.loads(await asyncio.to_thread(path.read_text))
            return document

        super().__init__(read, name=str(path), **options)


class GrpcJwksSource(RefreshingJwks):
    """The auth service's published keys (`agora.auth.v1.AuthService/GetJwks`)."""

    def __init__(
        self,
        channel: Callable[[], grpc.aio.Channel],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        **options: Any,
    ) -> None:
        async def fetch() -> Mapping[str, Any]:
            from agora._proto.agora.auth.v1 import auth_pb2

            call = channel().unary_unary(
                GET_JWKS_METHOD,
                request_serializer=auth_pb2.GetJwksRequest.SerializeToString,
                response_deserializer=auth_pb2.Jwks.FromString,
            )
            reply = await call(auth_pb2.GetJwksRequest(), timeout=timeout_s)
            return json_format.MessageToDict(reply, preserving_proto_field_name=True)

        super().__init__(fetch, name="auth", **options)


class JwksChain:
    """Several sources, asked in order (a static test key next to the auth service's keys)."""

    def __init__(self, sources: Iterable[JwksSource]) -> None:
        self._sources = list(sources)

    async def key(self, kid: str) -> OKPKey | None:
        unavailable: Unavailable | None = None
        answered = False
        for source in self._sources:
            try:
                found = await source.key(kid)
            except Unavailable as error:
                unavailable = error
                continue
            answered = True
            if found is not None:
                return found
        if unavailable is not None and not answered:
            raise unavailable
        return None
