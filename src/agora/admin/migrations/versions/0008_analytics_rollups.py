"""The admin schema: the product rollup (paid order lines per day paid, currency and product:
units, orders, amount) and the customer rollups (each customer's first paid day; paying and new
customers per day; customers per first paid day and month they paid in) and the payment method
rollup's two halves (ORDERS' and PAYMENTS'), filled from the order facts, lines and invoices
already there (the whole join in ORDERS' half); the top products, customers and payment
methods reports read them instead of every paid order.

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

    op.create_table(
        "analytics_customer_first_paid",
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("first_day", sa.Date, nullable=False),
    )
    op.execute(
        "INSERT INTO analytics_customer_first_paid (customer_id, first_day) "
        "SELECT customer_id, min(paid_day) FROM analytics_orders "
        "WHERE paid_day IS NOT NULL AND customer_id <> '' GROUP BY customer_id"
    )
    op.create_table(
        "analytics_customer_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("customers", sa.BigInteger, nullable=False),
        sa.Column("new_customers", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO analytics_customer_daily (day, customers, new_customers) "
        "SELECT o.paid_day, count(DISTINCT o.customer_id), "
        "count(DISTINCT o.customer_id) FILTER (WHERE f.first_day = o.paid_day) "
        "FROM analytics_orders o JOIN analytics_customer_first_paid f "
        "ON f.customer_id = o.customer_id WHERE o.paid_day IS NOT NULL GROUP BY o.paid_day"
    )
    op.create_table(
        "analytics_cohort_daily",
        sa.Column("first_day", sa.Date, primary_key=True),
        sa.Column("month", sa.Date, primary_key=True),
        sa.Column("customers", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO analytics_cohort_daily (first_day, month, customers) "
        "SELECT f.first_day, date_trunc('month', o.paid_day)::date, count(DISTINCT o.customer_id) "
        "FROM analytics_orders o JOIN analytics_customer_first_paid f "
        "ON f.customer_id = o.customer_id WHERE o.paid_day IS NOT NULL GROUP BY 1, 2"
    )

    for half in ("orders", "payments"):
        op.create_table(
            f"analytics_method_daily_{half}",
            sa.Column("day", sa.Date, primary_key=True),
            sa.Column("currency", sa.Text, primary_key=True),
            sa.Column("provider", sa.Text, primary_key=True),
            sa.Column("pay_currency", sa.Text, primary_key=True),
            sa.Column("orders", sa.BigInteger, nullable=False),
            sa.Column("amount_minor", sa.BigInteger, nullable=False),
        )
    op.execute(
        "INSERT INTO analytics_method_daily_orders "
        "(day, currency, provider, pay_currency, orders, amount_minor) "
        "SELECT o.paid_day, o.currency, coalesce(i.provider, ''), "
        "coalesce(i.pay_currency, o.pay_currency), count(*), sum(o.total_minor) "
        "FROM analytics_orders o LEFT JOIN analytics_invoices i ON i.invoice_id = o.invoice_id "
        "WHERE o.paid_day IS NOT NULL GROUP BY 1, 2, 3, 4"
    )


def downgrade() -> None:
    op.drop_table("analytics_method_daily_payments")
    op.drop_table("analytics_method_daily_orders")
    op.drop_table("analytics_cohort_daily")
    op.drop_table("analytics_customer_daily")
    op.drop_table("analytics_customer_first_paid")
    op.drop_table("analytics_product_daily")
