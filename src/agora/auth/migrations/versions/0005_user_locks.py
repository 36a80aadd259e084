"""Auth: accounts locked by staff (`locked_at`, `locked_reason`), and an index on the audit
log's target, for a resource's audit trail (an account's, an order's).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("locked_at", sa.DateTime(timezone=True)))
    op.add_column(
        "users", sa.Column("locked_reason", sa.Text, nullable=False, server_default=sa.text("''"))
    )
    op.execute(
        "CREATE INDEX ix_audit_log_target "
        "ON audit_log (target_type, target_id, occurred_at DESC, id DESC)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_audit_log_target")
    op.drop_column("users", "locked_reason")
    op.drop_column("users", "locked_at")
