"""Loads and saves the chain service's records (SQLAlchemy Core over asyncpg, statements built
from `tables.py`). Decides nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Db = AsyncConnection | AsyncSession
