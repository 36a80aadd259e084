"""Loads and saves supports (SQLAlchemy Core over asyncpg, statements built from `tables.py`).

Decides nothing: the domain has made every decision before a record reaches here. Writes take
the session of the caller's transaction, so the change, its idempotency record and its outbox
event commit together.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.platform.errors import NotFound
from agora.support.domain import Support
from agora.support.tables import supports

Db = AsyncConnection | AsyncSession


def _support(row: Any) -> Support:
    return Support(id=row.id, name=row.name, version=row.version, created_at=row.created_at)


async def add_support(session: AsyncSession, support: Support) -> None:
    await session.execute(
        sa.insert(supports).values(
            id=support.id,
            name=support.name,
            version=support.version,
            created_at=support.created_at,
        )
    )


async def support_by_id(db: Db, support_id: str) -> Support:
    row = (await db.execute(sa.select(supports).where(supports.c.id == support_id))).first()
    if row is None:
        raise NotFound("support", support_id)
    return _support(row)
