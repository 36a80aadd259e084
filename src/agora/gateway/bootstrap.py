"""The gateway's composition root: granian workers, each with its app, channels and cache feed.

`serve` runs granian (ASGI) with `settings.workers` processes (and, with several and no Redis
configured, an embedded Redis for their shared rate-limit counters); every worker builds its own app
with `worker_app` (descriptor pool, channels to the backends, response cache, the verifier that
names the user of a token for per-user rate limits) and, while it runs, keeps a NATS
subscription that drops cached answers when their events arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from functools import partial

import grpc
import nats
import structlog
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from google.protobuf import descriptor_pb2
from granian import Granian
from granian.constants import Interfaces
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from starlette.applications import Starlette

from agora.gateway.app import create_app
from agora.gateway.cache import ResponseCache
from agora.gateway.descriptors import default_pool, read_descriptor_set
from agora.gateway.settings import GatewaySettings
from agora.gateway.transcoding import HTTP_BODY_TYPE
from agora.platform.errors import Unavailable
from agora.platform.logging import configure_logging
from agora.platform.rpc.client import ServiceChannels
from agora.platform.runtime import connect_nats, service_resolver
from agora.platform.security.bootstrap import AUTH_SERVICE, user_key_source
from agora.platform.security.service_identity import (
    ServiceIdentity,
    ensure_service_key,
    load_service_key,
)
from agora.platform.security.tokens import TokenVerifier
from agora.platform.services import GRPC_SERVICES
from agora.platform.settings import PlatformSettings, refuse_development_defaults

log = structlog.get_logger("agora.gateway")

NATS_RETRY_S = 2.0
CSRF_KEY_CONTEXT = b"agora-gateway-csrf-key-v1"


def serve(platform: PlatformSettings, settings: GatewaySettings) -> None:
    """Serve the gateway until SIGINT/SIGTERM (blocks).

    Refuses development defaults under `AGORA_ENV=prod` (ProductionDefaultsRefused). With
    several workers and no `AGORA_REDIS_URL`, the workers count rate limits in an embedded Redis
    started here, so a limit means the same with one worker or many.
    """
    refuse_development_defaults(platform, settings)
    key = csrf_key(platform)  # fails fast in prod without a service key
    with shared_counters(platform, settings) as settings:
        _serve(platform, settings, key)


def csrf_key(platform: PlatformSettings) -> bytes:
    """The key of the session-bound CSRF tokens, the same in every worker and replica: derived
    from the deployment's service key, the one secret they already share (a new service key
    asks browsers for a new login or refresh, nothing else)."""
    private = load_service_key(ensure_service_key(platform))
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return hmac.new(raw, CSRF_KEY_CONTEXT, hashlib.sha256).digest()


@contextlib.contextmanager
def shared_counters(
    platform: PlatformSettings, settings: GatewaySettings
) -> Iterator[GatewaySettings]:
    """`settings`, with the URL of an embedded Redis while the block runs when the workers
    would otherwise count in their own memory (each letting the whole limit through)."""
    if not settings.needs_shared_counters:
        yield settings
        return
    from agora.platform.embedded.redis import embedded_redis

    with embedded_redis(platform.data_dir) as url:
        log.info("rate_limits_shared", store="embedded redis", workers=settings.workers)
        yield settings.model_copy(update={"redis_url": url})


def _serve(platform: PlatformSettings, settings: GatewaySettings, csrf: bytes) -> None:
    server = Granian(
        "agora.gateway.bootstrap:worker_app",
        address=settings.host or platform.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        # Event streams and WebSockets stay open until their clients close them: a stop (a
        # deploy) must not wait for that. Their browsers reconnect.
        workers_kill_timeout=settings.shutdown_timeout_s,
        log_access=False,
    )
    server.serve(target_loader=partial(worker_app, platform, settings, csrf), wrap_loader=False)


def worker_app(platform: PlatformSettings, settings: GatewaySettings, csrf: bytes) -> Starlette:
    """The app of one worker process (called by granian in the worker)."""
    configure_logging("gateway", platform.log_level, platform.log_format)
    if settings.backends is None:
        # Ready means: the services this deployment runs answer (APIs of others answer 503).
        settings = settings.model_copy(update={"backends": [s.name for s in GRPC_SERVICES]})
    channels = BackendChannels(platform, long_lived_streams(read_descriptor_set()))
    # Fails fast in prod without the service key, like every service.
    identity = ServiceIdentity.of("gateway", platform)
    cache = (
        ResponseCache(max_entries=settings.cache_max_entries, max_ttl_s=settings.cache_max_ttl_s)
        if settings.cache_enabled
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await channels.start()
        feed = None
        if cache is not None:
            prefixes = {p for r in app.state.gateway.routes.routes for p in r.policy.invalidated_by}
            feed = CacheInvalidation(cache, platform.resolved_nats_url, prefixes)
            feed.start()
        try:
            yield
        finally:
            if feed is not None:
                await feed.stop()
            await channels.close()

    # Access tokens only: a service token has no business at the edge (its user is a digest).
    verifier = TokenVerifier(
        user_key_source(platform, lambda: channels.channel(AUTH_SERVICE)), service_keys={}
    )
    return create_app(
        default_pool(),
        channels.channel,
        settings=settings,
        cache=cache,
        lifespan=lifespan,
        token_verifier=verifier,
        gateway_proof=identity.token,
        csrf_key=csrf,
    )


def long_lived_streams(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
) -> dict[str, float | None]:
    """The methods the gateway holds open for minutes, without the channel's default deadline:
    event streams (server-streaming, not a file download) and WebSocket bridges (bidirectional).
    Their bridges end them (`sse_max_duration_s`, `ws_idle_timeout_s`, the client leaving)."""
    found: dict[str, float | None] = {}
    for file in descriptor_set.file:
        for service in file.service:
            for method in service.method:
                download = method.output_type == f".{HTTP_BODY_TYPE}"
                if method.server_streaming and (method.client_streaming or not download):
                    found[f"{file.package}.{service.name}/{method.name}"] = None
    return found


class BackendChannels:
    """Channels to the backends, resolved by discovery once the worker's event loop runs
    (static `AGORA_<NAME>_ADDRESS` addresses win; see `agora.platform.runtime`)."""

    def __init__(
        self, platform: PlatformSettings, timeouts: Mapping[str, float | None] | None = None
    ) -> None:
        self._platform = platform
        self._timeouts = timeouts
        self._channels: ServiceChannels | None = None
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        js = None
        if self._platform.discovery:
            client = await self._stack.enter_async_context(_nats(self._platform))
            js = client.jetstream()
        self._channels = await self._stack.enter_async_context(
            service_resolver(self._platform, js, timeouts=self._timeouts)
        )

    def channel(self, backend: str) -> grpc.aio.Channel:
        """The channel to `backend` (raises Unavailable when it has no known address)."""
        if self._channels is None:
            raise Unavailable("the gateway is starting")
        return self._channels.channel(backend)

    async def close(self) -> None:
        await self._stack.aclose()


@contextlib.asynccontextmanager
async def _nats(platform: PlatformSettings) -> AsyncIterator[NatsClient]:
    client = await connect_nats(platform, "gateway")
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.close()


def subscription_subjects(prefixes: Iterable[str]) -> list[str]:
    """NATS subjects covering every subject that starts with one of `prefixes`.

    `catalog.product.` -> `catalog.product.>`; a prefix ending inside a token
    (`catalog.prod`) widens to its parent (`catalog.>`).
    """
    subjects: set[str] = set()
    for prefix in prefixes:
        tokens = prefix.split(".")
        complete = tokens[:-1]  # the last token is "" (prefix ends with ".") or partial
        subjects.add(".".join([*complete, ">"]))
    return sorted(_without_covered(subjects))


def _without_covered(subjects: set[str]) -> set[str]:
    def covers(wide: str, narrow: str) -> bool:
        return wide != narrow and (wide == ">" or narrow.startswith(wide[:-1]))

    return {s for s in subjects if not any(covers(other, s) for other in subjects)}


class CacheInvalidation:
    """Feeds a ResponseCache from NATS: invalidates on events, suspends while disconnected.

    The cache serves nothing until the subscription is up, and again from each disconnection
    until the reconnection, because events missed meanwhile could leave stale answers.
    """

    def __init__(self, cache: ResponseCache, nats_url: str, prefixes: Iterable[str]) -> None:
        self.cache = cache
        self.nats_url = nats_url
        self.subjects = subscription_subjects(prefixes)
        self._client: NatsClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._reported_error = False

    def start(self) -> None:
        """Connect in the background (retrying) and subscribe."""
        self.cache.suspend()
        if self.subjects:
            self._task = asyncio.get_running_loop().create_task(self._connect())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None and not self._client.is_closed:
            await self._client.close()
        self.cache.suspend()

    async def _connect(self) -> None:
        # nats-py keeps retrying the first connection itself (max_reconnect_attempts=-1).
        client = await nats.connect(
            self.nats_url,
            connect_timeout=2,
            reconnect_time_wait=NATS_RETRY_S,
            max_reconnect_attempts=-1,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self._client = client
        for subject in self.subjects:
            await client.subscribe(subject, cb=self._on_event)
        await client.flush()
        self.cache.resume()
        log.info("cache_invalidation_subscribed", subjects=self.subjects)

    async def _on_event(self, message: Msg) -> None:
        self.cache.invalidate_prefix(message.subject)

    async def _on_error(self, error: Exception) -> None:
        # One line per failed attempt, not nats-py's default traceback.
        if not self._reported_error:
            log.warning("cache_invalidation_unavailable", error=str(error) or type(error).__name__)
        self._reported_error = True

    async def _on_disconnected(self) -> None:
        self.cache.suspend()
        self._reported_error = False
        log.warning("cache_suspended", reason="NATS disconnected")

    async def _on_reconnected(self) -> None:
        self.cache.resume()
        log.info("cache_resumed")
