"""What every gRPC service process runs around its own code: migrations, database engine, NATS,
the outbox relay of its stream, a gRPC server registered for discovery, clients to other services,
and a clean shutdown in reverse order. One place, so every service starts and stops alike."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import nats
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.platform.bus.relay import OutboxRelay
from agora.platform.bus.streams import audit_stream, producer_stream
from agora.platform.db import create_engine, session_factory, transaction
from agora.platform.idempotency import purge_idempotency_keys
from agora.platform.jobs import run_every
from agora.platform.kernel.paging import KEY_VARIABLE as PAGE_TOKEN_KEY_VARIABLE
from agora.platform.migrations import migrate
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.discovery import Registration, Resolver
from agora.platform.rpc.server import GrpcServer
from agora.platform.security.bootstrap import ServiceSecurity, service_security, user_key_source
from agora.platform.security.jwks import JwksSource
from agora.platform.security.permissions import streaming_methods
from agora.platform.security.revocation import RevokedSessionSet
from agora.platform.security.service_identity import ServiceIdentity
from agora.platform.services import GrpcService
from agora.platform.settings import (
    DEFAULT_GRPC_PORTS,
    PlatformSettings,
    ServiceSettings,
    grpc_port,
    refuse_development_defaults,
)

SHUTDOWN_GRACE_S = 5.0
NATS_DRAIN_TIMEOUT_S = 5  # unsubscribe and flush at shutdown; then the connection is closed
IDEMPOTENCY_PURGE_INTERVAL_S = 3600.0
READINESS_PROBE_INTERVAL_S = 1.0
READINESS_PROBE_TIMEOUT_S = 1.0
# Failed probes in a row before NOT_SERVING: one stale pooled connection or a moment's pool
# saturation is not an outage.
READINESS_FAILURES_TO_UNREADY = 2

log = structlog.get_logger("agora.runtime")


def static_addresses(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`AGORA_<SERVICE>_ADDRESS` of every known service: static addresses win over discovery."""
    found = {}
    for service in DEFAULT_GRPC_PORTS:
        value = environ.get(f"AGORA_{service.upper()}_ADDRESS")
        if value:
            found[service] = value
    return found


def fallback_address(service: str) -> str | None:
    """Where a service is when neither configured nor discovered: its Kubernetes DNS name on a
    cluster, else its default port on this machine."""
    if service not in DEFAULT_GRPC_PORTS:
        return None
    if "KUBERNETES_SERVICE_HOST" in os.environ:
        return f"{service}:{DEFAULT_GRPC_PORTS[service]}"
    return GrpcService(service).address()


async def connect_nats(platform: PlatformSettings, name: str) -> NatsClient:
    """A NATS connection that reconnects forever (the broker may restart under us)."""
    return await nats.connect(
        platform.resolved_nats_url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        drain_timeout=NATS_DRAIN_TIMEOUT_S,
    )


def streaming_methods_without_deadline() -> dict[str, float | None]:
    """Streaming methods get no default deadline (`rpc_timeout_s` is for answers): a support
    chat or a live feed lives as long as its caller keeps it, who sets a deadline if it wants."""
    return dict.fromkeys(streaming_methods())


@asynccontextmanager
async def service_resolver(
    platform: PlatformSettings,
    js: JetStreamContext | None,
    *,
    authorization: Callable[[], str] | None = None,
    timeouts: Mapping[str, float | None] | None = None,
) -> AsyncIterator[ServiceChannels]:
    """Channels to other services: static addresses, else discovery, else Kubernetes DNS.

    `authorization` supplies every call's credentials (a service's own token); the gateway
    passes none and forwards its clients' instead. `timeouts` overrides the default deadline per
    service or method (None: none, for long-lived streams).
    """
    resolver = Resolver(
        js if platform.discovery else None,
        static=static_addresses(),
        fallback=fallback_address,
        ttl_s=platform.instance_ttl_s,
    )
    await resolver.start()
    channels = ServiceChannels(
        resolver,
        timeout_s=platform.rpc_timeout_s,
        timeouts={**streaming_methods_without_deadline(), **(timeouts or {})},
        authorization=authorization,
    )
    try:
        yield channels
    finally:
        await channels.close()
        await resolver.stop()


class Runnable(Protocol):
    """A consumer or a job: runs until cancelled."""

    def run(self) -> Coroutine[Any, Any, None]: ...


@dataclass(frozen=True)
class Backends:
    """What a service's `compose()` builds its parts from: settings, its database engine,
    JetStream and channels to the other services. A running host supplies them; integration
    tests supply their own."""

    platform: PlatformSettings
    engine: AsyncEngine
    js: JetStreamContext
    channels: ServiceChannels


@dataclass(frozen=True)
class Servicer:
    """A gRPC servicer with the generated function that adds it to a server."""

    add_to_server: Callable[[Any, Any], None]
    implementation: object


@dataclass(frozen=True)
class ServiceParts:
    """Everything a service is made of, built by its `bootstrap.compose()` without serving:
    the servicers to serve, the event consumers and the periodic jobs to run, and what the
    parts hold open (a model's HTTP client), closed once serving and the jobs have stopped."""

    servicers: Sequence[Servicer]
    consumers: Sequence[Runnable] = ()
    jobs: Sequence[Runnable] = ()
    closers: Sequence[Callable[[], Awaitable[None]]] = ()


class PageTokenKey:
    """Production needs its own page-token key (the development one is public)."""

    def development_defaults(self) -> list[str]:
        if os.environ.get(PAGE_TOKEN_KEY_VARIABLE):
            return []
        return [f"{PAGE_TOKEN_KEY_VARIABLE}: set 32 random bytes in hex, the same in every replica"]


@dataclass
class ServiceHost:
    """The running parts a service's bootstrap wires its own code into."""

    name: str
    platform: PlatformSettings
    engine: AsyncEngine
    nats: NatsClient
    js: JetStreamContext
    server: GrpcServer
    channels: ServiceChannels
    security: ServiceSecurity
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def backends(self) -> Backends:
        return Backends(self.platform, self.engine, self.js, self.channels)

    def install(self, parts: ServiceParts) -> None:
        """Serve `parts`' servicers and run its consumers and jobs for the life of the process."""
        for servicer in parts.servicers:
            self.server.add(servicer.add_to_server, servicer.implementation)
        for runnable in (*parts.consumers, *parts.jobs):
            self.background(runnable.run())
        self._closers.extend(parts.closers)

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` for the life of the process (cancelled at shutdown)."""
        self._tasks.append(asyncio.create_task(work))

    async def serve_forever(self) -> None:
        """Start serving, register for discovery, and wait until cancelled."""
        await self.server.start()
        self.background(self._watch_readiness())
        registration = Registration(
            self.js,
            self.name,
            f"{self.platform.advertised_host}:{self.server.port}",
            ttl_s=self.platform.instance_ttl_s,
        )
        if self.platform.discovery:
            await registration.start()
        log.info("service_started", service=self.name, address=self.server.address)
        try:
            await asyncio.Event().wait()
        finally:
            if self.platform.discovery:
                with contextlib.suppress(Exception):
                    await registration.stop()

    async def unreachable_backend(self) -> str | None:
        """`database` or `nats` when that one cannot serve this process now, else None."""
        return await unreachable_backend(self.engine, self.nats, READINESS_PROBE_TIMEOUT_S)

    async def _watch_readiness(self) -> None:
        """Report NOT_SERVING on the health protocol while the database or NATS is unreachable
        (the gateway's /readyz and `agora up` read it), SERVING again once both answer."""
        serving, failures = True, 0
        while True:
            await asyncio.sleep(READINESS_PROBE_INTERVAL_S)
            backend = await self.unreachable_backend()
            failures = 0 if backend is None else failures + 1
            if serving and failures >= READINESS_FAILURES_TO_UNREADY:
                serving = False
                await self.server.set_serving(False)
                log.warning("backend_unreachable", service=self.name, backend=backend)
            elif not serving and backend is None:
                serving = True
                await self.server.set_serving(True)
                log.info("backends_reachable", service=self.name)

    async def _stop_background(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _close_parts(self) -> None:
        """Close what the installed parts hold; one failing does not keep the others open."""
        for close in self._closers:
            try:
                await close()
            except Exception as error:  # shutting down: report and go on
                log.warning("service_part_close_failed", service=self.name, error=repr(error))


async def unreachable_backend(
    engine: AsyncEngine, nc: NatsClient, timeout_s: float = READINESS_PROBE_TIMEOUT_S
) -> str | None:
    """`nats` while the client is not connected (it reconnects on its own), `database` while the
    pool cannot answer `SELECT 1` within `timeout_s`; None when both are reachable."""
    if not nc.is_connected:
        return "nats"
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except asyncio.CancelledError:
        raise
    except Exception:  # any failure of the probe means "not reachable now"
        return "database"
    return None


async def _purge_keys(engine: AsyncEngine) -> int:
    """Forget idempotency keys past their retention (every service keeps them in its schema)."""
    async with transaction(session_factory(engine)) as session:
        return await purge_idempotency_keys(session)


@asynccontextmanager
async def service_host(
    name: str,
    platform: PlatformSettings,
    settings: ServiceSettings,
    *,
    user_keys: JwksSource | None = None,
) -> AsyncIterator[ServiceHost]:
    """Migrate `name`'s schema and bring up everything around it; tear down on exit.

    Every call to the server is checked against its method's rule, access tokens verified under
    `user_keys` (default: the auth service's JWKS, see `user_key_source`) and refused once their
    session is revoked (the revoked sessions are loaded before serving, then watched); every
    call to another service carries this service's own token.
    """
    refuse_development_defaults(platform, settings, PageTokenKey())
    identity = ServiceIdentity.of(name, platform)  # fails fast in prod without a service key
    database_url = platform.resolved_database_url
    await migrate(name, database_url)
    engine = create_engine(database_url, name, pool_size=settings.db_pool_size)
    nc = await connect_nats(platform, name)
    js = nc.jetstream()
    relay = OutboxRelay(
        engine, js, schema=name, stream=producer_stream(name), extra_streams=[audit_stream()]
    )
    revoked = RevokedSessionSet(js)
    try:
        await revoked.start()
        async with service_resolver(platform, js, authorization=identity.authorization) as channels:
            keys = user_keys or user_key_source(platform, partial(channels.channel, "auth"))
            security = service_security(identity, keys, revoked)
            server = GrpcServer(
                name,
                platform.host,
                grpc_port(name, settings.port),
                authorization=security.interceptor,
            )
            host = ServiceHost(name, platform, engine, nc, js, server, channels, security)
            host.background(relay.run())
            host.background(
                run_every(IDEMPOTENCY_PURGE_INTERVAL_S, partial(_purge_keys, engine), name="purge")
            )
            try:
                yield host
            finally:
                async with _shutdown_step(name, "grpc"):
                    await server.stop(SHUTDOWN_GRACE_S)
                async with _shutdown_step(name, "relay"):
                    await relay.stop()
                async with _shutdown_step(name, "background"):
                    await host._stop_background()
                async with _shutdown_step(name, "parts"):
                    await host._close_parts()
    finally:
        await revoked.stop()
        async with _shutdown_step(name, "nats"):
            with contextlib.suppress(Exception):
                await nc.drain()
        await engine.dispose()


@asynccontextmanager
async def _shutdown_step(service: str, step: str) -> AsyncIterator[None]:
    """Log a shutdown step that takes longer than a second (what holds a stopping process)."""
    started = time.monotonic()
    try:
        yield
    finally:
        took = time.monotonic() - started
        if took > 1.0:
            log.warning("service_slow_shutdown", service=service, step=step, took_s=round(took, 2))
