"""Idempotent mutations: a retried request with the same idempotency key gets the first answer.

The key is claimed inside the caller's transaction, together with the state change and its
outbox event, so all three commit or none does. A concurrent duplicate blocks on the claimed
row until the first call ends: it then sees the stored answer (first call committed) or claims
the key itself (first call failed). Errors are never stored, so a failed call can be retried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
import sqlalchemy as sa
from alembic import op
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora.platform.db import driver_connection, transaction
from agora.platform.errors import IdempotencyKeyReused, InvalidArgument

TABLE = "idempotency_keys"
BY_CREATED_AT = "ix_idempotency_keys_created_at"
MAX_KEY_LENGTH = 200
RETENTION = timedelta(hours=24)
COMPLETED = "completed"

ResponseT = TypeVar("ResponseT", bound=Message)


def _columns() -> list[sa.Column[object]]:
    return [
        # The RPC the key belongs to (`catalog.CreateProduct`): keys are unique per operation.
        sa.Column("operation", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.LargeBinary, nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def create_idempotency_table() -> None:
    """Create `idempotency_keys` in the current schema (call from a migration's `upgrade()`)."""
    op.create_table(TABLE, *_columns())
    op.create_index(BY_CREATED_AT, TABLE, ["created_at"])


def drop_idempotency_table() -> None:
    """Drop `idempotency_keys` (call from a migration's `downgrade()`)."""
    op.drop_index(BY_CREATED_AT, table_name=TABLE)
    op.drop_table(TABLE)


idempotency_keys = sa.Table(TABLE, sa.MetaData(), *_columns())


def request_hash(request: Message) -> bytes:
    """A digest of the request's deterministic serialization (its type name included)."""
    digest = hashlib.sha256(request.DESCRIPTOR.full_name.encode())
    digest.update(b"\0")
    digest.update(request.SerializeToString(deterministic=True))
    return digest.digest()


def require_idempotency_key(key: str) -> str:
    """The key, or INVALID_ARGUMENT naming `idempotencyKey` when it is missing or too long."""
    if not key.strip():
        raise InvalidArgument.for_field("idempotencyKey", "required for this operation")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument.for_field("idempotencyKey", f"at most {MAX_KEY_LENGTH} characters")
    return key


async def run_idempotent(
    session: AsyncSession,
    *,
    operation: str,
    key: str,
    request: Message,
    response_type: type[ResponseT],
    action: Callable[[], Awaitable[ResponseT]],
) -> ResponseT:
    """Run `action` once per (`operation`, `key`) inside the caller's transaction.

    A repeat with the same request returns the stored response of the first call without
    running `action`; a repeat with a different request raises IdempotencyKeyReused.
    """
    require_idempotency_key(key)
    fingerprint = request_hash(request)
    raw = await driver_connection(session)
    if await raw.fetchval(_CLAIM, operation, key, fingerprint) is None:
        return await _stored_response(raw, operation, key, fingerprint, response_type)
    response = await action()
    await raw.execute(_COMPLETE, operation, key, response.SerializeToString())
    return response


# Raw statements (asyncpg's prepared-statement cache): every mutating RPC runs them.
_CLAIM = f"""
    INSERT INTO {TABLE} (operation, key, request_hash, status) VALUES ($1, $2, $3, 'pending')
    ON CONFLICT (operation, key) DO NOTHING RETURNING key
"""
_COMPLETE = f"""
    UPDATE {TABLE} SET response = $3, status = '{COMPLETED}' WHERE operation = $1 AND key = $2
"""
_STORED = f"SELECT request_hash, response FROM {TABLE} WHERE operation = $1 AND key = $2"


async def _stored_response(
    raw: asyncpg.Connection,
    operation: str,
    key: str,
    fingerprint: bytes,
    response_type: type[ResponseT],
) -> ResponseT:
    row = await raw.fetchrow(_STORED, operation, key)
    assert row is not None  # claimed by another transaction that committed: the row is there
    if bytes(row["request_hash"]) != fingerprint:
        raise IdempotencyKeyReused(
            f"idempotency key {key!r} was already used for a different {operation} request",
            metadata={"operation": operation},
        )
    response = response_type()
    response.ParseFromString(bytes(row["response"] or b""))
    return response


async def purge_idempotency_keys(
    session: AsyncSession, *, older_than: timedelta = RETENTION
) -> int:
    """Forget keys older than `older_than` (24 h by default); returns how many were removed."""
    result = await session.execute(
        sa.delete(idempotency_keys).where(
            idempotency_keys.c.created_at < sa.func.now() - older_than
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def idempotent_mutation(
    sessions: async_sessionmaker[AsyncSession],
    *,
    operation: str,
    request: Any,
    response_type: type[ResponseT],
    change: Callable[[AsyncSession], Awaitable[ResponseT]],
) -> ResponseT:
    """The shape of every mutating RPC: one transaction that claims `request.idempotency_key`
    for `operation`, makes the change (which records its events in the same transaction) and
    stores the response; a retry returns the stored response."""
    key = require_idempotency_key(request.idempotency_key)
    async with transaction(sessions) as session:
        return await run_idempotent(
            session,
            operation=operation,
            key=key,
            request=request,
            response_type=response_type,
            action=lambda: change(session),
        )
