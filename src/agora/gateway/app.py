"""The gateway's ASGI application: REST transcoded to gRPC (server streams as Server-Sent Events,
`event_stream`; bidirectional ones as WebSockets, `websocket_bridge`; `google.api.HttpBody`
answers as their bytes, `http_body`), OpenAPI, docs and health probes.

`create_app` takes the descriptors and a way to get a channel per service; everything else
(routes, message classes, rate limits, the OpenAPI document) is derived from the descriptors at
startup. Every call carries the caller's credentials, IP and user agent to the backend as gRPC
metadata; cookie-authenticated changes pass the CSRF check first (docs/adr/0007, "Edge").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import grpc
import orjson
import structlog
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute
from starlette.types import ASGIApp, Lifespan, Receive, Scope, Send
from starlette.types import Message as AsgiMessage
from starlette.websockets import WebSocket

import agora
from agora.gateway.browser_session import (
    CLEARED_COOKIES,
    SESSION_METHODS,
    CsrfTokens,
    SessionRule,
    refresh_cookie_parts,
    session_cookies,
    session_of_access_token,
    session_rules,
    take_use_cookies,
    tokens_of,
    without_tokens,
)
from agora.gateway.cache import CachedResponse, ResponseCache, etag_matches, etag_of
from agora.gateway.caller import (
    REFRESH_COOKIE,
    REQUEST_ID_SCOPE_KEY,
    UNSAFE_METHODS,
    Caller,
    CallerReader,
    backend_metadata,
    is_metadata_safe,
    user_of_token,
)
from agora.gateway.descriptors import (
    SourceComments,
    files_of,
    populate_pool,
    read_descriptor_set,
)
from agora.gateway.docs import docs_routes
from agora.gateway.event_stream import EventStreams
from agora.gateway.http_body import HttpBodies
from agora.gateway.openapi import openapi_document
from agora.gateway.problem import (
    EdgeProblem,
    Problem,
    problem_from_domain_error,
    problem_from_rpc_error,
)
from agora.gateway.ratelimit import (
    ACCOUNT_FIELD,
    Limits,
    RateLimiter,
    account_limited,
    method_limits,
    normalized_account,
)
from agora.gateway.security_headers import with_security_headers
from agora.gateway.settings import GatewaySettings
from agora.gateway.transcoding import (
    Match,
    NotAllowed,
    Route,
    RouteTable,
    build_routes,
    build_stream_routes,
)
from agora.gateway.web import Site, web_app
from agora.gateway.web.site import MethodLimits
from agora.gateway.websocket_bridge import (
    CLOSE_INTERNAL_ERROR,
    WebSocketBridge,
    deny,
    error_frame,
)
from agora.platform.errors import DomainError
from agora.platform.logging import bind_request_id
from agora.platform.security.tokens import SERVICE_TOKEN_TYPE, TokenVerifier, token_type

ChannelFor = Callable[[str], grpc.aio.Channel]

OPENAPI_PATH = "/api/openapi.json"
# Served by the gateway itself; everything else is looked up among the transcoded routes.
OWN_PATHS = frozenset({"/healthz", "/readyz"})
OWN_PREFIX = "/api/"
# Transcoded to the services; with the web pages on, every other path is a page.
API_PREFIXES = ("/v1/", "/.well-known/")
HEALTH_CHECK_METHOD = "/grpc.health.v1.Health/Check"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

log = structlog.get_logger("agora.gateway")


@dataclass(frozen=True)
class Gateway:
    """What the application was built from (kept on `app.state.gateway`)."""

    routes: RouteTable
    settings: GatewaySettings
    cache: ResponseCache | None
    backends: tuple[str, ...]  # backend names (`catalog`), each checked by /readyz
    rate_limiter: RateLimiter | None  # None: rate limits are off
    streams: tuple[Route, ...] = ()  # bidirectional streams bridged to WebSockets


def create_app(
    pool: descriptor_pool.DescriptorPool,
    channel_for: ChannelFor,
    *,
    settings: GatewaySettings,
    cache: ResponseCache | None = None,
    descriptor_set: descriptor_pb2.FileDescriptorSet | None = None,
    lifespan: Lifespan[Starlette] | None = None,
    token_verifier: TokenVerifier | None = None,
    gateway_proof: Callable[[], str] | None = None,
    csrf_key: bytes | None = None,
) -> Starlette:
    """The gateway app for every `google.api.http` method of the files in `descriptor_set`.

    `descriptor_set` defaults to Agora's generated `descriptors.binpb`; its files are added to
    `pool` when missing, and its source info supplies the OpenAPI descriptions.
    `channel_for(backend)` returns the channel to a backend, named after the proto package
    (`agora.catalog.v1.CatalogService` is served by backend `catalog`, see `backend_name`).
    `cache` is used for methods with a `cache_ttl_seconds` rule when `settings.cache_enabled`.
    `token_verifier` names the user of a token for per-user rate limits (without one, or for a
    token it refuses, the user is a digest of the token); backends still check every token.
    `gateway_proof` gives the gateway's own service token, sent as `x-agora-gateway` so services
    believe the client IP and user agent it reports (docs/adr/0007). `csrf_key` signs the
    session-bound CSRF tokens; every worker and replica must share it (when omitted, a random
    key good for this one app: tests).
    """
    descriptor_set = descriptor_set or read_descriptor_set()
    populate_pool(descriptor_set, pool)
    files = files_of(descriptor_set, pool)
    routes = build_routes(files)
    streams = build_stream_routes(files)
    table = RouteTable(routes)
    routed = {r.backend for r in [*routes, *streams]}
    backends = tuple(sorted(routed if settings.backends is None else set(settings.backends)))
    limiter = (
        RateLimiter(
            per_ip=Limits.parse(settings.rate_limit),
            per_user=Limits.parse(settings.rate_limit_user),
            strategy=settings.rate_limit_strategy,
            redis_url=settings.redis_url,
        )
        if settings.rate_limit_enabled
        else None
    )
    gateway = Gateway(
        table,
        settings,
        cache if settings.cache_enabled else None,
        backends,
        limiter,
        tuple(streams),
    )
    spec = orjson.dumps(
        openapi_document(
            routes,
            SourceComments.from_descriptor_set(descriptor_set),
            version=agora.__version__,
            session_methods=SESSION_METHODS,
            stream_routes=streams,
        )
    )

    async def openapi_json(request: Request) -> Response:
        return Response(spec, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        states = await backend_states(gateway.backends, channel_for, settings.readiness_timeout_s)
        ready = all(state == "SERVING" for state in states.values())
        body = {"status": "ready" if ready else "unavailable", "backends": states}
        return JSONResponse(body, status_code=200 if ready else 503)

    http_routes = [
        HttpRoute("/healthz", healthz, methods=["GET"]),
        HttpRoute("/readyz", readyz, methods=["GET"]),
        HttpRoute(OPENAPI_PATH, openapi_json, methods=["GET"]),
        *(docs_routes(OPENAPI_PATH) if settings.docs_enabled else []),
    ]
    # EdgeHeaders sits inside Starlette's ServerErrorMiddleware: it turns any error into a
    # problem+json 500 itself, with the request id and security headers. It hands API calls
    # straight to the transcoder, past Starlette's router (the hot path).
    csrf = CsrfTokens(csrf_key if csrf_key is not None else os.urandom(32))
    bridge = WebSocketBridge(
        settings,
        channel_for,
        limiter=limiter,
        method_limits=method_limits(streams),
        verifier=token_verifier,
        csrf=csrf,
        gateway_proof=gateway_proof,
    )
    transcoder = Transcoder(gateway, channel_for, token_verifier, csrf, gateway_proof)
    web = (
        web_app(
            Site(
                channel_for,
                csrf,
                verifier=token_verifier,
                gateway_proof=gateway_proof,
                caller_reader=CallerReader(settings.trusted_proxies),
                locales=tuple(settings.web_locales),
                currencies=tuple(settings.web_currencies),
                timeout_s=settings.backend_timeout_s,
                shop_name=settings.shop_name,
                limits=web_limits(limiter, routes),
            )
        )
        if settings.web_enabled
        else None
    )
    edge = Middleware(EdgeHeaders, transcoder=transcoder, web=web)
    app = Starlette(
        routes=[*http_routes, *bridge.routes(streams)], middleware=[edge], lifespan=lifespan
    )
    app.state.gateway = gateway
    return app


def web_limits(limiter: RateLimiter | None, routes: Sequence[Route]) -> MethodLimits | None:
    """The API methods' own rate limits, for the web pages' calls of the same methods."""
    if limiter is None:
        return None
    limited = method_limits(routes)
    return MethodLimits(
        limiter,
        {route.method.full_name: limits for route, limits in limited.items()},
        frozenset(route.method.full_name for route in account_limited(limited)),
    )


async def backend_states(
    backends: Sequence[str], channel_for: ChannelFor, timeout_s: float
) -> dict[str, str]:
    """Each backend's gRPC health status (`SERVING`, `NOT_SERVING`, `UNAVAILABLE`, …)."""
    states = await asyncio.gather(*(_health(channel_for, name, timeout_s) for name in backends))
    return dict(zip(backends, states, strict=True))


async def _health(channel_for: ChannelFor, backend: str, timeout_s: float) -> str:
    try:
        check = channel_for(backend).unary_unary(
            HEALTH_CHECK_METHOD,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        answer = await check(health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
    except grpc.RpcError as error:
        code = error.code() if isinstance(error, grpc.aio.AioRpcError) else None
        return code.name if code is not None else "UNAVAILABLE"
    except DomainError:
        return "UNAVAILABLE"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


class Transcoder:
    """The ASGI endpoint of every transcoded route (a raw ASGI app: no per-method wrapper)."""

    def __init__(
        self,
        gateway: Gateway,
        channel_for: ChannelFor,
        verifier: TokenVerifier | None,
        csrf: CsrfTokens,
        gateway_proof: Callable[[], str] | None = None,
    ) -> None:
        self.gateway = gateway
        # The gateway's own service token: what makes services believe the origin it reports.
        self.gateway_proof = gateway_proof
        self.channel_for = channel_for
        self.timeout_s = gateway.settings.backend_timeout_s
        self.max_body = gateway.settings.max_body_bytes
        self.callers = CallerReader(gateway.settings.trusted_proxies)
        self.limiter = gateway.rate_limiter
        self.verifier = verifier
        self.csrf = csrf
        self._callables: dict[Route, tuple[grpc.aio.Channel, Any]] = {}
        self._method_limits = method_limits(gateway.routes.routes)
        self._account_limited = account_limited(self._method_limits)
        self._sessions = session_rules(gateway.routes.routes)
        self._stream_paths = frozenset(r.rule.template.source for r in gateway.streams)
        self.event_streams = EventStreams(gateway.settings, channel_for, gateway_proof)
        self.http_bodies = HttpBodies(
            gateway.settings, channel_for, self.event_streams.slots, gateway_proof
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        scope = request.scope
        request_id: str = scope.get(REQUEST_ID_SCOPE_KEY, "")
        caller = self.callers.read(scope)
        user = ""
        if self.limiter is not None:
            wait = await self.limiter.ip_wait(caller.client_ip)
            if wait is None and caller.token:
                user = await user_of_token(caller.token, self.verifier)
                wait = await self.limiter.user_wait(user)
            if wait is not None:
                return EdgeProblem.RATE_LIMITED.response(request_id, retry_after_s=wait)
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        found = self.gateway.routes.match(request.method, raw_path)
        if found is None and raw_path in self._stream_paths:
            return EdgeProblem.UPGRADE_REQUIRED.response(request_id, path=_shown(raw_path))
        if found is None:
            return EdgeProblem.ROUTE_NOT_FOUND.response(
                request_id, method=_shown(request.method), path=_shown(request.url.path)
            )
        if isinstance(found, NotAllowed):
            return EdgeProblem.METHOD_NOT_ALLOWED.response(
                request_id,
                method=_shown(request.method),
                path=_shown(request.url.path),
                allowed=", ".join(found.allowed),
            )
        route = found.route
        if caller.authorization and not is_metadata_safe(caller.authorization):
            return EdgeProblem.MALFORMED_CREDENTIALS.response(request_id)
        if caller.token and token_type(caller.token) == SERVICE_TOKEN_TYPE:
            return EdgeProblem.SERVICE_TOKEN_REFUSED.response(request_id)
        if (
            caller.by_cookie
            and request.method in UNSAFE_METHODS
            and not self.csrf.matches(caller, session_of_access_token(caller.token))
        ):
            return EdgeProblem.CSRF_FAILED.response(request_id)
        limits = self._method_limits.get(route)
        if limits is not None and self.limiter is not None:
            wait = await self.limiter.method_wait(
                limits, route.method.full_name, "ip", caller.client_ip
            )
            if wait is not None:
                return EdgeProblem.RATE_LIMITED.response(request_id, retry_after_s=wait)
        try:
            if route.http_body:
                return await self._http_body(request, found, caller, user, request_id)
            if route.server_streaming:
                return await self._event_stream(request, found, caller, user, request_id)
            session = self._sessions.get(route)
            if session is not None:
                return await self._session_call(request, found, caller, session, request_id)
            return await self._transcode(request, found, caller, request_id)
        except DomainError as error:
            return _with_status_log(problem_from_domain_error(error, request_id), route)
        except grpc.RpcError as error:
            return _with_status_log(problem_from_rpc_error(error, request_id), route)

    async def _transcode(
        self, request: Request, found: Match, caller: Caller, request_id: str
    ) -> Response:
        route = found.route
        query = parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        cache = self._cache_for(route, caller)
        key = ""
        generation = 0
        if cache is not None:
            key = _cache_key(route, request, query)
            entry = cache.get(key)
            if entry is not None:
                return _cached_response(request, route, entry)
            generation = cache.generation
        body = await self._body(request, request_id) if route.has_body else None
        if isinstance(body, Response):
            return body
        message = route.build_request(found.variables, query, body)
        wait = await self._account_wait(route, message)
        if wait is not None:
            return EdgeProblem.RATE_LIMITED.response(request_id, retry_after_s=wait)
        answer = await self._call(route, message, caller, request_id)
        payload = route.encode_response(answer)
        if route.cache_ttl_s <= 0:
            return Response(payload, media_type="application/json")
        if cache is None:
            return _cached_response(request, route, _uncached(payload))
        entry = cache.put(
            key,
            payload,
            ttl_s=route.cache_ttl_s,
            prefixes=list(route.policy.invalidated_by),
            generation=generation,
        )
        return _cached_response(request, route, entry)

    async def _event_stream(
        self, request: Request, found: Match, caller: Caller, user: str, request_id: str
    ) -> Response:
        """A server-streaming method as Server-Sent Events (see `event_stream`)."""
        route = found.route
        refusal = self.event_streams.refusal(route, request.scope, caller, request_id)
        if refusal is not None:
            return refusal.response()
        query = parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        message = route.build_request(found.variables, query, None)
        if caller.token and not user:
            user = await user_of_token(caller.token, self.verifier)
        return await self.event_streams.open(route, message, caller, user, request_id)

    async def _http_body(
        self, request: Request, found: Match, caller: Caller, user: str, request_id: str
    ) -> Response:
        """A method answering `google.api.HttpBody`: its bytes (see `http_body`)."""
        route = found.route
        query = parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        if route.server_streaming:
            refusal = self.event_streams.refusal(route, request.scope, caller, request_id)
            if refusal is not None:
                return refusal.response()
            message = route.build_request(found.variables, query, None)
            if caller.token and not user:
                user = await user_of_token(caller.token, self.verifier)
            return await self.http_bodies.stream(route, message, caller, user, request_id)
        body = await self._body(request, request_id) if route.has_body else None
        if isinstance(body, Response):
            return body
        message = route.build_request(found.variables, query, body)
        wait = await self._account_wait(route, message)
        if wait is not None:
            return EdgeProblem.RATE_LIMITED.response(request_id, retry_after_s=wait)
        if_none_match = request.headers.get("if-none-match")
        return await self.http_bodies.unary(route, message, caller, request_id, if_none_match)

    async def _session_call(
        self, request: Request, found: Match, caller: Caller, rule: SessionRule, request_id: str
    ) -> Response:
        """An auth method of the browser-session table (see `browser_session`)."""
        route = found.route
        query = parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        body = await self._body(request, request_id) if route.has_body else None
        if isinstance(body, Response):
            return body
        use_cookies = False
        if rule.opt_in and body is not None:
            body, use_cookies = take_use_cookies(body)
        message: Any = route.build_request(found.variables, query, body)
        wait = await self._account_wait(route, message)
        if wait is not None:
            return EdgeProblem.RATE_LIMITED.response(request_id, retry_after_s=wait)
        from_cookie = False
        refresh_cookie = caller.cookies.get(REFRESH_COOKIE, "")
        if rule.refresh_from_cookie and not message.refresh_token and refresh_cookie:
            session_id, refresh_token = refresh_cookie_parts(refresh_cookie)
            if not self.csrf.matches(caller, session_id):
                return EdgeProblem.CSRF_FAILED.response(request_id)
            message.refresh_token = refresh_token
            use_cookies = from_cookie = True
        if rule.follows_cookie_session and caller.by_cookie:
            use_cookies = True
        try:
            answer = await self._call(route, message, caller, request_id)
        except grpc.RpcError as error:
            response = _with_status_log(problem_from_rpc_error(error, request_id), route)
            # The session is gone either way: leave the browser no stale cookies.
            if response.status_code == 401 and (rule.clears or from_cookie):
                response.raw_headers.extend(CLEARED_COOKIES)
            return response
        tokens = tokens_of(answer, rule) if rule.issues and use_cookies else None
        if tokens is None:
            response = Response(route.encode_response(answer), media_type="application/json")
            if rule.clears:
                response.raw_headers.extend(CLEARED_COOKIES)
            return response
        document = without_tokens(route.encoder.to_dict(answer), rule)
        response = Response(orjson.dumps(document), media_type="application/json")
        response.raw_headers.extend(session_cookies(tokens, self.csrf))
        return response

    async def _account_wait(self, route: Route, message: Message) -> int | None:
        """The method's own limit per account (the request's `email`), when it has both."""
        if self.limiter is None or route not in self._account_limited:
            return None
        account = normalized_account(getattr(message, ACCOUNT_FIELD))
        if not account:
            return None
        limits = self._method_limits[route]
        return await self.limiter.method_wait(limits, route.method.full_name, "account", account)

    def _cache_for(self, route: Route, caller: Caller) -> ResponseCache | None:
        cache = self.gateway.cache
        if cache is None or route.cache_ttl_s <= 0 or not cache.active:
            return None
        # Answers of non-public methods may depend on who asks: never shared between callers.
        if not route.policy.public and caller.authorization:
            return None
        return cache

    async def _body(self, request: Request, request_id: str) -> bytes | Response:
        content_type = request.headers.get("content-type")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return EdgeProblem.BODY_TOO_LARGE.response(request_id, limit=self.max_body)
        if content_type is not None and not _is_json(content_type):
            return EdgeProblem.UNSUPPORTED_MEDIA_TYPE.response(
                request_id, content_type=content_type
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                return EdgeProblem.BODY_TOO_LARGE.response(request_id, limit=self.max_body)
            chunks.append(chunk)
        body = b"".join(chunks)
        if body.strip() and content_type is None:
            return EdgeProblem.UNSUPPORTED_MEDIA_TYPE.response(request_id, content_type="(none)")
        return body

    async def _call(
        self, route: Route, message: Message, caller: Caller, request_id: str
    ) -> Message:
        rpc = self._callable(route, self.channel_for(route.backend))
        proof = self.gateway_proof() if self.gateway_proof is not None else None
        metadata = backend_metadata(caller, request_id, proof)
        answer: Message = await rpc(message, timeout=self.timeout_s, metadata=metadata)
        return answer

    def _callable(self, route: Route, channel: grpc.aio.Channel) -> Any:
        # One multicallable per route, rebuilt when channel_for hands out another channel.
        cached = self._callables.get(route)
        if cached is not None and cached[0] is channel:
            return cached[1]
        rpc = channel.unary_unary(
            route.rpc_path,
            request_serializer=_serialize,
            response_deserializer=route.response_class.FromString,
        )
        self._callables[route] = (channel, rpc)
        return rpc


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _cache_key(route: Route, request: Request, query: Sequence[tuple[str, str]]) -> str:
    normalized = urlencode(sorted(query))
    return (
        f"{route.operation_id} {request.scope.get('raw_path', b'').decode('latin-1')}?{normalized}"
    )


def _uncached(payload: bytes) -> CachedResponse:
    return CachedResponse(body=payload, etag=etag_of(payload), expires_at=0.0, prefixes=())


def _cached_response(request: Request, route: Route, entry: CachedResponse) -> Response:
    visibility = "public" if route.policy.public else "private"
    # Clients revalidate every time (cheap with the ETag): a change must show within a second.
    headers = {"ETag": entry.etag, "Cache-Control": f"{visibility}, no-cache"}
    if etag_matches(request.headers.get("if-none-match"), entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type="application/json", headers=headers)


# The most characters of the request line an error repeats: input is unbounded, answers not.
MAX_ECHOED_CHARS = 200


def _shown(text: str) -> str:
    return text if len(text) <= MAX_ECHOED_CHARS else text[:MAX_ECHOED_CHARS] + "…"


def _with_status_log(found: Problem, route: Route) -> Response:
    if found.status >= 500:
        log.warning(
            "backend_error",
            rpc=route.rpc_path,
            status=found.status,
            code=found.code,
            reason=found.reason,
        )
    return found.response()


class EdgeHeaders:
    """Request id, security headers and a problem+json 500 around the whole application.

    Paths the gateway serves itself (probes, `/api/…`) go on to the Starlette app, API paths
    (`/v1/…`) to the transcoder and every other path to the web pages (when they are on).
    """

    def __init__(self, app: ASGIApp, transcoder: ASGIApp, web: ASGIApp | None = None) -> None:
        self.app = app
        self.transcoder = transcoder
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        target = self._target(path)
        request_id = _request_id(scope)
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        bind_request_id(request_id)
        started = False

        request_id_header = request_id.encode("latin-1")

        async def send_with_headers(message: AsgiMessage) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = with_security_headers(
                    list(message.get("headers", [])), request_id_header
                )
            await send(message)

        try:
            await target(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled_error", path=scope.get("path"))
            if started:
                raise
            await EdgeProblem.INTERNAL.response(request_id)(scope, receive, send_with_headers)

    def _target(self, path: str) -> ASGIApp:
        if path in OWN_PATHS or path.startswith(OWN_PREFIX):
            return self.app
        if self.web is not None and not path.startswith(API_PREFIXES):
            return self.web
        return self.transcoder

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A bridged stream (Starlette's WebSocket routes): the request id, the security
        headers on a refusal before the upgrade (and on the upgrade, where the server sends
        the headers of `websocket.accept`; granian does not), and for an unexpected error a
        500 problem before the upgrade or an error frame and close 1011 after it."""
        request_id = _request_id(scope)
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        bind_request_id(request_id)
        request_id_header = request_id.encode("latin-1")
        state = {"accepted": False, "ended": False}

        async def send_with_headers(message: AsgiMessage) -> None:
            kind = message["type"]
            if kind in ("websocket.accept", "websocket.http.response.start"):
                message["headers"] = with_security_headers(
                    list(message.get("headers", [])), request_id_header
                )
            state["accepted"] |= kind == "websocket.accept"
            state["ended"] |= kind in ("websocket.close", "websocket.http.response.start")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled_error", path=scope.get("path"))
            if state["ended"]:
                raise
            problem = EdgeProblem.INTERNAL.problem(request_id)
            if not state["accepted"]:
                await deny(WebSocket(scope, receive, send_with_headers), problem)
                return
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "websocket.send", "text": error_frame(problem)})
                await send({"type": "websocket.close", "code": CLOSE_INTERNAL_ERROR})


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            candidate = str(value.decode("latin-1"))
            if _VALID_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return _new_request_id()


def _new_request_id() -> str:
    # 32 hex digits like a uuid4, without uuid.UUID's construction cost on every request.
    return os.urandom(16).hex()
