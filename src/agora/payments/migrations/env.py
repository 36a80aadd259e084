"""Alembic environment of payments: the platform runs it in the `payments` schema."""

from alembic import context

from agora.platform.migrations import run_async_migrations

run_async_migrations(context.config)
