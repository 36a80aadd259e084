"""gRPC errors become RFC 9457 problems with the right HTTP status and members."""

from __future__ import annotations

import grpc
import orjson
import pytest

from agora.gateway.problem import (
    PROBLEM_CONTENT_TYPE,
    EdgeProblem,
    problem_from_domain_error,
    problem_from_error_info,
    problem_from_rpc_error,
)
from agora.platform.errors import (
    Conflict,
    DomainError,
    FieldViolation,
    Gone,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IdempotentAnswerWithheld,
    Insufficient,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
    ResourceExhausted,
    Shortage,
    Unavailable,
)
from agora.platform.rpc.status import ErrorInfo, to_grpc_status


@pytest.mark.parametrize(
    ("code", "reason", "status"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", 400),
        (grpc.StatusCode.NOT_FOUND, "NOT_FOUND", 404),
        (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS", 409),
        (grpc.StatusCode.ABORTED, "CONFLICT", 409),
        (grpc.StatusCode.FAILED_PRECONDITION, "FAILED_PRECONDITION", 400),
        (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT", 409),
        (grpc.StatusCode.FAILED_PRECONDITION, "EXPIRED", 410),
        (grpc.StatusCode.FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED", 422),
        (grpc.StatusCode.ABORTED, "IDEMPOTENCY_KEY_IN_FLIGHT", 409),
        (grpc.StatusCode.FAILED_PRECONDITION, "IDEMPOTENT_ANSWER_WITHHELD", 409),
        (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", 401),
        (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED", 403),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", 429),
        (grpc.StatusCode.UNIMPLEMENTED, "UNIMPLEMENTED", 501),
        (grpc.StatusCode.INTERNAL, "INTERNAL", 500),
        (grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE", 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", 504),
    ],
)
def test_status_follows_reason_then_code(code: grpc.StatusCode, reason: str, status: int) -> None:
    problem = problem_from_error_info(ErrorInfo(code=code, message="m", reason=reason))

    assert problem.status == status
    assert problem.body()["code"] == code.name
    assert problem.body()["reason"] == reason


@pytest.mark.parametrize(
    ("err", "status"),
    [
        (InvalidArgument("bad"), 400),
        (NotFound("product", "tea"), 404),
        (IdempotencyKeyReused("another request"), 422),
        (Insufficient("short", [Shortage("SKU-1", 3, 1)]), 409),
        (Gone("cart expired"), 410),
        (Unavailable("down", retry_after_s=2.5), 503),
        (ResourceExhausted("locked", retry_after_s=4), 429),
        (IdempotencyKeyInFlight("still running"), 409),
        (IdempotentAnswerWithheld("held secrets"), 409),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, DomainError) else str(value),
)
def test_a_backend_error_answers_the_same_status_as_one_raised_at_the_edge(
    err: DomainError, status: int
) -> None:
    status_of_call = to_grpc_status(err)
    call = grpc.aio.AioRpcError(
        status_of_call.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*status_of_call.trailing_metadata),
        details=status_of_call.details,
    )

    assert problem_from_rpc_error(call).body() == problem_from_domain_error(err).body()
    assert problem_from_domain_error(err).status == status


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_backends_that_cannot_answer_now_say_when_to_retry(code: grpc.StatusCode) -> None:
    response = problem_from_error_info(ErrorInfo(code=code, message="m", reason=code.name))

    assert response.response().headers["retry-after"] == "1"


def test_retry_info_from_the_backend_rounds_up_to_whole_seconds() -> None:
    problem = problem_from_domain_error(Unavailable("busy", retry_after_s=2.2))

    assert problem.retry_after_s == 3


def test_client_errors_carry_no_retry_after() -> None:
    response = problem_from_domain_error(NotFound("product", "tea")).response()

    assert "retry-after" not in response.headers


def test_field_violations_and_shortages_are_listed() -> None:
    invalid = problem_from_domain_error(
        InvalidArgument("bad", [FieldViolation("prices[0].amount", "must be positive")])
    )
    short = problem_from_domain_error(Insufficient("short", [Shortage("SKU-1", 3, 1)]))

    assert invalid.body()["errors"] == [
        {"field": "prices[0].amount", "description": "must be positive"}
    ]
    assert "shortages" not in invalid.body()
    assert short.body()["shortages"] == [{"subject": "SKU-1", "requested": 3, "available": 1}]


def test_unmet_preconditions_are_listed_by_type_and_subject() -> None:
    changed = Conflict(
        "the cart changed",
        preconditions=[
            PreconditionViolation("PRICE_CHANGED", "v-1", "price changed from 100 to 120 EUR"),
            PreconditionViolation("NOT_FOR_SALE", "v-2", "no longer for sale"),
        ],
    )

    body = problem_from_domain_error(changed).body()

    assert body["status"] == 409
    assert body["preconditions"] == [
        {
            "type": "PRICE_CHANGED",
            "subject": "v-1",
            "description": "price changed from 100 to 120 EUR",
        },
        {"type": "NOT_FOR_SALE", "subject": "v-2", "description": "no longer for sale"},
    ]
    assert "preconditions" not in problem_from_domain_error(Conflict("changed")).body()


def test_the_body_is_problem_json_with_type_title_and_request_id() -> None:
    response = problem_from_domain_error(NotFound("product", "tea"), "req-1").response()

    body = orjson.loads(response.body)
    assert response.media_type == PROBLEM_CONTENT_TYPE
    assert response.status_code == 404
    assert body["type"] == "urn:agora:problem:not-found"
    assert body["title"] == "Not Found"
    assert body["detail"] == "product 'tea' not found"
    assert body["requestId"] == "req-1"


def test_an_internal_problem_reveals_nothing() -> None:
    body = EdgeProblem.INTERNAL.problem("r").body()

    assert body["status"] == 500
    assert body["detail"] == "The server could not handle the request."


def test_an_edge_problem_fills_its_detail_and_headers_from_the_request() -> None:
    refused = EdgeProblem.METHOD_NOT_ALLOWED.problem("r", method="PUT", path="/v1/x", allowed="GET")

    assert (refused.status, refused.code, refused.reason) == (
        405,
        "UNIMPLEMENTED",
        "METHOD_NOT_ALLOWED",
    )
    assert refused.detail == "PUT is not allowed on /v1/x; allowed: GET."
    assert refused.headers == {"Allow": "GET"}


def test_a_rate_limit_says_when_to_retry_in_its_detail_and_header() -> None:
    response = EdgeProblem.RATE_LIMITED.response("r", retry_after_s=7)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert orjson.loads(response.body)["detail"] == "Too many requests; try again in 7 s."


def test_two_edge_problems_may_share_a_reason_but_never_an_answer() -> None:
    answers = [edge.value for edge in EdgeProblem]

    assert len(set(answers)) == len(answers)
