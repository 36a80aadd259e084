"""Errors at the HTTP edge as RFC 9457 `application/problem+json`.

A failed gRPC call becomes a problem with the HTTP status of its code and reason
(`agora.platform.errors.http_status`), the field violations and shortages from its status
details, the gRPC code name and the request id. Backends that are down or too slow answer
503/504 with `Retry-After`, so does a 429 (a rate limit, or a login lockout's RetryInfo); a 401
names the Bearer scheme in `WWW-Authenticate` (RFC 6750); anything unexpected is a 500 that
reveals nothing internal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import grpc
import orjson
from starlette.responses import Response

from agora.platform.errors import (
    DomainError,
    ErrorInfo,
    FieldViolation,
    Insufficient,
    InvalidArgument,
    PreconditionViolation,
    Shortage,
    Unavailable,
    http_status,
)
from agora.platform.rpc.status import error_info_from_rpc_error, rpc_status_from_rpc_error

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:agora:problem:"
# Codes that mean "the backend could not answer now": the client may try again shortly.
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
DEFAULT_RETRY_AFTER_S = 1
BEARER_CHALLENGE = 'Bearer realm="agora"'
# Reasons of a token that was sent but is no good: RFC 6750's `invalid_token`.
INVALID_TOKEN_REASONS = frozenset({"TOKEN_INVALID", "TOKEN_EXPIRED"})


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
    info = ErrorInfo(
        code=error.code,
        message=error.message,
        reason=error.reason,
        violations=list(error.violations) if isinstance(error, InvalidArgument) else [],
        shortages=list(error.shortages) if isinstance(error, Insufficient) else [],
        preconditions=list(error.preconditions),
        metadata=dict(error.metadata),
        retry_after_s=error.retry_after_s if isinstance(error, Unavailable) else None,
    )
    return problem_from_error_info(info, request_id)


def problem(
    status: int,
    detail: str,
    *,
    code: grpc.StatusCode,
    reason: str,
    request_id: str = "",
    headers: Mapping[str, str] | None = None,
    retry_after_s: int | None = None,
) -> Problem:
    """A problem made at the edge, without a backend call (404 route, 405, 413, 415, 429…)."""
    return Problem(
        status=status,
        title=_title(status),
        detail=detail,
        code=code.name,
        reason=reason,
        request_id=request_id,
        retry_after_s=retry_after_s,
        headers=dict(headers or {}),
    )


def internal_problem(request_id: str = "") -> Problem:
    """A 500 that says nothing about the cause (which goes to the log)."""
    return problem(
        500,
        "The server could not handle the request.",
        code=grpc.StatusCode.INTERNAL,
        reason="INTERNAL",
        request_id=request_id,
    )


_UNREACHABLE_DETAIL = {
    grpc.StatusCode.UNAVAILABLE: "The service is unavailable; try again shortly.",
    grpc.StatusCode.DEADLINE_EXCEEDED: "The service did not answer in time; try again shortly.",
}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Closed Request" if status == 499 else "Error"
