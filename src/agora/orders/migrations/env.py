"""Alembic environment of the orders: the platform runs it in the `orders` schema."""

from alembic import context

from agora.platform.migrations import run_async_migrations

run_async_migrations(context.config)
