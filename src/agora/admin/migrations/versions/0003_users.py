"""The admin schema: user management (2FA resets waiting for a second staff approval).

Written by hand and never changed once released: a later change is a new version.
tests/integration/admin/test_admin_schema.py checks the result against tables.py.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "totp_resets",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=False), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("applied_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_totp_resets_waiting",
        "totp_resets",
        ["user_id", "expires_at"],
        postgresql_where=sa.text("applied_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_totp_resets_waiting", table_name="totp_resets")
    op.drop_table("totp_resets")
