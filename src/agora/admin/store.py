"""Loads and saves pages (SQLAlchemy Core over asyncpg, statements built from `tables.py`).

Decides nothing: the domain has made every decision before a record reaches here. Writes take
the session of the caller's transaction, so the change, its idempotency record and its outbox
event commit together.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.admin.domain import Page
from agora.admin.tables import pages
from agora.platform.errors import NotFound

Db = AsyncConnection | AsyncSession


def _page(row: Any) -> Page:
    return Page(id=row.id, name=row.name, version=row.version, created_at=row.created_at)


async def add_page(session: AsyncSession, page: Page) -> None:
    await session.execute(
        sa.insert(pages).values(
            id=page.id,
            name=page.name,
            version=page.version,
            created_at=page.created_at,
        )
    )


async def page_by_id(db: Db, page_id: str) -> Page:
    row = (await db.execute(sa.select(pages).where(pages.c.id == page_id))).first()
    if row is None:
        raise NotFound("page", page_id)
    return _page(row)
