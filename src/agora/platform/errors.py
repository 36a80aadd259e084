"""Domain errors: what went wrong, in the shop's words, with no transport attached.

Services raise these from their domain and store code. Each class names its machine-readable
`reason`; the transports map them once, at the edge: `agora.platform.rpc.status` to a gRPC
status with typed details, `agora.gateway.problem` to an HTTP problem+json. Pure (standard
library only), so domain modules may raise them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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
    reason = "NOT_FOUND"

    def __init__(self, resource_type: str, name: str) -> None:
        super().__init__(f"{resource_type} {name!r} not found")
        self.resource_type = resource_type
        self.resource_name = name


class AlreadyExists(DomainError):
    reason = "ALREADY_EXISTS"


class Conflict(DomainError):
    """The request conflicts with the current state (optimistic concurrency)."""

    reason = "CONFLICT"


class IdempotencyKeyReused(DomainError):
    """An idempotency key was sent again with a different request: 422 at the HTTP edge (as
    the IETF Idempotency-Key draft answers). FAILED_PRECONDITION, not ALREADY_EXISTS: a client
    must not take it for "already done", it needs a new key."""

    reason = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyKeyInFlight(DomainError):
    """The first request with this idempotency key is still running: retry shortly (409 with
    Retry-After at the HTTP edge; ABORTED, retry at a higher level, on gRPC)."""

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

    reason = "IDEMPOTENT_ANSWER_WITHHELD"


class FailedPrecondition(DomainError):
    reason = "FAILED_PRECONDITION"


@dataclass(frozen=True)
class Shortage:
    """A resource with less available than asked for."""

    subject: str
    requested: int
    available: int


class Insufficient(DomainError):
    """Less of something is available than asked for (stock): carries what is available.

    FAILED_PRECONDITION on gRPC; 409 at the HTTP edge.
    """

    reason = "INSUFFICIENT"

    def __init__(self, message: str, shortages: Sequence[Shortage] = ()) -> None:
        super().__init__(message)
        self.shortages = list(shortages)


class Gone(DomainError):
    """The resource existed but has expired (a cart, an invoice): 410 at the HTTP edge."""

    reason = "EXPIRED"


# Reasons of the security interceptor's refusals (docs/adr/0007), machine-readable.
TOKEN_MISSING = "TOKEN_MISSING"
TOKEN_INVALID = "TOKEN_INVALID"
TOKEN_EXPIRED = "TOKEN_EXPIRED"
PERMISSION_MISSING = "PERMISSION_MISSING"


class Unauthenticated(DomainError):
    """No valid token: 401. `reason` is TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED."""

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
    reason = "UNAVAILABLE"

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ResourceExhausted(DomainError):
    """Too many attempts (a login lockout): RESOURCE_EXHAUSTED / 429, with when to retry."""

    reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self, message: str, *, retry_after_s: float, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, metadata=metadata)
        self.retry_after_s = retry_after_s
