"""Alembic environment of the payments: the platform runs it in the `catalog` schema."""

from alembic import context

from agora.platform.migrations import run_async_migrations

run_async_migrations(context.config)
