"""Service discovery: live instances in a NATS JetStream KV bucket, kept alive by heartbeat.

Each instance puts `<service>.<instance_id>` → `Instance` JSON in the `agora_instances` bucket
and puts it again every third of the bucket's TTL; a stopped instance deletes its key, a crashed
one ages out of the bucket after the TTL. A `Resolver` watches the bucket and answers
`addresses(service)`: static addresses from configuration first, then the live instances, then
a fallback (the Kubernetes DNS name).

The bucket is file-backed, so it survives a NATS restart; should it be gone all the same (a
server with a fresh store), the next heartbeat re-creates it and registers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

import orjson
import structlog
from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, KeyValueLimitMarkerTTLNotSupportedError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

INSTANCES_BUCKET = "agora_instances"
DEFAULT_TTL_S = 10.0

log = structlog.get_logger("agora.discovery")


@dataclass(frozen=True)
class Instance:
    """One running process of a service, as registered."""

    service: str
    address: str
    instance_id: str
    pid: int
    started_at: str
    healthy: bool = True

    @property
    def key(self) -> str:
        return f"{self.service}.{self.instance_id}"

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes) -> Instance:
        fields = orjson.loads(data)
        return cls(
            service=str(fields["service"]),
            address=str(fields["address"]),
            instance_id=str(fields["instance_id"]),
            pid=int(fields["pid"]),
            started_at=str(fields["started_at"]),
            healthy=bool(fields.get("healthy", True)),
        )


async def instance_bucket(
    js: JetStreamContext, bucket: str = INSTANCES_BUCKET, ttl_s: float = DEFAULT_TTL_S
) -> KeyValue:
    """The instances bucket, created on first use (on file, history 1, entries live `ttl_s`).

    An existing bucket is used as it is, whatever its TTL. On file, because a bucket in memory
    is gone after a NATS restart and with it every registration.
    """
    with contextlib.suppress(BucketNotFoundError):
        return await js.key_value(bucket)
    config = api.KeyValueConfig(bucket=bucket, history=1, ttl=ttl_s, storage=api.StorageType.FILE)
    try:
        # Delete markers tell watchers when an entry ages out (NATS server 2.11+).
        return await js.create_key_value(config, limit_marker_ttl=ttl_s)
    except KeyValueLimitMarkerTTLNotSupportedError:
        return await js.create_key_value(config)


async def bucket_ttl_s(kv: KeyValue, default: float = DEFAULT_TTL_S) -> float:
    """How long an entry of `kv` lives without being put again."""
    status = await kv.status()
    max_age = status.stream_info.config.max_age
    return float(max_age) if max_age else default


class Registration:
    """Keeps one instance registered while it runs: put, heartbeat, delete on stop."""

    def __init__(
        self,
        js: JetStreamContext,
        service: str,
        address: str,
        *,
        instance_id: str | None = None,
        bucket: str = INSTANCES_BUCKET,
        ttl_s: float = DEFAULT_TTL_S,
    ) -> None:
        self._js = js
        self._bucket = bucket
        self._ttl_s = ttl_s
        self.instance = Instance(
            service=service,
            address=address,
            instance_id=instance_id or uuid.uuid4().hex[:12],
            pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat(),
        )
        self._kv: KeyValue | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Register now and keep re-registering every third of the bucket's TTL."""
        self._kv = await instance_bucket(self._js, self._bucket, self._ttl_s)
        interval_s = await bucket_ttl_s(self._kv, self._ttl_s) / 3
        await self._kv.put(self.instance.key, self.instance.to_json())
        self._heartbeat = asyncio.create_task(self._beat(interval_s))
        log.info("instance_registered", key=self.instance.key, address=self.instance.address)

    async def set_healthy(self, healthy: bool) -> None:
        """Publish a change of health at once (resolvers skip unhealthy instances)."""
        self.instance = replace(self.instance, healthy=healthy)
        if self._kv is not None:
            await self._kv.put(self.instance.key, self.instance.to_json())

    async def _beat(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self._put()
            except Exception as error:
                # NATS away for a moment: the next beat tries again before the TTL runs out.
                log.warning("heartbeat_failed", key=self.instance.key, error=repr(error))

    async def _put(self) -> None:
        """Put the instance; when the bucket is gone (`stream not found`), re-create it first."""
        if self._kv is None:
            self._kv = await instance_bucket(self._js, self._bucket, self._ttl_s)
        try:
            await self._kv.put(self.instance.key, self.instance.to_json())
        except Exception:
            # Re-created here on `stream not found` or `no responders`; looked up on anything else.
            self._kv = await instance_bucket(self._js, self._bucket, self._ttl_s)
            await self._kv.put(self.instance.key, self.instance.to_json())
            log.info("instance_registered_again", key=self.instance.key)

    async def stop(self) -> None:
        """Stop the heartbeat and delete the key, so resolvers drop the instance at once."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if self._kv is not None:
            await self._kv.delete(self.instance.key)
            self._kv = None
            log.info("instance_deregistered", key=self.instance.key)


@dataclass
class _Seen:
    instance: Instance
    expires_at: float


class Resolver:
    """Addresses of services: static configuration, else live instances, else a fallback.

    `static` maps a service to `host:port[,host:port]` and always wins. Without `js` (discovery
    off) only static addresses and the fallback answer. `addresses()` is synchronous and cheap:
    the watch task keeps the answer up to date.
    """

    def __init__(
        self,
        js: JetStreamContext | None = None,
        *,
        static: Mapping[str, str] | None = None,
        fallback: Callable[[str], str | None] | None = None,
        bucket: str = INSTANCES_BUCKET,
        ttl_s: float = DEFAULT_TTL_S,
    ) -> None:
        self._js = js
        self._static = {
            service: sorted(a.strip() for a in value.split(",") if a.strip())
            for service, value in (static or {}).items()
        }
        self._fallback = fallback
        self._bucket = bucket
        self._ttl_s = ttl_s
        self._seen: dict[str, _Seen] = {}
        self._live: dict[str, list[str]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._kv: KeyValue | None = None
        self._watcher: KeyValue.KeyWatcher | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._last_update = time.monotonic()

    async def start(self) -> None:
        """Watch the bucket; returns once the instances registered so far are known."""
        if self._js is None:
            return
        self._kv = await instance_bucket(self._js, self._bucket, self._ttl_s)
        self._ttl_s = await bucket_ttl_s(self._kv, self._ttl_s)
        await self._watch_anew()
        self._tasks.append(asyncio.create_task(self._expire_silent()))

    async def stop(self) -> None:
        """Stop watching."""
        await self._stop_watching()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _watch_anew(self) -> None:
        """(Re)start the watch; returns once the entries the bucket holds now are known."""
        assert self._kv is not None
        await self._stop_watching()
        self._watcher = await self._kv.watchall()
        self._last_update = time.monotonic()
        caught_up = asyncio.Event()
        self._watch_task = asyncio.create_task(self._watch(self._watcher, caught_up))
        await caught_up.wait()

    async def _stop_watching(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            with contextlib.suppress(Exception):
                await watcher.stop()  # type: ignore[no-untyped-call]
        task, self._watch_task = self._watch_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def addresses(self, service: str) -> list[str]:
        """The addresses to call `service` at, sorted; empty when none is known."""
        static = self._static.get(service)
        if static:
            return list(static)
        live = self._live.get(service)
        if live:
            return list(live)
        fallback = self._fallback(service) if self._fallback else None
        return [fallback] if fallback else []

    def instances(self, service: str) -> list[Instance]:
        """The live, healthy instances of `service` seen in the bucket."""
        return [
            seen.instance
            for seen in self._seen.values()
            if seen.instance.service == service and seen.instance.healthy
        ]

    async def _watch(self, watcher: KeyValue.KeyWatcher, caught_up: asyncio.Event) -> None:
        async for entry in watcher:
            self._last_update = time.monotonic()
            if entry is None:  # the end of the entries that existed when the watch began
                caught_up.set()
                continue
            if entry.operation in (KV_DEL, KV_PURGE) or not entry.value:
                self._forget(entry.key)
            else:
                self._remember(entry.key, entry.value)
            if entry.delta == 0:
                caught_up.set()

    def _remember(self, key: str, value: bytes) -> None:
        try:
            instance = Instance.from_json(value)
        except (ValueError, KeyError, TypeError):
            log.warning("bad_instance_entry", key=key)
            return
        known = self._seen.get(key)
        self._seen[key] = _Seen(instance, time.monotonic() + self._ttl_s)
        if known is None or known.instance != instance:
            self._rebuild()

    def _forget(self, key: str) -> None:
        if self._seen.pop(key, None) is not None:
            self._rebuild()

    async def _expire_silent(self) -> None:
        """Drop instances whose heartbeat stopped, should the bucket's expiry marker not come.

        A watch silent for half the TTL (live instances put every third of it) may have died
        with a NATS restart (its consumer is gone): it is started anew first, which delivers
        the entries the bucket holds now.
        """
        while True:
            await asyncio.sleep(self._ttl_s / 4)
            if time.monotonic() - self._last_update > self._ttl_s / 2:
                try:
                    await asyncio.wait_for(self._watch_anew(), self._ttl_s)
                except Exception as error:  # NATS still away: try again next round
                    log.warning("discovery_watch_failed", error=repr(error))
            now = time.monotonic()
            for key in [key for key, seen in self._seen.items() if seen.expires_at < now]:
                self._forget(key)

    def _rebuild(self) -> None:
        live: dict[str, set[str]] = {}
        for seen in self._seen.values():
            if seen.instance.healthy:
                live.setdefault(seen.instance.service, set()).add(seen.instance.address)
        self._live = {service: sorted(addresses) for service, addresses in live.items()}
