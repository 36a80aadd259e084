"""Rate limits at the edge, counted by the `limits` library (docs/adr/0007, "Edge").

Every API request counts against its client IP and, when it carries a token, against its user;
a method may declare a stricter limit (`(agora.options.v1.rule).rate_limit`, e.g. "5/minute")
counted per IP and per account (the request's `email`) for that method alone. Counters live in
each worker's memory, or in Redis (`AGORA_REDIS_URL`) so that every worker and replica shares
them. A Redis that fails lets requests through (logged): the edge must not go down with it.

The general limits use a fixed window by default: one counter per key, O(1) on the hot path
whatever the limit. A method's own limit is small and guards against guessing passwords, so it
always uses a moving window (no double burst across a window boundary).
"""

from __future__ import annotations

import math
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog
from limits import RateLimitItem, parse_many
from limits import strategies as sync_strategies
from limits.aio import strategies as aio_strategies
from limits.aio.storage import RedisStorage
from limits.errors import StorageError
from limits.storage import MemoryStorage

from agora.gateway.transcoding import Route, RouteError

log = structlog.get_logger("agora.gateway")

Strategy = Literal["moving-window", "fixed-window"]
KEY_PREFIX = "agora-gateway"
REDIS_TIMEOUT_S = 0.5
# One warning per this many seconds while Redis fails, not one per request.
STORAGE_WARNING_INTERVAL_S = 30.0
# The request field a method's own limit is also counted by, per account.
ACCOUNT_FIELD = "email"
MAX_ACCOUNT_LENGTH = 254


@dataclass(frozen=True)
class Limits:
    """One or more limits in `limits` notation ("10/second;600/minute"), parsed once."""

    text: str
    items: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, text: str) -> Limits:
        """Raises ValueError on text `limits` cannot read."""
        return cls(text, tuple(parse_many(text)))


class _Counter(Protocol):
    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool: ...

    async def reset_at(self, item: RateLimitItem, *identifiers: str) -> float: ...


class _MemoryCounter:
    """A synchronous in-memory strategy, called directly: nothing here waits."""

    def __init__(self, limiter: sync_strategies.RateLimiter) -> None:
        self._limiter = limiter

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        return self._limiter.hit(item, *identifiers)

    async def reset_at(self, item: RateLimitItem, *identifiers: str) -> float:
        return self._limiter.get_window_stats(item, *identifiers).reset_time


class _RedisCounter:
    def __init__(self, limiter: aio_strategies.RateLimiter) -> None:
        self._limiter = limiter

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        return await self._limiter.hit(item, *identifiers)

    async def reset_at(self, item: RateLimitItem, *identifiers: str) -> float:
        return (await self._limiter.get_window_stats(item, *identifiers)).reset_time


# A method's own limit always counts in a moving window (see the module docstring).
_OWN: Strategy = "moving-window"
_MEMORY_STRATEGIES: Mapping[Strategy, type[sync_strategies.RateLimiter]] = {
    "moving-window": sync_strategies.MovingWindowRateLimiter,
    "fixed-window": sync_strategies.FixedWindowRateLimiter,
}
_REDIS_STRATEGIES: Mapping[Strategy, type[aio_strategies.RateLimiter]] = {
    "moving-window": aio_strategies.MovingWindowRateLimiter,
    "fixed-window": aio_strategies.FixedWindowRateLimiter,
}


def _counters(strategy: Strategy, redis_url: str | None) -> tuple[_Counter, _Counter]:
    """The counters of the general limits (`strategy`) and of methods' own, over one storage."""
    if redis_url is None:
        memory = MemoryStorage()
        return (
            _MemoryCounter(_MEMORY_STRATEGIES[strategy](memory)),
            _MemoryCounter(_MEMORY_STRATEGIES[_OWN](memory)),
        )
    redis = RedisStorage(
        "async+" + redis_url,
        wrap_exceptions=True,
        implementation="redispy",
        key_prefix=KEY_PREFIX,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
    )
    return (
        _RedisCounter(_REDIS_STRATEGIES[strategy](redis)),
        _RedisCounter(_REDIS_STRATEGIES[_OWN](redis)),
    )


class RateLimiter:
    """Counts hits against limits; answers how long to wait when one is exceeded."""

    def __init__(
        self,
        *,
        per_ip: Limits,
        per_user: Limits,
        strategy: Strategy = "fixed-window",
        redis_url: str | None = None,
    ) -> None:
        self.per_ip = per_ip
        self.per_user = per_user
        self.storage = "redis" if redis_url else "memory"
        self._general, self._strict = _counters(strategy, redis_url)
        self._warned_at = -math.inf

    async def ip_wait(self, client_ip: str) -> int | None:
        """Seconds the client IP must wait before its next request, or None to let it through."""
        return await self._exceeded(self._general, self.per_ip.items, "ip", client_ip)

    async def user_wait(self, user: str) -> int | None:
        """Like `ip_wait` for a user (a token's subject, or a digest of an unverified token)."""
        return await self._exceeded(self._general, self.per_user.items, "user", user)

    async def method_wait(self, limits: Limits, method: str, scope: str, value: str) -> int | None:
        """Like `ip_wait` for a method's own limit, counted per `scope` ("ip", "account")."""
        return await self._exceeded(self._strict, limits.items, method, scope, value)

    async def _exceeded(
        self, counter: _Counter, items: Sequence[RateLimitItem], *identifiers: str
    ) -> int | None:
        try:
            for item in items:
                if not await counter.hit(item, *identifiers):
                    reset_at = await counter.reset_at(item, *identifiers)
                    return max(1, math.ceil(reset_at - time.time()))
        except StorageError as error:
            self._warn(error)
        return None

    def _warn(self, error: StorageError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= STORAGE_WARNING_INTERVAL_S:
            self._warned_at = now
            log.warning("rate_limit_storage_failed", error=str(error.storage_error) or str(error))


def method_limits(routes: Iterable[Route]) -> dict[Route, Limits]:
    """Each route's own limit (`rule.rate_limit`); one `limits` cannot read fails startup."""
    found: dict[Route, Limits] = {}
    for route in routes:
        text = route.policy.rate_limit
        if not text:
            continue
        try:
            found[route] = Limits.parse(text)
        except ValueError as error:
            raise RouteError(f"{route.method.full_name}: rate_limit {text!r}: {error}") from error
    return found


def account_limited(limited: Mapping[Route, Limits]) -> frozenset[Route]:
    """The limited routes whose request names an account (a string `email` field)."""
    found = set()
    for route in limited:
        field = route.method.input_type.fields_by_name.get(ACCOUNT_FIELD)
        if field is not None and field.type == field.TYPE_STRING and not field.is_repeated:
            found.add(route)
    return frozenset(found)


def normalized_account(email: str) -> str:
    """An account as counted: `Ada@Example.com ` and `ada@example.com` are one account."""
    return unicodedata.normalize("NFKC", email).strip().lower()[:MAX_ACCOUNT_LENGTH]
