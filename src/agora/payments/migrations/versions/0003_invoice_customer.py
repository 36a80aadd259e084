"""Invoices know the customer they are for: the customer may read the invoice in full.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE invoices ADD COLUMN customer_id text NOT NULL DEFAULT ''")


def downgrade() -> None:
    op.drop_column("invoices", "customer_id")
