"""What every gRPC call goes through: request id, access log, error mapping, deadline guard.

Server side, one `ServerInterceptor` wraps each method's behaviour once (`MethodWrapper` caches
it per method, for the authorization and validation interceptors too), so the per-call cost is
a few attribute lookups and one log line rather than a chain of interceptor objects. Client
side, `RequestIdChannel` forwards the request id bound in the caller's context on every call.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import uuid
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from time import perf_counter
from typing import Any, NoReturn, cast

import grpc
import structlog

from agora.platform.errors import DomainError, Unavailable
from agora.platform.logging import bind_request_id, current_request_id
from agora.platform.outages import is_outage
from agora.platform.rpc.status import (
    DETAILS_KEY,
    RpcFailure,
    domain_error_from_rpc_error,
    grpc_code,
    to_rpc_status,
)

REQUEST_ID_HEADER = "x-request-id"
AUTHORIZATION_HEADER = "authorization"
# Health probes and reflection are logged at DEBUG: they would drown the access log.
QUIET_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
DEFAULT_SERVER_DEADLINE_S = 30.0
INTERNAL_MESSAGE = "internal error"
UNAVAILABLE_MESSAGE = "a backing service is not reachable now; retry shortly"
# A caller's request id is trusted only when it looks like one (no log injection, bounded size).
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

log = structlog.get_logger("agora.rpc")

Behaviour = Callable[..., Any]
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


# Whether this call's initial metadata went out (it goes out once): see send_response_headers.
_initial_metadata_sent: ContextVar[bool] = ContextVar("agora_initial_metadata_sent", default=False)


async def send_response_headers(
    context: grpc.aio.ServicerContext[Any, Any], headers: Sequence[tuple[str, str]]
) -> bool:
    """Send `headers` as the call's initial metadata, with the request id the interceptor
    would have echoed there: the HTTP response headers the gateway copies onto an HttpBody
    answer (`agora.gateway.http_body`). False when the initial metadata had already gone out
    (a stream's, to a caller that sent no request id: the headers are left out)."""
    if _initial_metadata_sent.get():
        return False
    _initial_metadata_sent.set(True)
    request_id = current_request_id()
    echo = ((REQUEST_ID_HEADER, request_id),) if request_id else ()
    await context.send_initial_metadata((*headers, *echo))
    return True


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def request_id_given(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The caller's `x-request-id`, if it sent a sane one."""
    for key, value in context.invocation_metadata() or ():
        if (
            key == REQUEST_ID_HEADER
            and isinstance(value, str)
            and _VALID_REQUEST_ID.fullmatch(value)
        ):
            return value
    return None


UNARY_RESPONSE_KINDS = frozenset({"unary_unary", "stream_unary"})
UNARY_REQUEST_KINDS = frozenset({"unary_unary", "unary_stream"})
_KINDS = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")


def behaviour_of(handler: grpc.RpcMethodHandler) -> tuple[str, Behaviour]:
    """The handler's kind (`unary_unary`…, whichever it has) and its behaviour."""
    h = cast(Any, handler)
    for kind in _KINDS:
        behaviour = getattr(h, kind)
        if behaviour is not None:
            return kind, behaviour
    raise ValueError(f"a method handler without a behaviour: {handler!r}")


def with_behaviour(
    handler: grpc.RpcMethodHandler, kind: str, behaviour: Behaviour
) -> grpc.RpcMethodHandler:
    """`handler` with its behaviour of `kind` replaced (serializers and all else kept)."""
    return cast(grpc.RpcMethodHandler, cast(Any, handler)._replace(**{kind: behaviour}))


class MethodWrapper(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """A server interceptor that wraps each method's handler once, in `wrap`.

    gRPC hands out the same handler for a method on every call, so the wrapped one is cached
    per method (and rebuilt only if the handler changes): a call costs a dictionary lookup,
    not a new closure.
    """

    def __init__(self) -> None:
        # method -> (handler as found, handler as wrapped)
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return cast(grpc.RpcMethodHandler, None)
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self.wrap(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    @abstractmethod
    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """`handler` of `method` with this interceptor's work around its behaviour."""


class ServerInterceptor(MethodWrapper):
    """Request id, access log, domain error mapping and a default deadline for every method.

    - binds the caller's `x-request-id` (or a new one) to the logging context and echoes it in
      the trailing metadata of every call; a generated id also goes out in the initial metadata
      of a successful unary call (a failure is sent as trailers only, which keeps the call
      retryable by the client's retry policy) and at the start of every stream;
    - logs one `rpc` line per call with method, code and duration (DEBUG for health checks);
    - turns a `DomainError` (and a failed call to another service) into its gRPC status with
      details, an infrastructure outage (`agora.platform.outages`) into UNAVAILABLE, and any
      other exception into INTERNAL with a generic message, the traceback
      going to the log only;
    - bounds unary calls that came without a deadline (or a longer one) to `default_deadline_s`.
    """

    def __init__(self, *, default_deadline_s: float = DEFAULT_SERVER_DEADLINE_S) -> None:
        super().__init__()
        self._default_deadline_s = default_deadline_s
        # Bound once, under the logging configuration in force when the server starts: the
        # access log is on the hot path, and resolving structlog's lazy proxy costs per call.
        self._log = log.bind()

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        call = _CallLog(method, self._log)
        kind, behaviour = behaviour_of(handler)
        if kind in UNARY_RESPONSE_KINDS:
            return with_behaviour(handler, kind, self._unary(call, behaviour))
        return with_behaviour(handler, kind, _streaming(call, behaviour))

    def _unary(self, call: _CallLog, behaviour: Behaviour) -> Behaviour:
        default_deadline_s = self._default_deadline_s

        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = perf_counter()
            given = request_id_given(context)
            request_id = given or new_request_id()
            bind_request_id(request_id)
            echo = ((REQUEST_ID_HEADER, request_id),)
            _initial_metadata_sent.set(False)
            code = grpc.StatusCode.OK
            try:
                response = await _within_deadline(
                    behaviour(request, context), context, default_deadline_s
                )
                if given is None and not _initial_metadata_sent.get():
                    # Only a caller without an id needs it early; it costs an extra batch.
                    await context.send_initial_metadata(echo)
                context.set_trailing_metadata(echo)
                return response
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except Exception as exc:
                err = _as_domain_error(exc, call.method)
                code = grpc_code(err)
                await _abort(context, err, request_id)
            finally:
                call.done(code, started)

        return unary


def _streaming(call: _CallLog, behaviour: Behaviour) -> Behaviour:
    """Wrap a streaming-response behaviour, an async generator or a coroutine using `write`."""
    if inspect.isasyncgenfunction(behaviour):

        async def generate(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with _StreamScope(call, context):
                async for response in behaviour(request, context):
                    yield response

        return generate

    async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        async with _StreamScope(call, context):
            return await behaviour(request, context)

    return run


class _StreamScope:
    """Request id, access log and error mapping around one streaming call.

    No deadline guard: streams (chat, watches) legitimately live long; their callers set one.
    """

    def __init__(self, call: _CallLog, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        self._call = call
        self._context = context
        self._given = request_id_given(context)
        self._request_id = self._given or new_request_id()
        self._started = perf_counter()

    async def __aenter__(self) -> None:
        bind_request_id(self._request_id)
        echo = ((REQUEST_ID_HEADER, self._request_id),)
        # A caller without an id learns it at once; one with an id leaves the initial metadata
        # to the handler (`send_response_headers`), else gRPC sends it with the first message.
        _initial_metadata_sent.set(self._given is None)
        if self._given is None:
            await self._context.send_initial_metadata(echo)
        self._context.set_trailing_metadata(echo)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, _: object
    ) -> bool:
        if exc is None:
            self._call.done(grpc.StatusCode.OK, self._started)
            return False
        if isinstance(exc, asyncio.CancelledError | GeneratorExit):
            self._call.done(grpc.StatusCode.CANCELLED, self._started)
            return False
        if isinstance(exc, grpc.aio.AbortError) or not isinstance(exc, Exception):
            self._call.done(self._context.code() or grpc.StatusCode.UNKNOWN, self._started)
            return False
        err = _as_domain_error(exc, self._call.method)
        self._call.done(grpc_code(err), self._started)
        await _abort(self._context, err, self._request_id)


SLOW_CALL_MS = 500.0
# Answers a caller's bad input or the shop's state, not a fault of the service.
EXPECTED_FAILURES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.CANCELLED,
    }
)


class _CallLog:
    """The access log line of one method."""

    __slots__ = ("debug", "info", "method", "quiet", "warning")

    def __init__(self, method: str, logger: Any) -> None:
        self.method = method
        self.quiet = method.startswith(QUIET_METHOD_PREFIXES)
        self.debug: Callable[..., Any] = logger.debug
        self.info: Callable[..., Any] = logger.info
        self.warning: Callable[..., Any] = logger.warning

    def done(self, code: grpc.StatusCode, started: float) -> None:
        # A line per fast successful call would cost more CPU than the call: those are DEBUG;
        # failures and slow calls are always logged.
        duration_ms = round((perf_counter() - started) * 1000, 3)
        if code is grpc.StatusCode.OK:
            emit = self.debug if self.quiet or duration_ms < SLOW_CALL_MS else self.warning
        else:
            emit = self.info if code in EXPECTED_FAILURES else self.warning
        emit("rpc", method=self.method, code=code.name, duration_ms=duration_ms)


async def _within_deadline(
    work: Awaitable[Any], context: grpc.aio.ServicerContext[Any, Any], default_s: float
) -> Any:
    """Await `work`, bounded by `default_s` unless the caller's own deadline is sooner."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= default_s:
        # gRPC itself cancels the handler when the caller's deadline passes.
        return await work
    guard = asyncio.timeout(default_s)
    try:
        async with guard:
            return await work
    except TimeoutError:
        if guard.expired():
            raise RpcFailure(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.DEADLINE_EXCEEDED.name,
                f"no answer within {default_s:g} s",
            ) from None
        raise


def _as_domain_error(exc: Exception, method: str) -> DomainError:
    """The domain error to answer with; unexpected exceptions are logged and become INTERNAL."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, grpc.RpcError):
        # A call to another service failed and the handler let it through: pass its status on.
        return domain_error_from_rpc_error(exc)
    if is_outage(exc):
        # The database or NATS is away: the caller may retry; the driver's text stays in the log.
        log.warning("rpc_outage", method=method, error=repr(exc))
        return Unavailable(UNAVAILABLE_MESSAGE)
    log.exception("rpc_failed", method=method)
    return RpcFailure(grpc.StatusCode.INTERNAL, grpc.StatusCode.INTERNAL.name, INTERNAL_MESSAGE)


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], err: DomainError, request_id: str
) -> NoReturn:
    status = to_rpc_status(err)
    await context.abort(
        grpc_code(err),
        status.message,  # bounded, unlike err.message
        ((DETAILS_KEY, status.SerializeToString()), (REQUEST_ID_HEADER, request_id)),
    )
    raise AssertionError("context.abort returned")  # pragma: no cover - abort always raises


# --- client side -----------------------------------------------------------------------------
# grpc.aio's client interceptors run each call through an extra task (about 100 µs of CPU per call
# measured here, an eighth of a loopback call), so the request id is added by wrapping the
# channel's multi-callables instead: the same interception at the cost of one function call.


def with_request_id(metadata: Any) -> Any:
    """`metadata` plus `x-request-id` from the caller's context, if one is bound and not set."""
    request_id = current_request_id()
    if request_id is None:
        return metadata
    if not metadata:
        return ((REQUEST_ID_HEADER, request_id),)
    pairs = tuple(metadata)
    if any(key == REQUEST_ID_HEADER for key, _ in pairs):
        return pairs
    return (*pairs, (REQUEST_ID_HEADER, request_id))


def with_authorization(metadata: Any, authorization: Callable[[], str]) -> Any:
    """`metadata` plus `authorization: <authorization()>`, unless the caller set one."""
    pairs = tuple(metadata or ())
    if any(key == AUTHORIZATION_HEADER for key, _ in pairs):
        return pairs
    return (*pairs, (AUTHORIZATION_HEADER, authorization()))


class _RequestIdMultiCallable:
    """A stub method that sends the caller's request id (and credentials, if any) along."""

    __slots__ = ("_authorization", "_call")

    def __init__(
        self, call: Callable[..., Any], authorization: Callable[[], str] | None = None
    ) -> None:
        self._call = call
        self._authorization = authorization

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        metadata = with_request_id(kwargs.get("metadata"))
        if self._authorization is not None:
            metadata = with_authorization(metadata, self._authorization)
        kwargs["metadata"] = metadata
        return self._call(*args, **kwargs)


class RequestIdChannel(grpc.aio.Channel):  # type: ignore[misc]
    """A channel whose every call carries the caller's `x-request-id` (the client interceptor),
    and `authorization: <authorization()>` when given (a service's own token)."""

    def __init__(
        self, channel: grpc.aio.Channel, authorization: Callable[[], str] | None = None
    ) -> None:
        self.inner = channel
        self._authorization = authorization

    async def __aenter__(self) -> RequestIdChannel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.inner.close()

    async def close(self, grace: float | None = None) -> None:
        await self.inner.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self.inner.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self.inner.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self.inner.channel_ready()

    def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
        return _RequestIdMultiCallable(self.inner.unary_unary(*args, **kwargs), self._authorization)

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        return _RequestIdMultiCallable(
            self.inner.unary_stream(*args, **kwargs), self._authorization
        )

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        return _RequestIdMultiCallable(
            self.inner.stream_unary(*args, **kwargs), self._authorization
        )

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        return _RequestIdMultiCallable(
            self.inner.stream_stream(*args, **kwargs), self._authorization
        )
