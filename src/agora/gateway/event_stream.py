"""Server-streaming gRPC methods served to browsers as Server-Sent Events, from descriptors.

Every server-streaming method with a `google.api.http` GET binding is a route of the REST table
(`transcoding.routes_of`): path variables and query parameters fill its request like a REST
GET's, and it is admitted like one (per-IP and per-user limits, the method's own `rate_limit`,
a bearer token or the `__Host-agora_access` cookie, no CSRF token for a GET). On top of that, a
non-public method without credentials is refused at the edge (401), a cookie-authenticated
stream must come from an allowed page (`Origin` one of `ws_allowed_origins`, else the gateway's
own host; without `Origin`, `Sec-Fetch-Site` must not say another site), and open streams are
counted per client IP and per user in each worker (`sse_max_streams_per_client`).

The gateway waits up to `sse_open_wait_s` for the first message: a failure before it (the
backend refusing the token, the permission or the request) is the REST problem with its HTTP
status. Then it answers `200 text/event-stream`: a `retry:` hint, each message one event (`id:`
its number on this connection, `data:` the message in proto JSON, lowerCamelCase), a comment
line after `sse_heartbeat_s` of silence, and for a gRPC error one `event: error` whose data is
the REST problem body, after which the stream ends. The client going away cancels the gRPC call;
so does `sse_max_duration_s` passing (the browser then reconnects with current credentials).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import grpc
import orjson
import structlog
from google.protobuf.message import Message
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from agora.gateway.caller import Caller, backend_metadata
from agora.gateway.problem import EdgeProblem, Problem, problem_from_rpc_error
from agora.gateway.settings import GatewaySettings
from agora.gateway.transcoding import Route
from agora.gateway.websocket_bridge import StreamSlots, origin_allowed

log = structlog.get_logger("agora.gateway")

EVENT_STREAM_TYPE = "text/event-stream"
ERROR_EVENT = "error"
HEARTBEAT = b": heartbeat\n\n"
# Never stored by a cache, never held back by a buffering reverse proxy (nginx reads the latter).
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
# `Sec-Fetch-Site` values of a request a page of this origin made, or no page at all.
_OWN_SITES = frozenset({"", "same-origin", "none"})
_SEND_FAILURES = (OSError, RuntimeError)

ChannelFor = Callable[[str], grpc.aio.Channel]


def retry_hint(milliseconds: int) -> bytes:
    """The field that sets how long a browser waits before it reconnects."""
    return f"retry: {milliseconds}\n\n".encode()


def event(data: bytes, event_id: int, kind: str = "") -> bytes:
    """One event: its id, its type (none: the default `message`) and `data`, one `data:` line
    per line of it (a line break inside a `data:` line would end the field)."""
    lines = [b"id: %d" % event_id]
    if kind:
        lines.append(b"event: " + kind.encode())
    lines.extend(b"data: " + line for line in data.splitlines() or [b""])
    return b"\n".join(lines) + b"\n\n"


def error_event(problem: Problem, event_id: int) -> bytes:
    """The `error` event: the REST problem body as its data."""
    return event(orjson.dumps(problem.body()), event_id, ERROR_EVENT)


def cookie_stream_allowed(headers: Iterable[tuple[bytes, bytes]], allowed: Sequence[str]) -> bool:
    """Whether a page may open a stream with the session cookie: by its `Origin` (browsers send
    one on cross-origin requests), else by `Sec-Fetch-Site` (absent: no browser said otherwise).

    SameSite=Lax keeps the cookie off other sites' subresource requests already; this also
    keeps sibling subdomains from holding a user's streams open."""
    found = {key: value.decode("latin-1") for key, value in headers}
    origin = found.get(b"origin", "")
    if origin:
        return origin_allowed(origin, found.get(b"host", ""), allowed)
    return found.get(b"sec-fetch-site", "").strip().lower() in _OWN_SITES


class EventStreams:
    """Admits and opens the event streams of server-streaming routes."""

    def __init__(
        self,
        settings: GatewaySettings,
        channel_for: ChannelFor,
        gateway_proof: Callable[[], str] | None = None,
    ) -> None:
        self.settings = settings
        self.channel_for = channel_for
        self.gateway_proof = gateway_proof
        self.slots = StreamSlots(settings.sse_max_streams_per_client)

    def refusal(
        self, route: Route, scope: Scope, caller: Caller, request_id: str
    ) -> Problem | None:
        """Why the edge refuses the stream on top of REST's checks, or None."""
        if not route.policy.public and not caller.authorization:
            return EdgeProblem.TOKEN_MISSING.problem(request_id)
        if caller.by_cookie and not cookie_stream_allowed(
            scope["headers"], self.settings.ws_allowed_origins
        ):
            return EdgeProblem.ORIGIN_REFUSED.problem(request_id)
        return None

    async def open(
        self, route: Route, request: Message, caller: Caller, user: str, request_id: str
    ) -> Response:
        """The event stream of `request`, or the problem that refused it before its first event."""
        keys = [f"ip:{caller.client_ip}"] + ([f"user:{user}"] if user else [])
        if not self.slots.acquire(keys):
            limit = self.slots.limit
            return EdgeProblem.TOO_MANY_STREAMS.response(request_id, limit=limit)
        call: Any = None
        first: asyncio.Future[Any] | None = None
        try:
            proof = self.gateway_proof() if self.gateway_proof is not None else None
            call = self.channel_for(route.backend).unary_stream(
                route.rpc_path,
                request_serializer=_serialize,
                response_deserializer=route.response_class.FromString,
            )(request, metadata=backend_metadata(caller, request_id, proof))
            first = asyncio.ensure_future(call.read())
            await asyncio.wait({first}, timeout=self.settings.sse_open_wait_s)
            failure = first.exception() if first.done() else None
            if isinstance(failure, grpc.RpcError):
                refused = problem_from_rpc_error(failure, request_id)
                _log_failure(route, refused)
                self.slots.release(keys)
                return refused.response()
        except BaseException:
            if call is not None:
                call.cancel()
            if first is not None:
                first.cancel()
            self.slots.release(keys)
            raise
        stream = _Stream(route, call, first, self.settings, request_id)
        return EventStreamResponse(stream, release=lambda: self.slots.release(keys))


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _log_failure(route: Route, problem: Problem) -> None:
    if problem.status >= 500:
        log.warning(
            "backend_error",
            rpc=route.rpc_path,
            status=problem.status,
            code=problem.code,
            reason=problem.reason,
        )


class EventStreamResponse(Response):
    """`200 text/event-stream` over one gRPC call, until either side ends it."""

    media_type = EVENT_STREAM_TYPE

    def __init__(self, stream: _Stream, release: Callable[[], None]) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers(STREAM_HEADERS)
        self._stream = stream
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = asyncio.create_task(self._stream.pump(send, self.raw_headers))
        watch = asyncio.create_task(_client_gone(receive))
        try:
            await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watch):
                task.cancel()
            self._stream.cancel()
            await asyncio.gather(pump, watch, return_exceptions=True)
            self._release()
        if pump.done() and not pump.cancelled() and pump.result():
            with contextlib.suppress(*_SEND_FAILURES):
                await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _client_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _Stream:
    """One gRPC call's answers as events."""

    def __init__(
        self,
        route: Route,
        call: Any,
        first: asyncio.Future[Any],
        settings: GatewaySettings,
        request_id: str,
    ) -> None:
        self.route = route
        self.call = call
        self.reading = first
        self.request_id = request_id
        self.heartbeat_s = settings.sse_heartbeat_s
        self.retry_ms = settings.sse_retry_ms
        self.ends_at = time.monotonic() + settings.sse_max_duration_s
        self.sent = 0

    def cancel(self) -> None:
        self.call.cancel()
        self.reading.cancel()
        if self.reading.done() and not self.reading.cancelled():
            self.reading.exception()  # retrieved: a read failing as it is cancelled is expected

    async def pump(self, send: Send, headers: list[tuple[bytes, bytes]]) -> bool:
        """Send the answers as events until the call or the time ends; False when the client
        went away (nothing more can be sent)."""
        try:
            await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        except _SEND_FAILURES:
            return False
        if not await self._send(send, retry_hint(self.retry_ms)):
            return False
        while (remaining := self.ends_at - time.monotonic()) > 0:
            await asyncio.wait({self.reading}, timeout=min(self.heartbeat_s, remaining))
            if not self.reading.done():
                if not await self._send(send, HEARTBEAT):
                    return False
                continue
            chunk, more = self._next_chunk()
            if chunk and not await self._send(send, chunk):
                return False
            if not more:
                break
        return True

    def _next_chunk(self) -> tuple[bytes, bool]:
        """The event of the read that finished, and whether more may follow."""
        try:
            answer = self.reading.result()
        except grpc.RpcError as error:
            problem = problem_from_rpc_error(error, self.request_id)
            _log_failure(self.route, problem)
            self.sent += 1
            return error_event(problem, self.sent), False
        if answer is grpc.aio.EOF:
            return b"", False
        self.sent += 1
        self.reading = asyncio.ensure_future(self.call.read())
        return event(self.route.encode_response(answer), self.sent), True

    async def _send(self, send: Send, chunk: bytes) -> bool:
        try:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except _SEND_FAILURES:
            return False
        return True
