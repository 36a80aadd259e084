"""Alembic environment of the chain service: the platform runs it in the `chain` schema."""

from alembic import context

from agora.platform.migrations import run_async_migrations

run_async_migrations(context.config)
