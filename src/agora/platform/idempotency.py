"""Idempotent mutations: a retried request with the same idempotency key gets the first answer.

A key belongs to a scope, never to everyone: the calling user (by id), the calling service, or,
for a guest, the capability the guest acts on (the cart token, the guest order's id, the
invoice id). Only a digest of the scope is stored, never the capability itself. A guest with
nothing to act on (creating a cart, registering) shares one scope with every other guest, so
their key must be unguessable: a UUID. Users and services may use any key up to
MAX_KEY_LENGTH (as Stripe does): their scope is theirs alone, so a guessed key reaches only the
guesser's own answers, and services derive keys from their own ids (`orders:{id}:invoice`) so
that a redelivered event repeats nothing.

The key is claimed inside the caller's transaction, together with the state change and its
outbox event, so all three commit or none does. While the first request holds the key (a
transaction-scoped advisory lock on the key's digest), a duplicate is answered at once with
IDEMPOTENCY_KEY_IN_FLIGHT rather than waiting; once it committed, a duplicate gets the stored
answer after the authorization check of `authorize_replay` runs again (the caller may have lost
access since); a different request under the same key gets IDEMPOTENCY_KEY_REUSED. Errors are
never stored, so a failed call can be retried. Answers holding secrets (recovery codes, a TOTP
secret, tokens) are not stored at all: a repeat is refused with IDEMPOTENT_ANSWER_WITHHELD and
the operation's explanation of what to do instead.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
import sqlalchemy as sa
from alembic import op
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora.platform.db import driver_connection, transaction
from agora.platform.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IdempotentAnswerWithheld,
    InvalidArgument,
)
from agora.platform.security.principal import Principal, current_principal

TABLE = "idempotency_keys"
BY_CREATED_AT = "ix_idempotency_keys_created_at"
MAX_KEY_LENGTH = 200
RETENTION = timedelta(hours=24)
COMPLETED = "completed"
WITHHELD = "withheld"
IN_FLIGHT_RETRY_AFTER_S = 1.0

ResponseT = TypeVar("ResponseT", bound=Message)
# Re-checks, on a replay, that the caller may still see what the first call did.
AuthorizeReplay = Callable[[AsyncSession], Awaitable[None]]


# --- scopes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capability:
    """What a guest acts on, whose holder alone may act: `Capability("cart", token)`."""

    kind: str
    value: str


@dataclass(frozen=True)
class KeyScope:
    """Whose keys these are. `digest` is what is stored; the scope's text never is."""

    digest: bytes
    needs_unguessable_key: bool


def key_scope(principal: Principal, *, guest_capability: Capability | None) -> KeyScope:
    """The scope of `principal`'s keys: the user or the service itself; for a guest, the
    capability they act on, or (None: nothing to act on) all guests, whose keys must be UUIDs."""
    if principal.is_authenticated:
        return _scope(f"{principal.kind}\0{principal.subject}", needs_unguessable_key=False)
    if guest_capability is not None and guest_capability.value:
        capability = f"guest\0{guest_capability.kind}\0{guest_capability.value}"
        return _scope(capability, needs_unguessable_key=False)
    return _scope("guest", needs_unguessable_key=True)


def _scope(text: str, *, needs_unguessable_key: bool) -> KeyScope:
    return KeyScope(hashlib.sha256(text.encode()).digest(), needs_unguessable_key)


# --- keys and requests -----------------------------------------------------------------------


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


def require_unguessable_key(key: str) -> str:
    """The key if it is a UUID in its canonical text (any version but the nil and max UUIDs),
    else INVALID_ARGUMENT naming `idempotencyKey`: a guest's key is all that keeps another
    guest from replaying it."""
    require_idempotency_key(key)
    try:
        parsed = uuid.UUID(key)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != key.lower() or parsed.int in (0, 2**128 - 1):
        raise InvalidArgument.for_field(
            "idempotencyKey", "must be a random UUID (such as 1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b)"
        )
    return key


def lock_id(operation: str, scope: KeyScope, key: str) -> int:
    """The advisory lock (a signed 64-bit number) that a request holds on its key."""
    digest = hashlib.sha256(operation.encode() + b"\0" + scope.digest + key.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# --- the table -------------------------------------------------------------------------------


def _columns(*, scoped: bool = True) -> list[sa.Column[object]]:
    scope: list[sa.Column[object]] = (
        [sa.Column("scope_hash", sa.LargeBinary, primary_key=True)] if scoped else []
    )
    return [
        # The RPC the key belongs to (`catalog.CreateProduct`): keys are unique per operation.
        sa.Column("operation", sa.Text, primary_key=True),
        # sha256 of whose key it is (see `key_scope`): never the cart token itself.
        *scope,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.LargeBinary, nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def create_idempotency_table(*, scoped: bool = True) -> None:
    """Create `idempotency_keys` in the current schema (call from a migration's `upgrade()`).

    `scoped=False` is the first shape, keyed on (operation, key) alone, which the services'
    first migrations created and their second replaces."""
    op.create_table(TABLE, *_columns(scoped=scoped))
    op.create_index(BY_CREATED_AT, TABLE, ["created_at"])


def drop_idempotency_table() -> None:
    """Drop `idempotency_keys` (call from a migration's `downgrade()`)."""
    op.drop_index(BY_CREATED_AT, table_name=TABLE)
    op.drop_table(TABLE)


def replace_idempotency_table(*, scoped: bool = True) -> None:
    """Recreate `idempotency_keys` in another shape, forgetting the keys it held: they are kept
    for 24 h only, so a client retrying across the change repeats its request at worst once."""
    drop_idempotency_table()
    create_idempotency_table(scoped=scoped)


idempotency_keys = sa.Table(TABLE, sa.MetaData(), *_columns())


# --- running a mutation once -----------------------------------------------------------------


async def run_idempotent(
    session: AsyncSession,
    *,
    operation: str,
    scope: KeyScope,
    key: str,
    request: Message,
    response_type: type[ResponseT],
    action: Callable[[], Awaitable[ResponseT]],
    authorize_replay: AuthorizeReplay | None,
    secret_answer: str | None = None,
) -> ResponseT:
    """Run `action` once per (`operation`, `scope`, `key`) inside the caller's transaction.

    A repeat with the same request runs `authorize_replay` (None: the interceptor's permission
    check, which every call passes, is all the authorization there is) and returns the stored
    response of the first call without running `action`; a repeat with a different request
    raises IdempotencyKeyReused; a repeat while the first call runs raises
    IdempotencyKeyInFlight. `secret_answer` marks an answer holding secrets: it is not stored,
    and a repeat raises IdempotentAnswerWithheld with `secret_answer` as its message.
    """
    if scope.needs_unguessable_key:
        require_unguessable_key(key)
    else:
        require_idempotency_key(key)
    fingerprint = request_hash(request)
    raw = await driver_connection(session)
    if not await raw.fetchval(_LOCK, lock_id(operation, scope, key)):
        raise IdempotencyKeyInFlight(
            "the first request with this idempotency key is still running: retry shortly",
            retry_after_s=IN_FLIGHT_RETRY_AFTER_S,
            metadata={"operation": operation},
        )
    if await raw.fetchval(_CLAIM, operation, scope.digest, key, fingerprint) is None:
        if authorize_replay is not None:
            await authorize_replay(session)
        stored = await _stored_response(raw, operation, scope, key, fingerprint, response_type)
        if stored is None:
            raise IdempotentAnswerWithheld(
                secret_answer or _WITHHELD_DEFAULT, metadata={"operation": operation}
            )
        return stored
    response = await action()
    if secret_answer is not None:
        await raw.execute(_COMPLETE, operation, scope.digest, key, None, WITHHELD)
    else:
        await raw.execute(
            _COMPLETE, operation, scope.digest, key, response.SerializeToString(), COMPLETED
        )
    return response


# Raw statements (asyncpg's prepared-statement cache): every mutating RPC runs them.
_LOCK = "SELECT pg_try_advisory_xact_lock($1::bigint)"
_CLAIM = f"""
    INSERT INTO {TABLE} (operation, scope_hash, key, request_hash, status)
    VALUES ($1, $2, $3, $4, 'pending')
    ON CONFLICT (operation, scope_hash, key) DO NOTHING RETURNING key
"""
_COMPLETE = f"""
    UPDATE {TABLE} SET response = $4, status = $5
    WHERE operation = $1 AND scope_hash = $2 AND key = $3
"""
_STORED = f"""
    SELECT request_hash, response, status FROM {TABLE}
    WHERE operation = $1 AND scope_hash = $2 AND key = $3
"""


async def _stored_response(
    raw: asyncpg.Connection,
    operation: str,
    scope: KeyScope,
    key: str,
    fingerprint: bytes,
    response_type: type[ResponseT],
) -> ResponseT | None:
    """The first call's answer (None when it was withheld: it held secrets)."""
    row = await raw.fetchrow(_STORED, operation, scope.digest, key)
    assert row is not None  # claimed by a transaction that committed (we hold its lock now)
    if bytes(row["request_hash"]) != fingerprint:
        raise IdempotencyKeyReused(
            "this idempotency key was already used for a different request: use a new key",
            metadata={"operation": operation},
        )
    if row["status"] == WITHHELD:
        return None
    response = response_type()
    response.ParseFromString(bytes(row["response"] or b""))
    return response


_WITHHELD_DEFAULT = (
    "this request was already done; its answer held secrets, which are not kept: "
    "nothing was repeated"
)


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
    guest_capability: Capability | None,
    authorize_replay: AuthorizeReplay | None,
    secret_answer: str | None = None,
) -> ResponseT:
    """The shape of every mutating RPC: one transaction that claims `request.idempotency_key`
    for `operation` in the current caller's scope, makes the change (which records its events
    in the same transaction) and stores the response; a retry returns the stored response.

    Both scope arguments are required so that no call site forgets them:
    `guest_capability` is what an anonymous caller acts on (None: nothing, the key must then
    be a UUID); `authorize_replay` re-runs, on a replay, the ownership check that `change`
    makes (None where the permission check of the interceptor is the only one).
    `secret_answer`: see `run_idempotent`.
    """
    scope = key_scope(current_principal(), guest_capability=guest_capability)
    async with transaction(sessions) as session:
        return await run_idempotent(
            session,
            operation=operation,
            scope=scope,
            key=request.idempotency_key,
            request=request,
            response_type=response_type,
            action=lambda: change(session),
            authorize_replay=authorize_replay,
            secret_answer=secret_answer,
        )
