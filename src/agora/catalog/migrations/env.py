"""Alembic environment of the catalog: the platform runs it in the `catalog` schema."""

from alembic import context

from agora.platform.migrations import run_async_migrations

run_async_migrations(context.config)
