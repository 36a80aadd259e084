"""The mapping between domain errors and gRPC status, without a network: to status and back."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from agora.platform import errors
from agora.platform.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    Gone,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IdempotentAnswerWithheld,
    Insufficient,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PreconditionViolation,
    ResourceExhausted,
    Shortage,
    Unauthenticated,
    Unavailable,
)
from agora.platform.rpc.status import (
    DETAILS_KEY,
    GRPC_CODE_BY_CLASS,
    RpcFailure,
    domain_error_from_rpc_error,
    error_info,
    error_info_from_rpc_error,
    grpc_code,
    raise_for_rpc_error,
    to_grpc_status,
)

ONE_OF_EACH: list[DomainError] = [
    InvalidArgument(
        "title: must not be empty",
        [FieldViolation("title", "must not be empty"), FieldViolation("prices[0].amount", "< 0")],
        metadata={"product": "p-1"},
    ),
    NotFound("product", "blue-shoe"),
    AlreadyExists("sku A-1 exists", metadata={"sku": "A-1"}),
    Conflict(
        "order changed meanwhile",
        metadata={"version": "7"},
        preconditions=[PreconditionViolation("PRICE_CHANGED", "v-1", "from 100 to 120 EUR")],
    ),
    IdempotencyKeyReused("key k-1 was used for another request"),
    FailedPrecondition("order is not paid"),
    Insufficient("not enough stock", [Shortage("sku:A-1", 5, 3), Shortage("sku:B-2", 2, 0)]),
    Gone("cart expired"),
    Unauthenticated("token expired"),
    PermissionDenied("needs catalog:write"),
    Unavailable("database unreachable", retry_after_s=2.5),
    ResourceExhausted("too many failed logins", retry_after_s=4),
    IdempotencyKeyInFlight("the first request is still running", retry_after_s=1.0),
    IdempotentAnswerWithheld("its answer held secrets", metadata={"operation": "auth.X"}),
]


def failed_call(status: grpc.Status) -> grpc.aio.AioRpcError:
    """What a client sees when a server aborts with `status`."""
    return grpc.aio.AioRpcError(
        status.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*status.trailing_metadata),
        details=status.details,
    )


def test_every_domain_error_class_has_a_round_trip_case() -> None:
    classes = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, DomainError) and value is not DomainError
    }
    assert {type(err) for err in ONE_OF_EACH} == classes


@pytest.mark.parametrize("err", ONE_OF_EACH, ids=lambda err: type(err).__name__)
def test_status_carries_the_code_message_and_reason(err: DomainError) -> None:
    status = to_grpc_status(err)
    assert status.code == grpc_code(err)
    assert status.details == err.message
    assert [key for key, _ in status.trailing_metadata] == [DETAILS_KEY]


@pytest.mark.parametrize("err", ONE_OF_EACH, ids=lambda err: type(err).__name__)
def test_domain_error_survives_the_round_trip(err: DomainError) -> None:
    back = domain_error_from_rpc_error(failed_call(to_grpc_status(err)))
    assert type(back) is type(err)
    assert (grpc_code(back), back.reason, back.message, back.metadata) == (
        grpc_code(err),
        err.reason,
        err.message,
        err.metadata,
    )
    assert specific_fields(back) == specific_fields(err)


def specific_fields(err: DomainError) -> dict[str, Any]:
    names = (
        "violations",
        "shortages",
        "preconditions",
        "retry_after_s",
        "resource_type",
        "resource_name",
    )
    return {name: getattr(err, name) for name in names if hasattr(err, name)}


@pytest.mark.parametrize("err", ONE_OF_EACH, ids=lambda err: type(err).__name__)
def test_error_info_is_what_the_gateway_needs_for_problem_json(err: DomainError) -> None:
    info = error_info_from_rpc_error(failed_call(to_grpc_status(err)))
    assert (info.code, info.message, info.reason, info.metadata) == (
        grpc_code(err),
        err.message,
        err.reason,
        err.metadata,
    )
    assert info.violations == getattr(err, "violations", [])
    assert info.shortages == getattr(err, "shortages", [])
    assert info.preconditions == err.preconditions
    assert info.retry_after_s == getattr(err, "retry_after_s", None)


@pytest.mark.parametrize("err", ONE_OF_EACH, ids=lambda err: type(err).__name__)
def test_a_local_error_reads_as_it_would_after_the_round_trip(err: DomainError) -> None:
    assert error_info(err) == error_info_from_rpc_error(failed_call(to_grpc_status(err)))


def test_every_domain_error_class_has_its_grpc_code_in_the_one_table() -> None:
    assert {type(err) for err in ONE_OF_EACH} == set(GRPC_CODE_BY_CLASS)


def test_a_service_error_class_takes_the_code_of_its_nearest_listed_base() -> None:
    class CartChanged(Conflict):
        reason = "CART_CHANGED"

    class CartChangedTwice(CartChanged):
        pass

    assert grpc_code(CartChanged("changed")) == grpc.StatusCode.ABORTED
    assert grpc_code(CartChangedTwice("changed")) == grpc.StatusCode.ABORTED
    assert grpc_code(DomainError("no class of its own")) == grpc.StatusCode.UNKNOWN


def test_an_rpc_failure_keeps_its_own_code() -> None:
    failure = RpcFailure(grpc.StatusCode.UNIMPLEMENTED, "UNIMPLEMENTED", "no such method")
    assert grpc_code(failure) == grpc.StatusCode.UNIMPLEMENTED
    assert to_grpc_status(failure).code == grpc.StatusCode.UNIMPLEMENTED


def test_fractional_retry_delay_is_kept() -> None:
    err = Unavailable("busy", retry_after_s=0.25)
    info = error_info_from_rpc_error(failed_call(to_grpc_status(err)))
    assert info.retry_after_s == pytest.approx(0.25)


def test_transport_failure_without_details_is_named_by_its_code() -> None:
    call = grpc.aio.AioRpcError(
        grpc.StatusCode.DEADLINE_EXCEEDED, grpc.aio.Metadata(), grpc.aio.Metadata(), "Deadline"
    )
    info = error_info_from_rpc_error(call)
    assert (info.reason, info.message, info.violations) == ("DEADLINE_EXCEEDED", "Deadline", [])
    back = domain_error_from_rpc_error(call)
    assert isinstance(back, RpcFailure)
    assert grpc_code(back) == grpc.StatusCode.DEADLINE_EXCEEDED


def test_connection_failure_becomes_unavailable() -> None:
    call = grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "connect failed"
    )
    back = domain_error_from_rpc_error(call)
    assert isinstance(back, Unavailable)
    assert back.message == "connect failed"


def test_reason_unknown_to_the_caller_is_kept_with_the_class_of_its_code() -> None:
    class InvoiceLocked(FailedPrecondition):
        reason = "INVOICE_LOCKED"

    back = domain_error_from_rpc_error(failed_call(to_grpc_status(InvoiceLocked("locked"))))
    assert type(back) is FailedPrecondition
    assert back.reason == "INVOICE_LOCKED"
    assert (
        to_grpc_status(back).trailing_metadata
        == to_grpc_status(InvoiceLocked("locked")).trailing_metadata
    )


def test_raise_for_rpc_error_raises_the_domain_error_chained_to_the_call() -> None:
    call = failed_call(to_grpc_status(NotFound("product", "blue-shoe")))
    with pytest.raises(NotFound) as raised:
        raise_for_rpc_error(call)
    assert raised.value.resource_name == "blue-shoe"
    assert raised.value.__cause__ is call


class SyncFailedCall(grpc.RpcError):
    """What grpc's synchronous API raises: the same accessors, trailers as a tuple."""

    def __init__(self, status: grpc.Status) -> None:
        self._status = status

    def code(self) -> grpc.StatusCode:
        return self._status.code

    def details(self) -> str:
        return self._status.details

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return tuple(self._status.trailing_metadata)


def test_errors_from_the_synchronous_api_are_read_too() -> None:
    err = Insufficient("not enough stock", [Shortage("sku:A-1", 5, 3)])
    info = error_info_from_rpc_error(SyncFailedCall(to_grpc_status(err)))
    assert info.shortages == [Shortage("sku:A-1", 5, 3)]


def test_garbled_details_are_ignored() -> None:
    call = grpc.aio.AioRpcError(
        grpc.StatusCode.INTERNAL,
        grpc.aio.Metadata(),
        grpc.aio.Metadata((DETAILS_KEY, b"\xff\xff not a status")),
        "boom",
    )
    info = error_info_from_rpc_error(call)
    assert (info.code, info.reason, info.message) == (grpc.StatusCode.INTERNAL, "INTERNAL", "boom")
