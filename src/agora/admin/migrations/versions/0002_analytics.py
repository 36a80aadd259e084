"""The admin schema: the analytics read models (facts and rollups fed by events).

Written by hand and never changed once released: a later change is a new version.
tests/integration/admin/test_admin_schema.py checks the result against tables.py.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)
_TABLES = (
    "analytics_conversations",
    "analytics_accounts",
    "analytics_stock",
    "analytics_categories",
    "analytics_products",
    "analytics_rates",
    "analytics_invoices",
    "analytics_daily_sales",
    "analytics_order_lines",
    "analytics_orders",
)


def upgrade() -> None:
    op.create_table(
        "analytics_orders",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("cart_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("pay_currency", sa.Text, nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("invoice_id", sa.Text, nullable=False),
        sa.Column("placed_at", _TS, nullable=False),
        sa.Column("placed_day", sa.Date, nullable=False),
        sa.Column("invoiced_at", _TS),
        sa.Column("paid_at", _TS),
        sa.Column("paid_day", sa.Date),
        sa.Column("refunded_minor", sa.BigInteger, nullable=False),
    )
    op.create_index("analytics_orders_paid_day", "analytics_orders", ["paid_day"])
    op.create_index("analytics_orders_placed_day", "analytics_orders", ["placed_day"])
    op.create_index("analytics_orders_customer", "analytics_orders", ["customer_id", "paid_day"])
    op.create_table(
        "analytics_order_lines",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("variant_id", sa.Text, nullable=False),
        sa.Column("product_id", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "analytics_daily_sales",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("orders_placed", sa.BigInteger, nullable=False),
        sa.Column("orders_paid", sa.BigInteger, nullable=False),
        sa.Column("revenue_minor", sa.BigInteger, nullable=False),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Column("refunds", sa.BigInteger, nullable=False),
        sa.Column("refunded_minor", sa.BigInteger, nullable=False),
        sa.Column("returns_requested", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "analytics_invoices",
        sa.Column("invoice_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("pay_currency", sa.Text, nullable=False),
        sa.Column("price_currency", sa.Text, nullable=False),
        sa.Column("price_minor", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_admin_analytics_invoices_order_id", "analytics_invoices", ["order_id"])
    op.create_table(
        "analytics_rates",
        sa.Column("base", sa.Text, primary_key=True),
        sa.Column("quote", sa.Text, primary_key=True),
        sa.Column("as_of", _TS, primary_key=True),
        sa.Column("rate", sa.Text, nullable=False),
    )
    op.create_table(
        "analytics_products",
        sa.Column("product_id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("category_id", sa.Text, nullable=False),
    )
    op.create_table(
        "analytics_categories",
        sa.Column("category_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    op.create_table(
        "analytics_stock",
        sa.Column("variant_id", sa.Text, primary_key=True),
        sa.Column("product_id", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("on_hand", sa.BigInteger, nullable=False),
        sa.Column("reserved", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "analytics_accounts",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("registered_day", sa.Date, nullable=False),
    )
    op.create_index(
        "ix_admin_analytics_accounts_registered_day", "analytics_accounts", ["registered_day"]
    )
    op.create_table(
        "analytics_conversations",
        sa.Column("conversation_id", sa.Text, primary_key=True),
        sa.Column("started_day", sa.Date),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("answered", sa.Boolean, nullable=False),
        sa.Column("time_to_first_answer_ms", sa.BigInteger, nullable=False),
        sa.Column("handed_over", sa.Boolean, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("resolved_by_assistant", sa.Boolean, nullable=False),
    )
    op.create_index(
        "ix_admin_analytics_conversations_started_day",
        "analytics_conversations",
        ["started_day"],
    )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
