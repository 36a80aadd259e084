"""Database access: async SQLAlchemy 2 over asyncpg, one PostgreSQL schema per service.

A service's engine sets `search_path` to its own schema, so its tables need no schema prefix
and it cannot accidentally read another service's tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import URL, event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from agora.platform.errors import Unavailable
from agora.platform.outages import is_database_outage, is_outage
from agora.platform.settings import to_libpq_url

DATABASE_UNAVAILABLE = "the database is not reachable now"


def create_engine(database_url: str, schema: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine whose connections live in `schema` (then `public`).

    A pooled connection the server closed is never handed out: see `_discard_closed`.
    """
    engine = create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # SQLAlchemy's asyncpg ping is BEGIN, `;`, ROLLBACK: three round trips per checkout.
        # `_discard_closed` catches what the ping would, for none.
        pool_pre_ping=False,
        pool_timeout=10,
        connect_args={
            "server_settings": {"search_path": f"{schema},public", "application_name": schema},
            "timeout": 5,
            # Each service's statements differ by schema; a per-connection cache is enough.
            "statement_cache_size": 256,
        },
    )
    event.listen(engine.sync_engine, "checkout", _discard_closed)
    return engine


def _discard_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection asyncpg knows is closed: the pool then discards it and hands
    out a freshly connected one instead, before the transaction has done anything (the safe
    retry; if PostgreSQL is still down, the connect error is an outage).

    asyncpg notices a server-side close (restart, crash, terminated backend) as soon as the
    event loop reads the socket's end, so after a PostgreSQL restart every idle connection is
    replaced here, whatever path (ORM, Core, raw driver) the work then takes.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: commits on success, rolls back on any error.

    A database outage (the connection lost mid-transaction) invalidates the session's
    connections, so none goes back to the pool; the error goes on to the caller, who classifies
    it with `is_outage`. The work is not retried here: it may have done things outside the
    database.
    """
    async with sessions() as session:
        try:
            async with session.begin():
                yield session
        except Exception as error:
            if is_database_outage(error):
                await session.invalidate()
            raise


async def driver_connection(db: AsyncSession | AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under `db`, inside `db`'s transaction.

    For the hot paths (idempotency keys, inbox, outbox, event store): asyncpg runs a statement
    from its per-connection prepared-statement cache for a fraction of the CPU SQLAlchemy spends
    building and compiling one. SQLAlchemy's asyncpg adapter begins its transaction lazily, at
    the first statement; it is begun here first so raw statements are never autocommitted
    (tests/integration/platform/test_db_driver_connection.py guards this).
    """
    if isinstance(db, AsyncSession):
        # Cached per root transaction: one session's transaction keeps one connection.
        began = db.sync_session.get_transaction()
        cached = db.info.get(_DRIVER)
        if began is not None and cached is not None and cached[0] is began:
            driver: asyncpg.Connection = cached[1]
            return driver
        connection = await db.connection()
    else:
        connection = db
    pooled = await connection.get_raw_connection()
    adapted: Any = pooled.dbapi_connection
    if adapted is None:
        raise RuntimeError("the session's connection is closed")
    if adapted._transaction is None and not adapted.autocommit:
        try:
            await adapted._start_transaction()
        except Exception as error:
            if not is_outage(error):
                raise
            # Closed under us after checkout: never hand this connection out again.
            await connection.invalidate()
            raise Unavailable(DATABASE_UNAVAILABLE) from error
    driver = pooled.driver_connection
    if isinstance(db, AsyncSession):
        db.info[_DRIVER] = (db.sync_session.get_transaction(), driver)
    return driver


_DRIVER = "agora_driver_connection"


async def ensure_database(database_url: str) -> None:
    """Create the URL's database if it does not exist (the embedded server starts empty)."""
    url: URL = make_url(database_url)
    name = url.database or "postgres"
    admin = to_libpq_url(url.set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(admin, timeout=5)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another process may create it concurrently.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
