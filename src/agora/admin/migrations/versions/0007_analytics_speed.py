"""The admin schema: the funnel rollup (orders placed, invoiced and paid per day placed and
currency), filled from the order facts already there; the funnel report reads it instead of
every order fact.

Written by hand and never changed once released: a later change is a new version.
tests/integration/admin/test_admin_schema.py checks the result against tables.py.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_funnel_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("placed", sa.BigInteger, nullable=False),
        sa.Column("invoiced", sa.BigInteger, nullable=False),
        sa.Column("paid", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO analytics_funnel_daily (day, currency, placed, invoiced, paid) "
        "SELECT placed_day, currency, count(*), count(invoiced_at), count(paid_at) "
        "FROM analytics_orders GROUP BY placed_day, currency"
    )


def downgrade() -> None:
    op.drop_table("analytics_funnel_daily")
