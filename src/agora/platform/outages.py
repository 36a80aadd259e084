"""Which failures are infrastructure outages: the database or the broker not reachable now.

One classification for RPC handling, consumers, the relay and jobs: an outage is retried with
backoff and answered UNAVAILABLE, never dead-lettered nor reported as INTERNAL; it says nothing
about the request or the message in hand (ADR 0003, 0006).
"""

from __future__ import annotations

import asyncpg
import nats.errors
import nats.js.errors
from sqlalchemy import exc as sa

from agora.platform.errors import Unavailable

# asyncpg: the connection is gone, or the server refuses connections while it starts or stops.
DRIVER_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.ClientCannotConnectError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.PostgresConnectionError,
)
# asyncpg's InterfaceError also reports misuse (too many arguments); only these mean "gone".
CLOSED_CONNECTION_TEXT = ("connection is closed", "connection was closed")

# SQLAlchemy, raised by itself (no driver error under it): a pool that cannot hand out a
# connection, or a connection found dead.
POOL_OUTAGES: tuple[type[BaseException], ...] = (
    sa.DisconnectionError,
    sa.TimeoutError,  # no pooled connection came back within pool_timeout
    sa.InterfaceError,
    sa.OperationalError,
)

# nats-py: no server, the connection closed or reconnecting, JetStream not answering.
BROKER_OUTAGES: tuple[type[BaseException], ...] = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.NoServersError,
    nats.errors.StaleConnectionError,
    nats.errors.UnexpectedEOF,
    nats.errors.TimeoutError,
    nats.errors.FlushTimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.NoStreamResponseError,
)

# The standard library's view of a lost peer (asyncpg and nats-py let these through raw). Plain
# OSError too: asyncio reports a refused connect to several addresses as one without an errno.
NETWORK_OUTAGES: tuple[type[BaseException], ...] = (OSError, TimeoutError)
# OSErrors of the local file system: a fault of the code or its setup, not of a peer.
NOT_NETWORK: tuple[type[BaseException], ...] = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)

OUTAGES: tuple[type[BaseException], ...] = (
    Unavailable,
    *DRIVER_OUTAGES,
    *BROKER_OUTAGES,
    *NETWORK_OUTAGES,
)


def is_outage(error: BaseException) -> bool:
    """Whether `error` means "the database or the broker is not reachable now"."""
    if isinstance(error, sa.DBAPIError):
        if error.connection_invalidated:
            return True
        # SQLAlchemy's asyncpg adapter wraps the driver's exception in its own DBAPI class.
        driver = error.orig.__cause__ if error.orig is not None else None
        if driver is not None:
            return is_outage(driver)
        return error.orig is None and isinstance(error, POOL_OUTAGES)
    if isinstance(error, sa.EmulatedDBAPIException) and error.__cause__ is not None:
        return is_outage(error.__cause__)  # raised by the adapter outside a SQLAlchemy call
    if isinstance(error, asyncpg.exceptions.InterfaceError):
        return any(text in str(error) for text in CLOSED_CONNECTION_TEXT)
    if isinstance(error, NOT_NETWORK):
        return False
    return isinstance(error, (*OUTAGES, sa.DisconnectionError, sa.TimeoutError))


def is_database_outage(error: BaseException) -> bool:
    """An outage of PostgreSQL (or of the network to it), not of the broker."""
    return is_outage(error) and not isinstance(error, BROKER_OUTAGES)
