"""Alembic environment of the support service: the platform runs it in the `support` schema."""

from alembic import context

from agora.platform.migrations import run_async_migrations

run_async_migrations(context.config)
