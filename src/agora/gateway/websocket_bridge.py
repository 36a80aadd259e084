"""Bidirectional gRPC streams bridged to browsers over WebSocket, derived from descriptors.

Every bidirectional method with a `google.api.http` GET binding is a WebSocket at its path
(`transcoding.stream_routes_of`). Framing: each client text frame is one request message in
proto JSON, each server text frame one answer message in proto JSON (lowerCamelCase, like
REST), and an error is a frame `{"error": <problem>}` with the REST problem body. A frame that
fails the fields' rules (or arrives over the per-stream message budget) gets an error frame and
the stream lives on. The stream ends with close 1000 when the backend ends it, after an error
frame with 1008 for a client-side status (4xx: permission, not found, …) or 1011 for a server
side one (5xx: internal, unavailable), 1009 after a frame over `ws_max_frame_bytes`, 1001 when
idle both ways for `ws_idle_timeout_s`. Closing the WebSocket cancels the gRPC call. There is no
half-close: a client that is done closes.

Admission happens before the upgrade, answered as a REST problem (401, 403, 429) when refused:
the REST path's per-IP and per-user limits and the method's own `rate_limit`, then the
credentials — a bearer token (`Authorization`, for non-browser clients) or the
`__Host-agora_access` cookie, forwarded like REST's. Browsers cannot set headers on a
WebSocket and send cookies with any page's WebSocket (cross-site WebSocket hijacking), so a
cookie-authenticated stream needs an allowed `Origin` (`ws_allowed_origins`, else the gateway's
own host) and the session's CSRF token as the subprotocol `agora.csrf.<token>`, offered next to
`agora.v1` (the one the gateway selects): a header, so it stays out of URLs and access logs.
A non-public method without any credential is refused at the edge; a bad token is the
backend's to refuse (an error frame, close 1008). Open streams are counted per client IP and per
user in each worker (`ws_max_streams_per_client`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import grpc
import orjson
import structlog
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from agora.gateway.browser_session import CsrfTokens, session_of_access_token
from agora.gateway.caller import (
    REQUEST_ID_SCOPE_KEY,
    Caller,
    CallerReader,
    backend_metadata,
    is_metadata_safe,
    user_of_token,
)
from agora.gateway.problem import (
    EdgeProblem,
    Problem,
    problem_from_domain_error,
    problem_from_rpc_error,
)
from agora.gateway.ratelimit import Limits, RateLimiter
from agora.gateway.settings import GatewaySettings
from agora.gateway.transcoding import ERROR_FRAME_MEMBER, Route
from agora.platform.errors import DomainError, InvalidArgument
from agora.platform.security.tokens import SERVICE_TOKEN_TYPE, TokenVerifier, token_type

log = structlog.get_logger("agora.gateway")

SUBPROTOCOL = "agora.v1"
CSRF_SUBPROTOCOL_PREFIX = "agora.csrf."
DENIAL_EXTENSION = "websocket.http.response"
# RFC 6455 close codes.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
IDLE_REASON = "idle timeout"

ChannelFor = Callable[[str], grpc.aio.Channel]


def close_code(problem: Problem) -> int:
    """The close code after an error frame: the client's doing (4xx) or the server's (5xx)."""
    return CLOSE_INTERNAL_ERROR if problem.status >= 500 else CLOSE_POLICY_VIOLATION


def error_frame(problem: Problem) -> str:
    """The text of an error frame: `{"error": <the REST problem body>}`."""
    return orjson.dumps({ERROR_FRAME_MEMBER: problem.body()}).decode()


class MessageBudget:
    """A token bucket of one stream's frames: `per_minute` at once, refilled evenly."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._tokens = self._capacity
        self._at = clock()

    def take(self) -> float:
        """0 when a frame may pass (and counts it), else the seconds until one may."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate


class StreamSlots:
    """Open streams per key (a client IP, a user) in this worker, at most `limit` each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, keys: Sequence[str]) -> bool:
        """Take a slot under every key, or none when one of them is full."""
        if any(self._open.get(key, 0) >= self.limit for key in keys):
            return False
        for key in keys:
            self._open[key] = self._open.get(key, 0) + 1
        return True

    def release(self, keys: Sequence[str]) -> None:
        for key in keys:
            left = self._open.get(key, 0) - 1
            if left > 0:
                self._open[key] = left
            else:
                self._open.pop(key, None)


def origin_allowed(origin: str, host: str, allowed: Sequence[str]) -> bool:
    """Whether a page of `origin` may open a cookie-authenticated stream: one of `allowed`, or
    when that list is empty, a page of the host the request was sent to (`Host`)."""
    origin = origin.strip().rstrip("/").lower()
    if not origin or origin == "null":
        return False
    if allowed:
        return origin in allowed
    scheme, separator, origin_host = origin.partition("://")
    return scheme in ("http", "https") and bool(separator) and origin_host == host.lower()


def offered_subprotocols(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """The subprotocols a WebSocket handshake offers (`Sec-WebSocket-Protocol`, in order)."""
    offered: list[str] = []
    for key, value in headers:
        if key == b"sec-websocket-protocol":
            offered.extend(p.strip() for p in value.decode("latin-1").split(",") if p.strip())
    return offered


def csrf_of_subprotocols(offered: Iterable[str]) -> str:
    """The CSRF token a handshake offers as `agora.csrf.<token>` ("" when none)."""
    for protocol in offered:
        if protocol.startswith(CSRF_SUBPROTOCOL_PREFIX):
            return protocol.removeprefix(CSRF_SUBPROTOCOL_PREFIX)
    return ""


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return ""


@dataclass(frozen=True)
class _Ending:
    """How a bridged stream ends: the close code, its reason, and a last error frame."""

    code: int
    reason: str = ""
    frame: str | None = None


# A pump's outcome when the client is gone (nothing more to send) or when the backend took no
# more requests (its own status follows from the other pump).
_CLIENT_GONE = _Ending(0)
_WRITES_CLOSED = _Ending(-1)
_SEND_FAILURES = (WebSocketDisconnect, OSError, RuntimeError)


class WebSocketBridge:
    """Admits WebSocket connections of the bridged routes and pumps frames to and from gRPC."""

    def __init__(
        self,
        settings: GatewaySettings,
        channel_for: ChannelFor,
        *,
        limiter: RateLimiter | None,
        method_limits: Mapping[Route, Limits],
        verifier: TokenVerifier | None,
        csrf: CsrfTokens,
        gateway_proof: Callable[[], str] | None = None,
    ) -> None:
        self.settings = settings
        self.channel_for = channel_for
        self.limiter = limiter
        self.method_limits = method_limits
        self.verifier = verifier
        self.csrf = csrf
        self.gateway_proof = gateway_proof
        self.callers = CallerReader(settings.trusted_proxies)
        self.slots = StreamSlots(settings.ws_max_streams_per_client)

    def routes(self, stream_routes: Iterable[Route]) -> list[WebSocketRoute]:
        """One Starlette WebSocket route per bridged binding (literal paths only)."""

        def endpoint(route: Route) -> Callable[[WebSocket], Any]:
            async def serve(websocket: WebSocket) -> None:
                await self.serve(route, websocket)

            return serve

        return [
            WebSocketRoute(route.rule.template.source, endpoint(route), name=route.operation_id)
            for route in stream_routes
        ]

    async def serve(self, route: Route, websocket: WebSocket) -> None:
        """Admit the connection (or refuse it before the upgrade) and bridge it."""
        request_id: str = websocket.scope.get(REQUEST_ID_SCOPE_KEY, "")
        caller = self.callers.read(websocket.scope)
        user = await user_of_token(caller.token, self.verifier) if caller.token else ""
        refusal = await self._admission(route, websocket, caller, user, request_id)
        if refusal is not None:
            await deny(websocket, refusal)
            return
        keys = [f"ip:{caller.client_ip}"] + ([f"user:{user}"] if user else [])
        if not self.slots.acquire(keys):
            limit = self.slots.limit
            await deny(websocket, EdgeProblem.TOO_MANY_STREAMS.problem(request_id, limit=limit))
            return
        try:
            await self._bridge(route, websocket, caller, request_id)
        finally:
            self.slots.release(keys)

    async def _admission(
        self, route: Route, websocket: WebSocket, caller: Caller, user: str, request_id: str
    ) -> Problem | None:
        """Why the connection is refused, or None: the REST checks, then the cookie's."""
        if self.limiter is not None:
            wait = await self.limiter.ip_wait(caller.client_ip)
            if wait is None and user:
                wait = await self.limiter.user_wait(user)
            if wait is not None:
                return EdgeProblem.RATE_LIMITED.problem(request_id, retry_after_s=wait)
        if caller.authorization and not is_metadata_safe(caller.authorization):
            return EdgeProblem.MALFORMED_CREDENTIALS.problem(request_id)
        if caller.token and token_type(caller.token) == SERVICE_TOKEN_TYPE:
            return EdgeProblem.SERVICE_TOKEN_REFUSED.problem(request_id)
        if not route.policy.public and not caller.authorization:
            return EdgeProblem.TOKEN_MISSING.problem(request_id)
        if caller.by_cookie:
            refusal = self._cookie_refusal(websocket, caller, request_id)
            if refusal is not None:
                return refusal
        limits = self.method_limits.get(route)
        if limits is not None and self.limiter is not None:
            wait = await self.limiter.method_wait(
                limits, route.method.full_name, "ip", caller.client_ip
            )
            if wait is not None:
                return EdgeProblem.RATE_LIMITED.problem(request_id, retry_after_s=wait)
        return None

    def _cookie_refusal(
        self, websocket: WebSocket, caller: Caller, request_id: str
    ) -> Problem | None:
        headers = websocket.scope["headers"]
        origin = _header(headers, b"origin")
        if not origin_allowed(origin, _header(headers, b"host"), self.settings.ws_allowed_origins):
            return EdgeProblem.ORIGIN_REFUSED.problem(request_id)
        offered = replace(caller, csrf_header=csrf_of_subprotocols(offered_subprotocols(headers)))
        if not self.csrf.matches(offered, session_of_access_token(caller.token)):
            return EdgeProblem.STREAM_CSRF_FAILED.problem(request_id)
        return None

    async def _bridge(
        self, route: Route, websocket: WebSocket, caller: Caller, request_id: str
    ) -> None:
        offered = offered_subprotocols(websocket.scope["headers"])
        await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        proof = self.gateway_proof() if self.gateway_proof is not None else None
        stream = _Stream(websocket, route, self.settings, request_id)
        try:
            call = self.channel_for(route.backend).stream_stream(
                route.rpc_path,
                request_serializer=_serialize,
                response_deserializer=route.response_class.FromString,
            )(metadata=backend_metadata(caller, request_id, proof))
        except DomainError as error:  # no address for the backend (yet)
            await stream.finish(stream.ending_of(problem_from_domain_error(error, request_id)))
            return
        await stream.run(call)


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


async def deny(websocket: WebSocket, problem: Problem) -> None:
    """Refuse before the upgrade: the problem as the HTTP answer when the server can send one
    (granian can), else a bare close (the server answers 403)."""
    if DENIAL_EXTENSION in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(problem.response())
    else:
        await websocket.close(CLOSE_POLICY_VIOLATION)


class _Stream:
    """One accepted connection bridged to one gRPC call."""

    def __init__(
        self, websocket: WebSocket, route: Route, settings: GatewaySettings, request_id: str
    ) -> None:
        self.websocket = websocket
        self.route = route
        self.request_id = request_id
        self.max_frame = settings.ws_max_frame_bytes
        self.idle_s = settings.ws_idle_timeout_s
        self.budget = MessageBudget(settings.ws_messages_per_minute)
        self.last_activity = time.monotonic()
        self._send_lock = asyncio.Lock()

    async def run(self, call: Any) -> None:
        """Pump both ways until one side ends; the call is cancelled whatever ended it."""
        pumps = [
            asyncio.create_task(self._from_client(call)),
            asyncio.create_task(self._from_backend(call)),
            asyncio.create_task(self._watch_idle()),
        ]
        try:
            ending = await _first_ending(pumps)
        except Exception:  # a bug here must still close the connection, saying nothing
            log.exception("stream_failed", rpc=self.route.rpc_path)
            ending = self.ending_of(EdgeProblem.INTERNAL.problem(self.request_id))
        finally:
            for pump in pumps:
                pump.cancel()
            call.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        if ending is not _CLIENT_GONE:
            await self.finish(ending)

    async def finish(self, ending: _Ending) -> None:
        """The last error frame (if any), then the close."""
        with contextlib.suppress(*_SEND_FAILURES):
            if ending.frame is not None:
                await self.websocket.send_text(ending.frame)
            await self.websocket.close(ending.code, ending.reason or None)

    def ending_of(self, problem: Problem) -> _Ending:
        if problem.status >= 500:
            log.warning(
                "backend_error",
                rpc=self.route.rpc_path,
                status=problem.status,
                code=problem.code,
                reason=problem.reason,
            )
        return _Ending(close_code(problem), problem.reason, error_frame(problem))

    async def _from_client(self, call: Any) -> _Ending:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return _CLIENT_GONE
            self.last_activity = time.monotonic()
            text = message.get("text")
            frame = text.encode() if text is not None else message.get("bytes") or b""
            if len(frame) > self.max_frame:
                problem = EdgeProblem.FRAME_TOO_LARGE.problem(self.request_id, limit=self.max_frame)
                return _Ending(CLOSE_TOO_BIG, problem.reason, error_frame(problem))
            wait = self.budget.take()
            if wait:
                retry = max(1, math.ceil(wait))
                await self._send_problem(
                    EdgeProblem.RATE_LIMITED.problem(self.request_id, retry_after_s=retry)
                )
                continue
            try:
                if text is None:
                    raise InvalidArgument.for_field("frame", "expected a text frame (JSON)")
                request = self.route.request_from_frame(frame)
            except DomainError as error:
                await self._send_problem(problem_from_domain_error(error, self.request_id))
                continue
            try:
                await call.write(request)
            except (grpc.RpcError, asyncio.InvalidStateError):
                return _WRITES_CLOSED  # the call ended: its status comes from the reader

    async def _from_backend(self, call: Any) -> _Ending:
        while True:
            try:
                answer = await call.read()
            except grpc.RpcError as error:
                return self.ending_of(problem_from_rpc_error(error, self.request_id))
            if answer is grpc.aio.EOF:
                return _Ending(CLOSE_NORMAL)
            self.last_activity = time.monotonic()
            if not await self._send(self.route.encode_response(answer).decode()):
                return _CLIENT_GONE

    async def _watch_idle(self) -> _Ending:
        while True:
            remaining = self.last_activity + self.idle_s - time.monotonic()
            if remaining <= 0:
                return _Ending(CLOSE_GOING_AWAY, IDLE_REASON)
            await asyncio.sleep(remaining)

    async def _send_problem(self, problem: Problem) -> None:
        await self._send(error_frame(problem))

    async def _send(self, text: str) -> bool:
        """Send a frame; False when the client is gone."""
        async with self._send_lock:
            try:
                await self.websocket.send_text(text)
            except _SEND_FAILURES:
                return False
        return True


async def _first_ending(pumps: Sequence[asyncio.Task[_Ending]]) -> _Ending:
    """The first pump's ending that decides (a reader's status outranks a closed writer)."""
    pending: set[asyncio.Task[_Ending]] = set(pumps)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for pump in done:
            ending = pump.result()
            if ending is not _WRITES_CLOSED:
                return ending
    return _CLIENT_GONE
