"""Revoked sessions, propagated to every token verifier (docs/adr/0007, "Revocation").

An access token lives 15 minutes and is verified offline, so ending its session (logout, logout
everywhere, a session revoked by its owner, a reused refresh token, a password reset) must reach
every verifier on its own. The auth service writes each revoked session id into the NATS KV
bucket `agora_revoked_sessions` (entries live `RETENTION_S`, longer than any access token);
every service process loads the bucket before it serves and watches it, and its
`TokenVerifier` refuses a token whose `sid` is in the set, cached tokens included. A watch
delivers in milliseconds; the whole bucket is also re-read every `RESYNC_INTERVAL_S`, which
drops expired entries and recovers anything a broken watch missed.

When NATS is unreachable, a verifier keeps the set it has and goes on serving (failing closed
would take every signed-in user down with the broker); revocations made meanwhile apply when
NATS is back (the next resync), and the auth service writes again every session it revoked
within `RETENTION_S` (its `RevocationRepublisher` job), so a revocation written while NATS was
down is not lost either. The database stays the truth: a revoked session's refresh token is refused
there at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

import structlog
from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, NoKeysError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

REVOKED_SESSIONS_BUCKET = "agora_revoked_sessions"
# Longer than the longest access token (1 h, AGORA_AUTH_ACCESS_TOKEN_TTL_S) plus clock leeway.
RETENTION_S = 2 * 3600.0
RESYNC_INTERVAL_S = 30.0
RETRY_S = 1.0

log = structlog.get_logger("agora.security")


async def revoked_sessions_bucket(js: JetStreamContext) -> KeyValue:
    """The bucket of revoked session ids (created on first use, on file: survives a restart)."""
    with contextlib.suppress(BucketNotFoundError):
        return await js.key_value(REVOKED_SESSIONS_BUCKET)
    config = api.KeyValueConfig(
        bucket=REVOKED_SESSIONS_BUCKET,
        history=1,
        ttl=RETENTION_S,
        storage=api.StorageType.FILE,
    )
    return await js.create_key_value(config)


class RevocationPublisher:
    """What the auth service uses to announce revoked sessions."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self._bucket: KeyValue | None = None

    async def publish(self, session_ids: Iterable[str]) -> None:
        """Write each session id to the bucket (raises when NATS cannot take them)."""
        if self._bucket is None:
            self._bucket = await revoked_sessions_bucket(self._js)
        for session_id in session_ids:
            await self._bucket.put(session_id, b"")


class RevokedSessionSet:
    """The revoked session ids this process knows, kept current from the bucket.

    `start` loads the bucket before returning (a service serves only once it knows them), then
    watches it in the background; `stop` ends the watch.
    """

    def __init__(
        self,
        js: JetStreamContext,
        *,
        resync_interval_s: float = RESYNC_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._js = js
        self._resync_interval_s = resync_interval_s
        self._clock = clock
        # session id -> when this process learned of it (keeps a fresh id across a resync)
        self._revoked: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def is_revoked(self, session_id: str) -> bool:
        return session_id in self._revoked

    def add(self, session_ids: Iterable[str]) -> None:
        now = self._clock()
        for session_id in session_ids:
            self._revoked.setdefault(session_id, now)

    async def start(self) -> None:
        bucket = await revoked_sessions_bucket(self._js)
        await self._resync(bucket)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._watch(bucket)),
            loop.create_task(self._resync_periodically(bucket)),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def _resync(self, bucket: KeyValue) -> None:
        """Replace the set by the bucket's keys (keeping ids learned while reading them)."""
        started = self._clock()
        try:
            keys = await bucket.keys()
        except NoKeysError:
            keys = []
        now = self._clock()
        fresh = {sid: at for sid, at in self._revoked.items() if at >= started}
        self._revoked = {**dict.fromkeys(keys, now), **fresh}

    async def _resync_periodically(self, bucket: KeyValue) -> None:
        while True:
            await asyncio.sleep(self._resync_interval_s)
            try:
                await self._resync(bucket)
            except Exception as error:  # NATS away: keep the set we have
                log.warning("revocations_resync_failed", error=repr(error))

    async def _watch(self, bucket: KeyValue) -> None:
        while True:
            try:
                watcher = await bucket.watchall()
                async for entry in watcher:
                    if entry is None:  # the end of the initial values
                        continue
                    if entry.operation in (KV_DEL, KV_PURGE):
                        self._revoked.pop(entry.key, None)
                    else:
                        self.add([entry.key])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("revocations_watch_failed", error=repr(error))
            await asyncio.sleep(RETRY_S)
