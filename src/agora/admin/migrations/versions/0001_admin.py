"""The admin schema: the outbox and inbox; idempotency keys.

Written by hand and never changed once released: a later change is a new version.
tests/integration/admin/test_admin_schema.py checks the result against tables.py.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from agora.platform.bus.schema import create_bus_tables, drop_bus_tables
from agora.platform.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_bus_tables()
    create_idempotency_table(scoped=True)


def downgrade() -> None:
    drop_idempotency_table()
    drop_bus_tables()
