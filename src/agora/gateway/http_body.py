"""Methods answering `google.api.HttpBody`: bytes of a media type of their own (an image, a CSV
or PDF report) instead of proto JSON.

A unary one is answered `200` with the message's `content_type` as Content-Type and its `data`
as the body; for a GET whose backend sets an `etag` equal to the request's `If-None-Match`, the
gateway answers `304` itself. A server-streaming one is one streamed download (chunked): the
gateway waits up to `download_open_wait_s` for the first message, whose `content_type` is the
response's, then appends every message's `data` as it arrives. A gRPC error before the first
message is the REST problem with its HTTP status; after it the response is cut off (the
connection closes without the terminating chunk, so no client takes a truncated file for a whole
one). A streamed download is admitted like an event stream (`event_stream`: no credentials on a
non-public method is 401 at the edge, a cookie session needs a page of an allowed origin) and
counts against the same per-client and per-user limit of open streams; the client going away
cancels the call.

The backend may set, as gRPC initial metadata, the response headers of `ALLOWED_HEADERS`; the
gateway copies those alone, each checked (printable ASCII, bounded, an entity tag for `etag`, an
HTTP date for `last-modified`) and otherwise dropped. Without a Cache-Control of the backend's
the answer is `no-store`. An HttpBody answer is never kept in the gateway's response cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Any

import grpc
import structlog
from google.protobuf.message import Message
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from agora.gateway.cache import etag_matches
from agora.gateway.caller import Caller, backend_metadata
from agora.gateway.problem import EdgeProblem, Problem, problem_from_rpc_error
from agora.gateway.settings import GatewaySettings
from agora.gateway.transcoding import Route
from agora.gateway.websocket_bridge import StreamSlots

log = structlog.get_logger("agora.gateway")

ChannelFor = Callable[[str], grpc.aio.Channel]

DEFAULT_MEDIA_TYPE = "application/octet-stream"
# Response headers a backend may set through initial metadata (lowercase, as gRPC keys are).
ALLOWED_HEADERS = (
    "content-disposition",
    "cache-control",
    "etag",
    "last-modified",
    "x-agora-report-status",
)
# Headers a 304 repeats (RFC 9110, 15.4.5): the others describe a body it does not have.
NOT_MODIFIED_HEADERS = frozenset({b"cache-control", b"etag", b"last-modified"})
MAX_HEADER_CHARS = 1024
MAX_MEDIA_TYPE_CHARS = 255
_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_MEDIA_TYPE = re.compile(
    rf"{_TOKEN}/{_TOKEN}(?:\s*;\s*{_TOKEN}=(?:{_TOKEN}|\"[^\"\\\x00-\x1f\x7f]*\"))*"
)
_ENTITY_TAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e]*"')
_BARE_TAG = re.compile(r"[\x21\x23-\x7e]+")
_SEND_FAILURES = (OSError, RuntimeError)


def media_type_of(content_type: str) -> str:
    """The Content-Type of an HttpBody: its `content_type` when that is a well-formed media
    type, else application/octet-stream (a browser then renders nothing of it)."""
    text = content_type.strip()
    if len(text) <= MAX_MEDIA_TYPE_CHARS and _MEDIA_TYPE.fullmatch(text):
        return text
    if text:
        log.warning("backend_content_type_dropped", length=len(text))
    return DEFAULT_MEDIA_TYPE


def backend_headers(metadata: Iterable[tuple[str, Any]] | None) -> list[tuple[bytes, bytes]]:
    """The response headers the backend set as initial metadata: those of ALLOWED_HEADERS that
    pass their check, each once (the first wins)."""
    found: dict[str, str] = {}
    for key, value in metadata or ():
        if key not in ALLOWED_HEADERS or key in found or not isinstance(value, str):
            continue
        checked = _checked(key, value)
        if checked is None:
            log.warning("backend_header_dropped", header=key)
            continue
        found[key] = checked
    return [(key.encode(), value.encode("latin-1")) for key, value in found.items()]


def _checked(key: str, value: str) -> str | None:
    value = value.strip()
    if not value or len(value) > MAX_HEADER_CHARS or not (value.isascii() and value.isprintable()):
        return None
    if key == "etag":
        if _ENTITY_TAG.fullmatch(value):
            return value
        # A bare opaque tag (a content hash) is quoted into an entity tag.
        return f'"{value}"' if _BARE_TAG.fullmatch(value) else None
    if key == "last-modified":
        try:
            parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return value


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    return next((value.decode("latin-1") for key, value in headers if key == name), "")


class HttpBodies:
    """Calls methods answering HttpBody and answers with their bytes."""

    def __init__(
        self,
        settings: GatewaySettings,
        channel_for: ChannelFor,
        slots: StreamSlots,
        gateway_proof: Callable[[], str] | None = None,
    ) -> None:
        self.channel_for = channel_for
        self.timeout_s = settings.backend_timeout_s
        self.open_wait_s = settings.download_open_wait_s
        # Shared with the event streams: one limit on a client's long-lived answers.
        self.slots = slots
        self.gateway_proof = gateway_proof

    def _metadata(self, caller: Caller, request_id: str) -> tuple[tuple[str, str], ...]:
        proof = self.gateway_proof() if self.gateway_proof is not None else None
        return backend_metadata(caller, request_id, proof)

    async def unary(
        self,
        route: Route,
        request: Message,
        caller: Caller,
        request_id: str,
        if_none_match: str | None,
    ) -> Response:
        """The answer of a unary method as its bytes, or 304 when the client has them."""
        call = self.channel_for(route.backend).unary_unary(
            route.rpc_path,
            request_serializer=_serialize,
            response_deserializer=route.response_class.FromString,
        )(request, timeout=self.timeout_s, metadata=self._metadata(caller, request_id))
        answer: Any = await call
        headers = backend_headers(await call.initial_metadata())
        etag = _header(headers, b"etag")
        if route.rule.http_method == "GET" and etag and etag_matches(if_none_match, etag):
            kept = [(k, v) for k, v in headers if k in NOT_MODIFIED_HEADERS]
            response = Response(status_code=304)
            response.raw_headers.extend(kept)
            return response
        response = Response(answer.data)
        response.raw_headers.append((b"content-type", media_type_of(answer.content_type).encode()))
        response.raw_headers.extend(headers)
        return response

    async def stream(
        self, route: Route, request: Message, caller: Caller, user: str, request_id: str
    ) -> Response:
        """The streamed download of a server stream, or the problem that came before its first
        message."""
        keys = [f"ip:{caller.client_ip}"] + ([f"user:{user}"] if user else [])
        if not self.slots.acquire(keys):
            return EdgeProblem.TOO_MANY_STREAMS.response(request_id, limit=self.slots.limit)
        call: Any = None
        try:
            call = self.channel_for(route.backend).unary_stream(
                route.rpc_path,
                request_serializer=_serialize,
                response_deserializer=route.response_class.FromString,
            )(request, metadata=self._metadata(caller, request_id))
            try:
                first = await asyncio.wait_for(call.read(), self.open_wait_s)
            except TimeoutError:
                call.cancel()
                self.slots.release(keys)
                return EdgeProblem.DOWNLOAD_NOT_STARTED.response(
                    request_id, wait_s=f"{self.open_wait_s:g}"
                )
            except grpc.RpcError as error:
                self.slots.release(keys)
                refused = problem_from_rpc_error(error, request_id)
                _log_failure(route, refused)
                return refused.response()
            headers = backend_headers(await call.initial_metadata())
        except BaseException:
            if call is not None:
                call.cancel()
            self.slots.release(keys)
            raise
        return DownloadResponse(route, call, first, headers, lambda: self.slots.release(keys))


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


class DownloadResponse(Response):
    """`200` of the first message's type, the messages' bytes as they arrive (chunked)."""

    def __init__(
        self,
        route: Route,
        call: Any,
        first: Any,
        headers: list[tuple[bytes, bytes]],
        release: Callable[[], None],
    ) -> None:
        self.status_code = 200
        self.background = None
        self._route = route
        self._call = call
        self._first = first
        self._release = release
        content_type = DEFAULT_MEDIA_TYPE
        if first is not grpc.aio.EOF:
            content_type = media_type_of(first.content_type)
        self.raw_headers = [(b"content-type", content_type.encode()), *headers]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = asyncio.create_task(self._pump(send))
        watch = asyncio.create_task(_client_gone(receive))
        try:
            await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watch):
                task.cancel()
            self._call.cancel()
            await asyncio.gather(pump, watch, return_exceptions=True)
            self._release()
        if pump.done() and not pump.cancelled() and pump.result():
            with contextlib.suppress(*_SEND_FAILURES):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _pump(self, send: Send) -> bool:
        """Send the answers' bytes until the stream ends (True), fails or the client is gone
        (False: the response is left unfinished)."""
        try:
            await send(
                {"type": "http.response.start", "status": 200, "headers": list(self.raw_headers)}
            )
        except _SEND_FAILURES:
            return False
        answer = self._first
        while answer is not grpc.aio.EOF:
            if answer.data and not await _send_chunk(send, answer.data):
                return False
            try:
                answer = await self._call.read()
            except grpc.RpcError as error:
                _log_failure(self._route, problem_from_rpc_error(error))
                log.info("download_cut_off", rpc=self._route.rpc_path)
                return False
        return True


async def _send_chunk(send: Send, data: bytes) -> bool:
    try:
        await send({"type": "http.response.body", "body": data, "more_body": True})
    except _SEND_FAILURES:
        return False
    return True


async def _client_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
