"""The hand-written migrations build exactly the tables `agora.auth.tables` declares."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agora.auth.tables import metadata


def _drift(conn: Any) -> list[str]:
    context = MigrationContext.configure(
        conn,
        opts={
            "include_schemas": True,
            "compare_server_default": True,
            "include_name": lambda name, kind, parent: kind != "schema" or name == "auth",
            "include_object": lambda obj, name, kind, reflected, other: (
                kind != "table" or name in metadata.tables or f"auth.{name}" in metadata.tables
            ),
        },
    )
    return [repr(diff) for diff in compare_metadata(context, metadata)]


async def test_migrations_build_exactly_the_declared_tables(
    auth_engine: AsyncEngine, database_url: str
) -> None:
    # Compared from outside the schema: under auth's own search_path alembic would take `auth`
    # for the default schema and find none of the declared tables.
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            drift = await conn.run_sync(_drift)
    finally:
        await engine.dispose()
    assert drift == []
