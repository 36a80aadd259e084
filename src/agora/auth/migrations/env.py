"""Alembic environment of auth: the platform runs it in the `auth` schema."""

from alembic import context

from agora.platform.migrations import run_async_migrations

run_async_migrations(context.config)
