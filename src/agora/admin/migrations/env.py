"""Alembic environment of the admin service: the platform runs it in the `admin` schema."""

from alembic import context

from agora.platform.migrations import run_async_migrations

run_async_migrations(context.config)
