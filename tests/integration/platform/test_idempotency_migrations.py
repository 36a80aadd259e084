"""Every service's second migration scopes its idempotency keys (issue 8, finding 2): the key's
primary key gains `scope_hash`, and going back restores the first shape."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from agora.platform.db import create_engine
from agora.platform.migrations import alembic_config, migrate

SERVICES = ["auth", "catalog", "orders", "payments"]


async def primary_key(database_url: str, schema: str) -> list[str]:
    engine = create_engine(database_url, schema)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT a.attname FROM pg_index i "
                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                    "WHERE i.indrelid = (:schema || '.idempotency_keys')::regclass "
                    "AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)"
                ),
                {"schema": schema},
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_the_idempotency_key_is_scoped_at_head_and_unscoped_at_0001(
    database_url: str, service: str
) -> None:
    from alembic import command

    head, _, _ = database_url.rpartition("/")
    url = f"{head}/idem_migrations_{uuid.uuid4().hex[:8]}"
    await migrate(service, url)
    assert await primary_key(url, service) == ["operation", "scope_hash", "key"]

    await asyncio.to_thread(command.downgrade, alembic_config(service, url), "0001")
    assert await primary_key(url, service) == ["operation", "key"]

    await migrate(service, url)
    assert await primary_key(url, service) == ["operation", "scope_hash", "key"]
