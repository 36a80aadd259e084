"""The catalog's hand-written migrations produce exactly the tables declared in `tables.py`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agora.catalog.tables import SCHEMA, metadata


def _drift(connection: sa.Connection, target: sa.MetaData) -> list[str]:
    declared = {table.name for table in target.tables.values()}

    def include_name(name: str | None, type_: str, parents: dict[str, Any]) -> bool:
        if type_ == "schema":
            return name == SCHEMA
        return type_ != "table" or name in declared

    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": include_name,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    return [repr(diff) for diff in compare_metadata(context, target)]


async def test_the_migrated_schema_is_the_declared_one(
    catalog_engine: AsyncEngine, database_url: str
) -> None:
    # Outside the catalog's search_path, so reflected foreign keys name their schema.
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            drift = await connection.run_sync(_drift, metadata)
    finally:
        await engine.dispose()
    assert drift == []
