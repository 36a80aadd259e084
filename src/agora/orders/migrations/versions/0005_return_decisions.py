"""Return decisions: staff's reason and time, and who decided, kept on the return request so its
customer sees why (requests decided before keep the time of their last change and no reason).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE return_requests
            ADD COLUMN decision_reason text NOT NULL DEFAULT '',
            ADD COLUMN decided_by text NOT NULL DEFAULT '',
            ADD COLUMN decided_at timestamptz
        """
    )
    op.execute("UPDATE return_requests SET decided_at = updated_at WHERE status <> 'requested'")
    op.execute(
        "ALTER TABLE return_requests ADD CONSTRAINT return_requests_decided_check"
        " CHECK ((status = 'requested') = (decided_at IS NULL))"
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE return_requests
            DROP CONSTRAINT return_requests_decided_check,
            DROP COLUMN decision_reason,
            DROP COLUMN decided_by,
            DROP COLUMN decided_at
        """
    )
