"""Fresh databases for the seed tool's tests: each migrated like `agora migrate` does."""

from __future__ import annotations

import uuid

import asyncpg
from sqlalchemy import make_url

from agora.platform.db import ensure_database
from agora.platform.migrations import migrate
from agora.platform.settings import to_libpq_url
from agora.seed.runner import SERVICES

SEEDED_SCHEMAS = ("auth", "catalog", "orders", "payments", "support")


def fresh_database_url(database_url: str) -> str:
    """A new database's URL on the same server as `database_url`."""
    name = f"seed_{uuid.uuid4().hex[:12]}"
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


async def migrated_database(database_url: str) -> str:
    """A fresh database with every service's schema at head."""
    url = fresh_database_url(database_url)
    await ensure_database(url)
    for service in SERVICES:
        await migrate(service, url)
    return url


async def dump(database_url: str) -> dict[str, list[str]]:
    """Every row of every service table (bookkeeping tables aside, and the outbox, whose seeded
    events get fresh ids in every run and leave once published), as text, sorted."""
    conn = await asyncpg.connect(to_libpq_url(database_url))
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE'"
            " AND table_name NOT IN ('alembic_version', 'outbox') ORDER BY 1, 2",
            list(SEEDED_SCHEMAS),
        )
        found = {}
        for t in tables:
            name = f'"{t["table_schema"]}"."{t["table_name"]}"'
            rows = await conn.fetch(f"SELECT t::text AS row FROM {name} t ORDER BY 1")
            found[name] = [r["row"] for r in rows]
        return found
    finally:
        await conn.close()


async def count(database_url: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(to_libpq_url(database_url))
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def execute(database_url: str, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(to_libpq_url(database_url))
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()
