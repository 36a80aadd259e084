"""Loads and saves 2FA resets waiting for approval (statements built from `users_tables.py`).
Decides nothing: `users.py` has decided before a record reaches here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.admin.users import TotpReset
from agora.admin.users_tables import totp_resets
from agora.platform.errors import NotFound

Db = AsyncConnection | AsyncSession
_COLUMNS = (
    "id",
    "user_id",
    "reason",
    "requested_by",
    "requested_at",
    "expires_at",
    "approved_by",
    "applied_at",
)


def _reset(row: Any) -> TotpReset:
    return TotpReset(**{name: row._mapping[name] for name in _COLUMNS})


async def add_reset(session: AsyncSession, reset: TotpReset) -> None:
    await session.execute(
        sa.insert(totp_resets).values(**{name: getattr(reset, name) for name in _COLUMNS})
    )


async def reset_by_id(session: AsyncSession, reset_id: str) -> TotpReset:
    """The reset, locked for the caller's transaction: approvals of one reset queue up."""
    found = (
        await session.execute(
            sa.select(totp_resets).where(totp_resets.c.id == reset_id).with_for_update()
        )
    ).first()
    if found is None:
        raise NotFound("totp reset", reset_id)
    return _reset(found)


async def waiting_reset(db: Db, user_id: str, now: datetime) -> TotpReset | None:
    """The account's reset still waiting for approval, if any."""
    found = (
        await db.execute(
            sa.select(totp_resets)
            .where(
                totp_resets.c.user_id == user_id,
                totp_resets.c.applied_at.is_(None),
                totp_resets.c.expires_at > now,
            )
            .order_by(totp_resets.c.requested_at)
            .limit(1)
        )
    ).first()
    return _reset(found) if found else None


async def waiting_resets(
    db: Db, now: datetime, limit: int, after: tuple[datetime, str] | None = None
) -> list[TotpReset]:
    """Resets waiting for approval, oldest first: at most `limit`, from the one after `after`
    (a reset's requested_at and id)."""
    statement = sa.select(totp_resets).where(
        totp_resets.c.applied_at.is_(None), totp_resets.c.expires_at > now
    )
    if after is not None:
        statement = statement.where(sa.tuple_(totp_resets.c.requested_at, totp_resets.c.id) > after)
    rows = await db.execute(
        statement.order_by(totp_resets.c.requested_at, totp_resets.c.id).limit(limit)
    )
    return [_reset(row) for row in rows]


async def save_approval(session: AsyncSession, reset: TotpReset) -> None:
    await session.execute(
        sa.update(totp_resets)
        .where(totp_resets.c.id == reset.id)
        .values(approved_by=reset.approved_by, applied_at=reset.applied_at)
    )


async def close_waiting(session: AsyncSession, applied: TotpReset) -> None:
    """Mark the account's waiting resets done by `applied` (an administrator's direct reset)."""
    await session.execute(
        sa.update(totp_resets)
        .where(
            totp_resets.c.user_id == applied.user_id,
            totp_resets.c.applied_at.is_(None),
        )
        .values(approved_by=applied.approved_by, applied_at=applied.applied_at)
    )
