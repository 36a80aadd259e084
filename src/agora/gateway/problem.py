"""Errors at the HTTP edge as RFC 9457 `application/problem+json`.

A failed gRPC call becomes a problem with the HTTP status of its code and reason (`http_status`,
the one HTTP mapping), the field violations and shortages from its status details, the gRPC
code name and the request id; the gateway's own refusals (no route, 405, 413, 415, 429, CSRF,
unusable credentials) are the rows of `EdgeProblem`. Backends that are down or too slow answer
503/504 with `Retry-After`, so does a 429 (a rate limit, or a login lockout's RetryInfo); a 401
names the Bearer scheme in `WWW-Authenticate` (RFC 6750); anything unexpected is a 500 that
reveals nothing internal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus
from typing import Any

import grpc
import orjson
from starlette.responses import Response

from agora.platform.errors import (
    DomainError,
    FieldViolation,
    Gone,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IdempotentAnswerWithheld,
    Insufficient,
    PreconditionViolation,
    Shortage,
)
from agora.platform.rpc.status import (
    ErrorInfo,
    error_info,
    error_info_from_rpc_error,
    rpc_status_from_rpc_error,
)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:agora:problem:"
# Codes that mean "the backend could not answer now": the client may try again shortly.
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
DEFAULT_RETRY_AFTER_S = 1
BEARER_CHALLENGE = 'Bearer realm="agora"'
# Reasons of a token that was sent but is no good: RFC 6750's `invalid_token`.
INVALID_TOKEN_REASONS = frozenset({"TOKEN_INVALID", "TOKEN_EXPIRED"})

_C = grpc.StatusCode
# The one HTTP mapping: a gRPC code's status as in google.rpc.Code's documented mapping...
HTTP_STATUS_BY_CODE: Mapping[grpc.StatusCode, int] = {
    _C.OK: 200,
    _C.CANCELLED: 499,
    _C.UNKNOWN: 500,
    _C.INVALID_ARGUMENT: 400,
    _C.DEADLINE_EXCEEDED: 504,
    _C.NOT_FOUND: 404,
    _C.ALREADY_EXISTS: 409,
    _C.PERMISSION_DENIED: 403,
    _C.UNAUTHENTICATED: 401,
    _C.RESOURCE_EXHAUSTED: 429,
    _C.FAILED_PRECONDITION: 400,
    _C.ABORTED: 409,
    _C.OUT_OF_RANGE: 400,
    _C.UNIMPLEMENTED: 501,
    _C.INTERNAL: 500,
    _C.UNAVAILABLE: 503,
    _C.DATA_LOSS: 500,
}
# ...made more precise by reason where HTTP has a closer status than gRPC.
HTTP_STATUS_BY_REASON: Mapping[str, int] = {
    Insufficient.reason: 409,
    Gone.reason: 410,
    IdempotencyKeyReused.reason: 422,
    IdempotencyKeyInFlight.reason: 409,
    IdempotentAnswerWithheld.reason: 409,
    # An upload over a service's own size limit (under the gateway's body limit).
    "PAYLOAD_TOO_LARGE": 413,
}


def http_status(code: grpc.StatusCode, reason: str = "") -> int:
    """The HTTP status of a gRPC error (its reason first, then its code)."""
    return HTTP_STATUS_BY_REASON.get(reason) or HTTP_STATUS_BY_CODE.get(code, 500)


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 problem with Agora's extension members."""

    status: int
    title: str
    detail: str
    code: str
    reason: str
    request_id: str = ""
    errors: Sequence[FieldViolation] = ()
    shortages: Sequence[Shortage] = ()
    preconditions: Sequence[PreconditionViolation] = ()
    retry_after_s: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.reason.lower().replace("_", "-")

    def body(self) -> dict[str, Any]:
        """The JSON members (extension members only when they carry something)."""
        document: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "reason": self.reason,
        }
        if self.errors:
            document["errors"] = [
                {"field": v.field, "description": v.description} for v in self.errors
            ]
        if self.shortages:
            document["shortages"] = [
                {"subject": s.subject, "requested": s.requested, "available": s.available}
                for s in self.shortages
            ]
        if self.preconditions:
            document["preconditions"] = [
                {"type": p.type, "subject": p.subject, "description": p.description}
                for p in self.preconditions
            ]
        if self.request_id:
            document["requestId"] = self.request_id
        return document

    def response(self) -> Response:
        """The problem as an HTTP response (with `Retry-After` when the client may retry)."""
        headers = dict(self.headers)
        if self.retry_after_s is not None:
            headers["Retry-After"] = str(self.retry_after_s)
        if self.status == 401:
            headers.setdefault("WWW-Authenticate", bearer_challenge(self.reason))
        return Response(
            orjson.dumps(self.body()),
            status_code=self.status,
            headers=headers,
            media_type=PROBLEM_CONTENT_TYPE,
        )


def bearer_challenge(reason: str) -> str:
    """The `WWW-Authenticate` value of a 401 with this reason."""
    if reason in INVALID_TOKEN_REASONS:
        return f'{BEARER_CHALLENGE}, error="invalid_token"'
    return BEARER_CHALLENGE


def problem_from_error_info(info: ErrorInfo, request_id: str = "") -> Problem:
    """The problem for an error's transport-independent description."""
    status = http_status(info.code, info.reason)
    retry_after: int | None = None
    if info.code in RETRYABLE_CODES or info.retry_after_s is not None:
        retry_after = max(1, math.ceil(info.retry_after_s or DEFAULT_RETRY_AFTER_S))
    return Problem(
        status=status,
        title=_title(status),
        detail=info.message or _title(status),
        code=info.code.name,
        reason=info.reason,
        request_id=request_id,
        errors=list(info.violations),
        shortages=list(info.shortages),
        preconditions=list(info.preconditions),
        retry_after_s=retry_after,
    )


def problem_from_rpc_error(error: grpc.RpcError, request_id: str = "") -> Problem:
    """The problem for a failed gRPC call, details read from its status trailer."""
    info = error_info_from_rpc_error(error)
    if rpc_status_from_rpc_error(error) is None:
        # Agora's servers always send status details: without them the failure is gRPC core's
        # (unreachable, limits exceeded), whose wording (addresses, errno, metadata sizes) and
        # codes are transport facts, never the API's. Say it in the API's words.
        info = _transport_failure(info)
    return problem_from_error_info(info, request_id)


def _transport_failure(info: ErrorInfo) -> ErrorInfo:
    if info.code in RETRYABLE_CODES:
        return ErrorInfo(
            code=info.code,
            message=_UNREACHABLE_DETAIL[info.code],
            reason=info.reason or info.code.name,
            retry_after_s=info.retry_after_s,
        )
    if info.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        # A message or metadata size limit between the gateway and a service: not a rate limit
        # (a 429 would invite a retry that fails the same way).
        return ErrorInfo(
            code=grpc.StatusCode.INVALID_ARGUMENT,
            message="The request is too large for the service.",
            reason="REQUEST_TOO_LARGE",
        )
    # The status stays; the detail becomes its HTTP title.
    return ErrorInfo(code=info.code, message="", reason=info.reason or info.code.name)


def problem_from_domain_error(error: DomainError, request_id: str = "") -> Problem:
    """The problem for a domain error raised at the edge (bad JSON, unknown query field…)."""
    return problem_from_error_info(error_info(error), request_id)


@dataclass(frozen=True)
class EdgeAnswer:
    """A problem the gateway answers itself: its HTTP status, the gRPC code its body names,
    its reason, its detail and headers (templates over the request's words)."""

    status: int
    code: grpc.StatusCode
    reason: str
    detail: str
    headers: tuple[tuple[str, str], ...] = ()


class EdgeProblem(Enum):
    """Every problem the gateway answers without a backend call."""

    ROUTE_NOT_FOUND = EdgeAnswer(
        404, _C.NOT_FOUND, "ROUTE_NOT_FOUND", "No API route matches {method} {path}."
    )
    METHOD_NOT_ALLOWED = EdgeAnswer(
        405,
        _C.UNIMPLEMENTED,
        "METHOD_NOT_ALLOWED",
        "{method} is not allowed on {path}; allowed: {allowed}.",
        (("Allow", "{allowed}"),),
    )
    BODY_TOO_LARGE = EdgeAnswer(
        413, _C.INVALID_ARGUMENT, "BODY_TOO_LARGE", "The request body is larger than {limit} bytes."
    )
    UNSUPPORTED_MEDIA_TYPE = EdgeAnswer(
        415,
        _C.INVALID_ARGUMENT,
        "UNSUPPORTED_MEDIA_TYPE",
        "The request body must be application/json, not {content_type}.",
        (("Accept", "application/json"),),
    )
    RATE_LIMITED = EdgeAnswer(
        429,
        _C.RESOURCE_EXHAUSTED,
        "RATE_LIMITED",
        "Too many requests; try again in {retry_after_s} s.",
    )
    CSRF_FAILED = EdgeAnswer(
        403,
        _C.PERMISSION_DENIED,
        "CSRF_FAILED",
        "A change authenticated by the session cookie needs the X-CSRF-Token header "
        "equal to this session's __Host-agora_csrf cookie.",
    )
    # Bridged streams (`websocket_bridge`): refusals before the upgrade and error frames.
    STREAM_CSRF_FAILED = EdgeAnswer(
        403,
        _C.PERMISSION_DENIED,
        "CSRF_FAILED",
        "A stream authenticated by the session cookie must offer the WebSocket subprotocol "
        "agora.csrf.<this session's __Host-agora_csrf cookie>.",
    )
    ORIGIN_REFUSED = EdgeAnswer(
        403,
        _C.PERMISSION_DENIED,
        "ORIGIN_REFUSED",
        "A stream authenticated by the session cookie must come from an allowed origin.",
    )
    TOKEN_MISSING = EdgeAnswer(
        401,
        _C.UNAUTHENTICATED,
        "TOKEN_MISSING",
        "This stream needs a bearer token or a session cookie.",
    )
    TOO_MANY_STREAMS = EdgeAnswer(
        429,
        _C.RESOURCE_EXHAUSTED,
        "TOO_MANY_STREAMS",
        "At most {limit} streams may be open at once; close one first.",
    )
    FRAME_TOO_LARGE = EdgeAnswer(
        413, _C.INVALID_ARGUMENT, "FRAME_TOO_LARGE", "A frame is larger than {limit} bytes."
    )
    UPGRADE_REQUIRED = EdgeAnswer(
        426,
        _C.FAILED_PRECONDITION,
        "UPGRADE_REQUIRED",
        "{path} is a WebSocket: open it with an Upgrade: websocket request.",
        (("Upgrade", "websocket"), ("Connection", "Upgrade")),
    )
    MALFORMED_CREDENTIALS = EdgeAnswer(
        401,
        _C.UNAUTHENTICATED,
        "TOKEN_INVALID",
        "The credentials are not a well-formed bearer token.",
    )
    # Service tokens are for calls between services inside the deployment, never from outside.
    SERVICE_TOKEN_REFUSED = EdgeAnswer(
        401,
        _C.UNAUTHENTICATED,
        "TOKEN_INVALID",
        "Service tokens are not accepted here: use a user's access token.",
    )
    # A streamed download (`http_body`) whose first message, naming its type, did not come.
    DOWNLOAD_NOT_STARTED = EdgeAnswer(
        504,
        _C.DEADLINE_EXCEEDED,
        "DEADLINE_EXCEEDED",
        "The download did not start within {wait_s} s; try again shortly.",
    )
    # A 500 that says nothing about the cause (which goes to the log).
    INTERNAL = EdgeAnswer(500, _C.INTERNAL, "INTERNAL", "The server could not handle the request.")

    def problem(
        self, request_id: str = "", *, retry_after_s: int | None = None, **words: object
    ) -> Problem:
        """This problem, its templates filled with `words` (and `retry_after_s`)."""
        answer: EdgeAnswer = self.value
        return Problem(
            status=answer.status,
            title=_title(answer.status),
            detail=answer.detail.format(retry_after_s=retry_after_s, **words),
            code=answer.code.name,
            reason=answer.reason,
            request_id=request_id,
            retry_after_s=retry_after_s,
            headers={name: value.format(**words) for name, value in answer.headers},
        )

    def response(
        self, request_id: str = "", *, retry_after_s: int | None = None, **words: object
    ) -> Response:
        """This problem as an HTTP response (see `problem`)."""
        return self.problem(request_id, retry_after_s=retry_after_s, **words).response()


_UNREACHABLE_DETAIL = {
    grpc.StatusCode.UNAVAILABLE: "The service is unavailable; try again shortly.",
    grpc.StatusCode.DEADLINE_EXCEEDED: "The service did not answer in time; try again shortly.",
}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Closed Request" if status == 499 else "Error"
