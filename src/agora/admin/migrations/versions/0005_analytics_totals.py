"""The admin schema: each order fact's totals as placed (subtotal, shipping, tax and its rate),
and each variant's price list, for the tax and inventory reports.

Written by hand and never changed once released: a later change is a new version.
tests/integration/admin/test_admin_schema.py checks the result against tables.py.

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

_ZERO = sa.text("0")


def upgrade() -> None:
    for name in ("subtotal_minor", "shipping_minor", "tax_minor"):
        op.add_column(
            "analytics_orders",
            sa.Column(name, sa.BigInteger, nullable=False, server_default=_ZERO),
        )
    op.add_column(
        "analytics_orders",
        sa.Column("tax_rate_bp", sa.Integer, nullable=False, server_default=_ZERO),
    )
    op.add_column(
        "analytics_orders",
        sa.Column(
            "prices_include_tax", sa.Boolean, nullable=False, server_default=sa.text("false")
        ),
    )
    op.create_table(
        "analytics_prices",
        sa.Column("variant_id", sa.Text, primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("analytics_prices")
    for name in (
        "prices_include_tax",
        "tax_rate_bp",
        "tax_minor",
        "shipping_minor",
        "subtotal_minor",
    ):
        op.drop_column("analytics_orders", name)
