"""Return requests: a customer asks to send lines of a shipped or delivered order back (the
request is an event of the order; this table shows them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE return_requests (
            id uuid PRIMARY KEY,
            order_id uuid NOT NULL,
            order_version integer NOT NULL,
            customer_id text NOT NULL,
            status text NOT NULL CHECK (status IN ('requested', 'approved', 'rejected')),
            lines jsonb NOT NULL,
            reason text NOT NULL,
            requested_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ix_return_requests_order ON return_requests (order_id, requested_at)")


def downgrade() -> None:
    op.drop_table("return_requests")
