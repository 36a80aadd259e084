"""The admin schema: the product rollup (paid order lines per day paid, currency and product:
units, orders, amount), filled from the order facts and lines already there; the top products
report sums it instead of joining every paid order's lines.

Written by hand and never changed once released: a later change is a new version.
tests/integration/admin/test_admin_schema.py checks the result against tables.py.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_product_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("product_id", sa.Text, primary_key=True),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Column("orders", sa.BigInteger, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO analytics_product_daily "
        "(day, currency, product_id, units, orders, amount_minor) "
        "SELECT o.paid_day, o.currency, l.product_id, sum(l.quantity), "
        "count(DISTINCT o.order_id), sum(l.amount_minor) "
        "FROM analytics_order_lines l JOIN analytics_orders o ON o.order_id = l.order_id "
        "WHERE o.paid_day IS NOT NULL GROUP BY o.paid_day, o.currency, l.product_id"
    )


def downgrade() -> None:
    op.drop_table("analytics_product_daily")
