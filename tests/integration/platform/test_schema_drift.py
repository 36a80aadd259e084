"""`schema_drift` compares what migrations built with a service's declared tables."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from agora.platform.db import create_engine, ensure_database
from agora.platform.migrations import schema_drift

DDL = """
CREATE TABLE {schema}.shelves (
    id uuid PRIMARY KEY,
    label text NOT NULL,
    capacity integer NOT NULL
);
CREATE TABLE {schema}.outbox (id bigint PRIMARY KEY);
"""


def declared(schema: str, *, with_capacity: bool = True) -> sa.MetaData:
    metadata = sa.MetaData(schema=schema)
    columns = [
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
    ]
    if with_capacity:
        columns.append(sa.Column("capacity", sa.Integer, nullable=False))
    sa.Table("shelves", metadata, *columns)
    return metadata


@pytest.mark.parametrize("on_search_path", [False, True])
async def test_matching_tables_show_no_drift_and_differences_are_named(
    database_url: str, on_search_path: bool
) -> None:
    await ensure_database(database_url)
    schema = f"drift_{uuid.uuid4().hex[:8]}"
    # A service's own engine has its schema first on the search_path.
    engine = create_engine(database_url, schema if on_search_path else "drift-test")
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
            for statement in DDL.format(schema=schema).split(";"):
                if statement.strip():
                    await connection.execute(sa.text(statement))

        assert await schema_drift(engine, declared(schema)) == []

        drift = await schema_drift(engine, declared(schema, with_capacity=False))
        assert len(drift) == 1
        assert "remove_column" in drift[0]
        assert "capacity" in drift[0]

        extra = declared(schema)
        sa.Table("racks", extra, sa.Column("id", sa.Uuid, primary_key=True))
        drift = await schema_drift(engine, extra)
        assert any("add_table" in line and "racks" in line for line in drift)
    finally:
        await engine.dispose()
