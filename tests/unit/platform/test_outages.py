"""Which failures are outages (retried, never dead-lettered, UNAVAILABLE) and which are not."""

from __future__ import annotations

import asyncpg
import grpc
import nats.errors
import nats.js.errors
import pytest
from sqlalchemy import exc as sa
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

from agora.platform.errors import NotFound, Unavailable
from agora.platform.outages import is_database_outage, is_outage
from agora.platform.rpc.interceptors import _as_domain_error
from agora.platform.rpc.status import grpc_code


def adapted(driver_error: Exception, dbapi_class: type[Exception]) -> Exception:
    """A driver error as SQLAlchemy's asyncpg adapter raises it (the driver's as the cause)."""
    error = dbapi_class(str(driver_error), driver_error)
    error.__cause__ = driver_error
    return error


def wrapped(driver_error: Exception, statement_error: type[sa.DBAPIError]) -> sa.DBAPIError:
    """The same, as a SQLAlchemy statement raises it."""
    orig = adapted(driver_error, AsyncAdapt_asyncpg_dbapi.InterfaceError)
    return statement_error("SELECT 1", {}, orig)


CLOSED = asyncpg.exceptions.InterfaceError("cannot call Connection.fetch(): connection is closed")

OUTAGES: list[BaseException] = [
    # asyncpg
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
    asyncpg.exceptions.ConnectionFailureError(),
    asyncpg.exceptions.ClientCannotConnectError(),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.TooManyConnectionsError(),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CrashShutdownError(),
    CLOSED,
    adapted(CLOSED, AsyncAdapt_asyncpg_dbapi.InterfaceError),
    # SQLAlchemy
    wrapped(CLOSED, sa.InterfaceError),
    wrapped(ConnectionResetError(), sa.OperationalError),
    sa.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
    sa.DisconnectionError(),
    sa.TimeoutError("QueuePool limit reached, connection timed out"),
    # nats-py
    nats.errors.ConnectionClosedError(),
    nats.errors.ConnectionReconnectingError(),
    nats.errors.ConnectionDrainingError(),
    nats.errors.NoServersError(),
    nats.errors.StaleConnectionError(),
    nats.errors.UnexpectedEOF(),
    nats.errors.TimeoutError(),
    nats.errors.FlushTimeoutError(),
    nats.errors.NoRespondersError(),
    nats.errors.OutboundBufferLimitError(),
    nats.js.errors.ServiceUnavailableError(),
    nats.js.errors.NoStreamResponseError(),
    # the network itself, and the platform's own verdict
    ConnectionResetError(),
    ConnectionRefusedError(),
    OSError("Network is unreachable"),
    OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432, 0, 0), ..."),
    TimeoutError(),
    Unavailable("the database is not reachable now"),
]

NOT_OUTAGES: list[BaseException] = [
    ValueError("bad amount"),
    NotFound("order", "o-1"),
    RuntimeError("a bug"),
    asyncpg.exceptions.UniqueViolationError("duplicate key"),
    asyncpg.exceptions.InterfaceError("the number of query arguments cannot exceed 32767"),
    wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key"), sa.IntegrityError),
    wrapped(asyncpg.exceptions.DivisionByZeroError("division by zero"), sa.DataError),
    FileNotFoundError("/etc/agora/key.pem"),
    PermissionError("/var/agora"),
    nats.js.errors.BadRequestError(),
    nats.js.errors.NotFoundError(),
]


@pytest.mark.parametrize("error", OUTAGES, ids=lambda e: type(e).__qualname__)
def test_an_infrastructure_error_is_an_outage(error: BaseException) -> None:
    assert is_outage(error)


@pytest.mark.parametrize("error", NOT_OUTAGES, ids=lambda e: type(e).__qualname__)
def test_a_domain_or_programming_error_is_not_an_outage(error: BaseException) -> None:
    assert not is_outage(error)


def test_a_broker_outage_is_not_a_database_outage() -> None:
    assert not is_database_outage(nats.errors.NoServersError())
    assert is_database_outage(CLOSED)


@pytest.mark.parametrize("error", OUTAGES, ids=lambda e: type(e).__qualname__)
def test_an_rpc_failing_on_an_outage_answers_unavailable_without_internals(
    error: Exception,
) -> None:
    answer = _as_domain_error(error, "/agora.test.v1.Test/Call")

    assert grpc_code(answer) is grpc.StatusCode.UNAVAILABLE
    if not isinstance(error, Unavailable):
        assert type(error).__name__ not in answer.message
        assert "connection" not in answer.message


def test_an_unexpected_error_still_answers_internal() -> None:
    assert grpc_code(_as_domain_error(RuntimeError("a bug"), "/t/T")) is grpc.StatusCode.INTERNAL
