"""Domain errors, mapped once to gRPC status (and, at the gateway, to HTTP problem+json).

Services raise these from their domain and store code; the server interceptor turns them into a
gRPC status with a `google.rpc.Status` detail (field violations, resource info, retry info) in
the `grpc-status-details-bin` trailer, which the gateway reads back into a problem+json body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import grpc


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field: `field` is the lowerCamelCase JSON path (`prices[0].amount`)."""

    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """One unmet precondition of a refused request: `type` says which (`PRICE_CHANGED`),
    `subject` what it is about (a variant id), `description` says it in words."""

    type: str
    subject: str
    description: str


class DomainError(Exception):
    """Base of every error a service reports to its callers on purpose."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    reason: str = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        preconditions: Sequence[PreconditionViolation] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.metadata: dict[str, str] = dict(metadata or {})
        self.preconditions = list(preconditions)


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str,
        violations: Sequence[FieldViolation] = (),
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, metadata=metadata)
        self.violations = list(violations)

    @classmethod
    def for_field(cls, field_path: str, description: str) -> InvalidArgument:
        return cls(f"{field_path}: {description}", [FieldViolation(field_path, description)])


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "NOT_FOUND"

    def __init__(self, resource_type: str, name: str) -> None:
        super().__init__(f"{resource_type} {name!r} not found")
        self.resource_type = resource_type
        self.resource_name = name


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "ALREADY_EXISTS"


class Conflict(DomainError):
    """The request conflicts with the current state (optimistic concurrency)."""

    code = grpc.StatusCode.ABORTED
    reason = "CONFLICT"


class IdempotencyKeyReused(DomainError):
    """An idempotency key was sent again with a different request: 422 at the HTTP edge (as
    the IETF Idempotency-Key draft answers). FAILED_PRECONDITION, not ALREADY_EXISTS: a client
    must not take it for "already done", it needs a new key."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyKeyInFlight(DomainError):
    """The first request with this idempotency key is still running: retry shortly (409 with
    Retry-After at the HTTP edge; ABORTED, retry at a higher level, on gRPC)."""

    code = grpc.StatusCode.ABORTED
    reason = "IDEMPOTENCY_KEY_IN_FLIGHT"

    def __init__(
        self, message: str, *, retry_after_s: float = 1.0, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, metadata=metadata)
        self.retry_after_s = retry_after_s


class IdempotentAnswerWithheld(DomainError):
    """A repeat of a request whose first answer held secrets (recovery codes, a TOTP secret,
    tokens), which are never stored: the change is done, its answer cannot be given again
    (409 at the HTTP edge; the message says what to do instead)."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "IDEMPOTENT_ANSWER_WITHHELD"


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "FAILED_PRECONDITION"


@dataclass(frozen=True)
class Shortage:
    """A resource with less available than asked for."""

    subject: str
    requested: int
    available: int


class Insufficient(DomainError):
    """Less of something is available than asked for (stock): carries what is available.

    FAILED_PRECONDITION on gRPC; 409 at the HTTP edge (see HTTP_STATUS_BY_REASON).
    """

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "INSUFFICIENT"

    def __init__(self, message: str, shortages: Sequence[Shortage] = ()) -> None:
        super().__init__(message)
        self.shortages = list(shortages)


class Gone(DomainError):
    """The resource existed but has expired (a cart, an invoice): 410 at the HTTP edge."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "EXPIRED"


# Reasons of the security interceptor's refusals (docs/adr/0007), machine-readable.
TOKEN_MISSING = "TOKEN_MISSING"
TOKEN_INVALID = "TOKEN_INVALID"
TOKEN_EXPIRED = "TOKEN_EXPIRED"
PERMISSION_MISSING = "PERMISSION_MISSING"


class Unauthenticated(DomainError):
    """No valid token: 401. `reason` is TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED."""

    code = grpc.StatusCode.UNAUTHENTICATED
    reason = TOKEN_INVALID

    def __init__(
        self,
        message: str,
        *,
        reason: str = TOKEN_INVALID,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, metadata=metadata)
        self.reason = reason


class PermissionDenied(DomainError):
    """The caller is known but may not do this: 403."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"

    @classmethod
    def missing(cls, permission: str) -> PermissionDenied:
        """The caller's token lacks `permission` (reason PERMISSION_MISSING, named in metadata)."""
        err = cls(
            f"this call needs the permission {permission!r}", metadata={"permission": permission}
        )
        err.reason = PERMISSION_MISSING
        return err


class Unavailable(DomainError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = "UNAVAILABLE"

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ResourceExhausted(DomainError):
    """Too many attempts (a login lockout): RESOURCE_EXHAUSTED / 429, with when to retry."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self, message: str, *, retry_after_s: float, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, metadata=metadata)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class ErrorInfo:
    """What callers learn of an error, independent of transport."""

    code: grpc.StatusCode
    message: str
    reason: str
    violations: list[FieldViolation] = field(default_factory=list)
    shortages: list[Shortage] = field(default_factory=list)
    preconditions: list[PreconditionViolation] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    retry_after_s: float | None = None


# gRPC status -> HTTP status, as in google.rpc.Code's documented mapping.
HTTP_STATUS_BY_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}

# Reasons whose HTTP status is more precise than their gRPC code's.
HTTP_STATUS_BY_REASON: dict[str, int] = {
    Insufficient.reason: 409,
    Gone.reason: 410,
    IdempotencyKeyReused.reason: 422,
    IdempotencyKeyInFlight.reason: 409,
    IdempotentAnswerWithheld.reason: 409,
}


def http_status(code: grpc.StatusCode, reason: str = "") -> int:
    """The HTTP status for a gRPC error (reason first, then code)."""
    return HTTP_STATUS_BY_REASON.get(reason) or HTTP_STATUS_BY_CODE.get(code, 500)
