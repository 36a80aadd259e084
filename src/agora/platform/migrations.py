"""Alembic migrations per service: scripts in `agora/<service>/migrations`, each service with its
own schema and its own version table (`<schema>.alembic_version`)."""

from __future__ import annotations

import asyncio
import warnings
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from agora.platform.db import ensure_database

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"


def script_location(service: str) -> Path:
    return Path(str(resources.files(f"agora.{service}") / "migrations"))


def alembic_config(service: str, database_url: str) -> Config:
    from alembic.config import Config  # imported here: processes that never migrate skip it

    config = Config()
    config.set_main_option("script_location", str(script_location(service)))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["schema"] = service
    return config


async def _ensure_schema(database_url: str, schema: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            # Two processes migrating at once must not race; the lock ends with the transaction.
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        await engine.dispose()


async def migrate(service: str, database_url: str, revision: str = "head") -> None:
    """Bring `service`'s schema to `revision` (idempotent, safe to run concurrently)."""
    await ensure_database(database_url)
    await _ensure_schema(database_url, service)
    from alembic import command

    config = alembic_config(service, database_url)
    await asyncio.to_thread(command.upgrade, config, revision)


def run_async_migrations(config: Config) -> None:
    """Body of every service's `migrations/env.py`: run Alembic online over asyncpg."""
    from alembic import context

    schema: str = config.attributes["schema"]
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None

    def do_run(connection: object) -> None:
        context.configure(
            connection=connection,  # type: ignore[arg-type]
            target_metadata=None,
            version_table=VERSION_TABLE,
            version_table_schema=schema,
            include_schemas=False,
        )
        with context.begin_transaction():
            context.execute(f"SELECT pg_advisory_xact_lock(hashtext('migrate:{schema}'))")
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(
            url, connect_args={"server_settings": {"search_path": f"{schema},public"}}
        )
        try:
            async with engine.connect() as connection:
                await connection.run_sync(do_run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


# Tables every service schema holds that the platform declares and checks, not the service.
PLATFORM_TABLES = frozenset({"outbox", "inbox", "idempotency_keys", VERSION_TABLE})


async def schema_drift(engine: AsyncEngine, metadata: MetaData) -> list[str]:
    """How the migrated schema differs from `metadata` (a service's `tables.py`), one line per
    difference; empty when the migrations produce exactly the declared tables. The platform's
    own tables (outbox, inbox, idempotency keys) are left out unless `metadata` declares them."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    schema = metadata.schema
    declared = {table.name for table in metadata.tables.values()}

    def include_object(
        item: object, name: str | None, kind: str, reflected: bool, compare_to: object
    ) -> bool:
        if kind == "table":
            return name in declared or name not in PLATFORM_TABLES
        return True

    def compare(connection: Connection) -> list[str]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                # A service's engine has its schema first on the search_path: alembic then
                # reports that schema as the default (None).
                "include_name": lambda name, kind, parent: (
                    kind != "schema" or name in (schema, None)
                ),
                "include_object": include_object,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        with warnings.catch_warnings():
            # Reflected CHECK constraints carry a `dialect_options` key SQLAlchemy 2 cannot
            # validate: a warning of the libraries' pairing, not a difference.
            warnings.filterwarnings("ignore", "Can't validate argument 'dialect_options'")
            return [str(diff) for diff in compare_metadata(context, metadata)]

    # A service's engine puts its schema first on the search_path, where alembic would take
    # it for the default schema: compare through a plain connection, naming the schema.
    plain = create_async_engine(engine.url, poolclass=NullPool)
    try:
        async with plain.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await plain.dispose()
