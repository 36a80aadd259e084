"""Guest orders are reached with an access token given at checkout: only its SHA-256 is kept
(a retried checkout is given a token of its own, so an order may have several).

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
    op.execute(
        "CREATE TABLE order_access ("
        " order_id uuid NOT NULL, token_sha256 bytea NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (order_id, token_sha256))"
    )


def downgrade() -> None:
    op.drop_table("order_access")
