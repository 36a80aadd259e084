"""The one mapping between Agora's domain errors and gRPC status, in both directions.

`GRPC_CODE_BY_CLASS` gives each error class its gRPC code (`agora.platform.errors` itself knows
no transport). A `DomainError` leaves a server as a gRPC status whose `grpc-status-details-bin`
trailer holds a `google.rpc.Status` with typed details (the richer error model of AIP-193):

- always `ErrorInfo(reason, domain="agora", metadata)`;
- `BadRequest` field violations for `InvalidArgument`;
- `ResourceInfo` for `NotFound`;
- `PreconditionFailure` violations of type `INSUFFICIENT` for `Insufficient` shortages, and
  of their own types for any error's `preconditions`;
- `RetryInfo` for `Unavailable`, `ResourceExhausted` and `IdempotencyKeyInFlight`.

Callers read it back with `error_info_from_rpc_error` (the gateway, for problem+json) or
`raise_for_rpc_error` (a service calling another one, to get domain exceptions back).
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn, TypeVar, cast

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2

from agora.platform import errors
from agora.platform.errors import DomainError, FieldViolation, PreconditionViolation, Shortage

DETAILS_KEY = "grpc-status-details-bin"
ERROR_DOMAIN = "agora"
SHORTAGE_TYPE = "INSUFFICIENT"
_SHORTAGE_DESCRIPTION = re.compile(r"requested=(-?\d+) available=(-?\d+)")
_M = TypeVar("_M", bound=Message)


class RpcFailure(DomainError):
    """A failure that no domain error class stands for, with its own gRPC code.

    A called service's deadline, INTERNAL, UNIMPLEMENTED…: re-raised with the callee's code and
    reason, so the caller's own server answers its client with the same status.
    """

    def __init__(self, code: grpc.StatusCode, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


_C = grpc.StatusCode
# The one table from domain errors to gRPC codes. A class not listed (a service's own
# `CartChanged(Conflict)`) takes the code of its nearest listed base. The first class listed
# for a code is the one a caller rebuilds for a reason it does not know.
GRPC_CODE_BY_CLASS: Mapping[type[DomainError], grpc.StatusCode] = {
    errors.InvalidArgument: _C.INVALID_ARGUMENT,
    errors.NotFound: _C.NOT_FOUND,
    errors.AlreadyExists: _C.ALREADY_EXISTS,
    errors.Conflict: _C.ABORTED,
    errors.FailedPrecondition: _C.FAILED_PRECONDITION,
    errors.Unauthenticated: _C.UNAUTHENTICATED,
    errors.PermissionDenied: _C.PERMISSION_DENIED,
    errors.Unavailable: _C.UNAVAILABLE,
    errors.ResourceExhausted: _C.RESOURCE_EXHAUSTED,
    # Reasons of their own under a general code (HTTP tells them apart: see the gateway).
    errors.IdempotencyKeyReused: _C.FAILED_PRECONDITION,
    errors.IdempotencyKeyInFlight: _C.ABORTED,
    errors.IdempotentAnswerWithheld: _C.FAILED_PRECONDITION,
    errors.Insufficient: _C.FAILED_PRECONDITION,
    errors.Gone: _C.FAILED_PRECONDITION,
}


def grpc_code(err: DomainError) -> grpc.StatusCode:
    """The gRPC code `err` is answered with (UNKNOWN for a class outside the table)."""
    if isinstance(err, RpcFailure):
        return err.code
    for cls in type(err).__mro__:
        code = GRPC_CODE_BY_CLASS.get(cls)
        if code is not None:
            return code
    return _C.UNKNOWN


@dataclass(frozen=True)
class ErrorInfo:
    """What a caller learns of an error: its gRPC code, message, reason and typed details."""

    code: grpc.StatusCode
    message: str
    reason: str
    violations: list[FieldViolation] = field(default_factory=list)
    shortages: list[Shortage] = field(default_factory=list)
    preconditions: list[PreconditionViolation] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    retry_after_s: float | None = None


def error_info(err: DomainError) -> ErrorInfo:
    """What a caller of a service raising `err` reads back (`error_info_from_rpc_error`)."""
    return ErrorInfo(
        code=grpc_code(err),
        message=err.message,
        reason=err.reason,
        violations=list(err.violations) if isinstance(err, errors.InvalidArgument) else [],
        shortages=list(err.shortages) if isinstance(err, errors.Insufficient) else [],
        preconditions=list(err.preconditions),
        metadata=dict(err.metadata),
        retry_after_s=_retry_after_s(err),
    )


def _retry_after_s(err: DomainError) -> float | None:
    if isinstance(err, _RETRYABLE):
        return err.retry_after_s
    return None


_RETRYABLE = (errors.Unavailable, errors.ResourceExhausted, errors.IdempotencyKeyInFlight)


_StatusFields = collections.namedtuple("_StatusFields", ("code", "details", "trailing_metadata"))


class _Status(_StatusFields, grpc.Status):  # type: ignore[misc]
    """A concrete `grpc.Status`, as `context.abort_with_status` takes."""


def to_rpc_status(err: DomainError) -> status_pb2.Status:
    """The `google.rpc.Status` message (code, message, typed details) of a domain error."""
    details: list[Message] = [
        error_details_pb2.ErrorInfo(reason=err.reason, domain=ERROR_DOMAIN, metadata=err.metadata)
    ]
    details.extend(_specific_details(err))
    code = grpc_code(err)
    status = status_pb2.Status(code=code.value[0], message=_bounded(err.message, MAX_MESSAGE))
    for detail in details:
        status.details.add().Pack(detail)
    return status


def to_grpc_status(err: DomainError) -> grpc.Status:
    """The gRPC status of a domain error, its details in the `grpc-status-details-bin` trailer."""
    status = to_rpc_status(err)
    return _Status(grpc_code(err), err.message, ((DETAILS_KEY, status.SerializeToString()),))


def _specific_details(err: DomainError) -> list[Message]:
    details = _kind_details(err)
    if err.preconditions:
        details.append(_unmet_preconditions(err.preconditions))
    return details


def _kind_details(err: DomainError) -> list[Message]:
    if isinstance(err, errors.InvalidArgument) and err.violations:
        return [_bad_request(err.violations)]
    if isinstance(err, errors.NotFound):
        return [
            error_details_pb2.ResourceInfo(
                resource_type=err.resource_type,
                resource_name=_bounded(err.resource_name, MAX_DETAIL),
            )
        ]
    if isinstance(err, errors.Insufficient) and err.shortages:
        return [_precondition_failure(err.shortages)]
    retry_after_s = _retry_after_s(err)
    if retry_after_s is not None:
        return [error_details_pb2.RetryInfo(retry_delay=_duration(retry_after_s))]
    return []


def _bad_request(violations: Iterable[FieldViolation]) -> error_details_pb2.BadRequest:
    request = error_details_pb2.BadRequest()
    for violation in list(violations)[:MAX_VIOLATIONS]:
        request.field_violations.add(
            field=_bounded(violation.field, MAX_DETAIL),
            description=_bounded(violation.description, MAX_DETAIL),
        )
    return request


# Status messages and details travel as metadata (trailers), which gRPC limits (8 KiB by
# default): whatever a handler put in them, they stay far below, and an input echoed into an
# error never turns it into a transport failure.
MAX_MESSAGE = 500
MAX_DETAIL = 150
MAX_VIOLATIONS = 10
MAX_PRECONDITIONS = 20


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _precondition_failure(shortages: Iterable[Shortage]) -> error_details_pb2.PreconditionFailure:
    failure = error_details_pb2.PreconditionFailure()
    for shortage in shortages:
        failure.violations.add(
            type=SHORTAGE_TYPE,
            subject=shortage.subject,
            description=f"requested={shortage.requested} available={shortage.available}",
        )
    return failure


def _unmet_preconditions(
    preconditions: Iterable[PreconditionViolation],
) -> error_details_pb2.PreconditionFailure:
    failure = error_details_pb2.PreconditionFailure()
    for violation in list(preconditions)[:MAX_PRECONDITIONS]:
        failure.violations.add(
            type=_bounded(violation.type, MAX_DETAIL),
            subject=_bounded(violation.subject, MAX_DETAIL),
            description=_bounded(violation.description, MAX_DETAIL),
        )
    return failure


def _duration(seconds: float) -> duration_pb2.Duration:
    whole = int(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=round((seconds - whole) * 1e9))


# --- reading a status back -------------------------------------------------------------------


def rpc_status_from_rpc_error(e: grpc.RpcError) -> status_pb2.Status | None:
    """The `google.rpc.Status` carried by a failed call's trailers, if it has one."""
    call = cast(Any, e)
    trailers = call.trailing_metadata() if hasattr(call, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == DETAILS_KEY:
            status = status_pb2.Status()
            try:
                status.ParseFromString(value)
            except DecodeError:
                return None
            return status
    return None


def error_info_from_rpc_error(e: grpc.RpcError) -> ErrorInfo:
    """What a failed call says about its error: code, message, reason and typed details.

    Calls that failed without details (transport errors, deadlines) get their code's name as
    reason and no details.
    """
    return _read(e).info


def domain_error_from_rpc_error(e: grpc.RpcError) -> DomainError:
    """The domain error a failed call stands for (its class chosen by reason, then by code)."""
    read = _read(e)
    info = read.info
    err = _domain_error(info, read.resource)
    err.metadata = dict(info.metadata)
    err.preconditions = list(info.preconditions)
    # A subclass unknown here (another service's own reason) keeps its reason on the way up.
    err.reason = info.reason
    return err


def raise_for_rpc_error(e: grpc.RpcError) -> NoReturn:
    """Re-raise a failed call as the matching `DomainError` subclass, chained to `e`."""
    raise domain_error_from_rpc_error(e) from e


@dataclass(frozen=True)
class _Read:
    info: ErrorInfo
    resource: error_details_pb2.ResourceInfo | None


def _read(e: grpc.RpcError) -> _Read:
    call = cast(Any, e)
    code: grpc.StatusCode = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
    message: str = (call.details() if hasattr(call, "details") else None) or ""
    status = rpc_status_from_rpc_error(e)
    read = _Read(ErrorInfo(code=code, message=message, reason=code.name), None)
    for detail in status.details if status else ():
        read = _with_detail(read, detail)
    return read


def _with_detail(read: _Read, detail: any_pb2.Any) -> _Read:
    """`read` completed with one packed detail (detail types not ours are ignored)."""
    info = read.info
    if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
        error_info = _unpack(detail, error_details_pb2.ErrorInfo())
        info = replace(info, reason=error_info.reason, metadata=dict(error_info.metadata))
    elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
        request = _unpack(detail, error_details_pb2.BadRequest())
        violations = [FieldViolation(v.field, v.description) for v in request.field_violations]
        info = replace(info, violations=[*info.violations, *violations])
    elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
        failure = _unpack(detail, error_details_pb2.PreconditionFailure())
        shortages = [_shortage(v) for v in failure.violations if v.type == SHORTAGE_TYPE]
        unmet = [
            PreconditionViolation(v.type, v.subject, v.description)
            for v in failure.violations
            if v.type != SHORTAGE_TYPE
        ]
        info = replace(
            info,
            shortages=[*info.shortages, *(s for s in shortages if s)],
            preconditions=[*info.preconditions, *unmet],
        )
    elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
        delay = _unpack(detail, error_details_pb2.RetryInfo()).retry_delay
        info = replace(info, retry_after_s=delay.seconds + delay.nanos / 1e9)
    elif detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
        return _Read(info, _unpack(detail, error_details_pb2.ResourceInfo()))
    return _Read(info, read.resource)


def _unpack(detail: any_pb2.Any, message: _M) -> _M:
    detail.Unpack(message)
    return message


def _shortage(violation: error_details_pb2.PreconditionFailure.Violation) -> Shortage | None:
    match = _SHORTAGE_DESCRIPTION.fullmatch(violation.description)
    if match is None:
        return None
    return Shortage(violation.subject, int(match.group(1)), int(match.group(2)))


def _domain_error(info: ErrorInfo, resource: error_details_pb2.ResourceInfo | None) -> DomainError:
    """A fresh exception of the class that `info` names."""
    cls = _CLASS_BY_REASON.get(info.reason) or _CLASS_BY_CODE.get(info.code)
    match cls:
        case None:
            return RpcFailure(info.code, info.reason, info.message)
        case errors.InvalidArgument:
            return errors.InvalidArgument(info.message, info.violations)
        case errors.NotFound:
            return _not_found(info, resource)
        case errors.Insufficient:
            return errors.Insufficient(info.message, info.shortages)
        case errors.Unavailable:
            retry_after_s = info.retry_after_s
            if retry_after_s is None:
                return errors.Unavailable(info.message)
            return errors.Unavailable(info.message, retry_after_s=retry_after_s)
        case errors.ResourceExhausted:
            return errors.ResourceExhausted(info.message, retry_after_s=info.retry_after_s or 1.0)
        case errors.IdempotencyKeyInFlight:
            return errors.IdempotencyKeyInFlight(
                info.message, retry_after_s=info.retry_after_s or 1.0
            )
        case _:
            return cls(info.message)


def _not_found(info: ErrorInfo, resource: error_details_pb2.ResourceInfo | None) -> errors.NotFound:
    if resource is None:
        err = errors.NotFound("resource", "")
    else:
        err = errors.NotFound(resource.resource_type, resource.resource_name)
    # The callee's wording wins over the one NotFound's constructor composes.
    err.message = info.message
    err.args = (info.message,)
    return err


_CLASS_BY_REASON: dict[str, type[DomainError]] = {cls.reason: cls for cls in GRPC_CODE_BY_CLASS}
# The most general class of each code, for reasons this process does not know.
_CLASS_BY_CODE: dict[grpc.StatusCode, type[DomainError]] = {
    code: cls for cls, code in reversed(list(GRPC_CODE_BY_CLASS.items()))
}
