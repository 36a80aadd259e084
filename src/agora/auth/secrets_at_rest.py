"""The secrets auth keeps at rest, all sealed (`agora.platform.security.envelope`): TOTP secrets
(`users.totp_secret`, `users.totp_pending_secret`) and token signing keys
(`signing_keys.private_pem`).

At start the service seals rows still in clear (databases from before sealing: done on first
start rather than in a migration, which has no KEK) and checks that its KEK opens what is stored,
so a wrong KEK stops it at once with a clear message instead of failing logins.
`agora secrets rotate-kek` re-wraps every row under the current KEK with `rewrap_all`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from agora.auth.keys import signing_key_context
from agora.auth.tables import signing_keys, users
from agora.auth.totp import totp_context
from agora.platform.security.envelope import (
    SEALED_PREFIX,
    SecretBox,
    SecretUnreadable,
    is_sealed,
)

_SEALING_LOCK = "agora-auth-sealing"


@dataclass(frozen=True)
class _Column:
    """A column of sealed values, the key of its rows, and what a row's value is sealed for."""

    key: sa.Column[Any]
    column: sa.Column[Any]
    sealed_for: Callable[[str], str]

    @property
    def name(self) -> str:
        return f"{self.column.table.name}.{self.column.name}"

    def context(self, key: object) -> str:
        return self.sealed_for(str(key))


COLUMNS = (
    _Column(users.c.id, users.c.totp_secret, totp_context),
    _Column(users.c.id, users.c.totp_pending_secret, totp_context),
    _Column(signing_keys.c.kid, signing_keys.c.private_pem, signing_key_context),
)


class WrongKek(SecretUnreadable):
    """The configured KEK does not open the secrets in the database: the service cannot start."""


async def _lock(session: AsyncSession) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(_SEALING_LOCK))))


def _stored(column: _Column) -> sa.Select[Any]:
    return sa.select(column.key.label("key"), column.column.label("value")).where(
        column.column.is_not(None)
    )


async def _replace(
    session: AsyncSession, column: _Column, condition: sa.ColumnElement[bool], box: SecretBox
) -> int:
    """Seal (if clear) or re-wrap (if sealed) every value of `column` matching `condition`;
    the rows changed."""
    rows = await session.execute(_stored(column).where(condition).with_for_update())
    changed = 0
    for row in rows.all():
        context = column.context(row.key)
        if is_sealed(row.value):
            value = box.rewrap(row.value, context)
        else:
            value = box.seal(row.value, context)
        await session.execute(
            sa.update(column.column.table)
            .where(column.key == row.key)
            .values({column.column.name: value})
        )
        changed += 1
    return changed


async def seal_clear_rows(session: AsyncSession, box: SecretBox) -> int:
    """Seal the TOTP secrets and private keys still stored in clear; how many."""
    await _lock(session)
    total = 0
    for column in COLUMNS:
        clear = sa.not_(sa.func.starts_with(column.column, SEALED_PREFIX))
        total += await _replace(session, column, clear, box)
    return total


async def rewrap_all(session: AsyncSession, box: SecretBox) -> dict[str, int]:
    """Re-wrap every value not wrapped by the current KEK (sealing any still clear); rows
    changed per column."""
    await _lock(session)
    suffix = ":" + box.current_kek_id
    counts = {}
    for column in COLUMNS:
        other_kek = sa.func.right(column.column, len(suffix)) != suffix
        counts[column.name] = await _replace(session, column, other_kek, box)
    return counts


async def check_readable(session: AsyncSession, box: SecretBox) -> None:
    """WrongKek unless the KEK opens the newest signing key and a TOTP secret (when any)."""
    for column in COLUMNS:
        row = (await session.execute(_stored(column).limit(1))).first()
        if row is None:
            continue
        try:
            box.open(row.value, column.context(row.key))
        except SecretUnreadable as error:
            raise WrongKek(
                f"the key-encryption key does not open the secrets stored in the auth schema "
                f"({column.name}): {error}. Start with the KEK they were "
                "sealed under (AGORA_KEK_FILE)"
            ) from None
