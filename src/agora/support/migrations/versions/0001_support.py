"""The support schema: the recommendation models (products with their text embeddings,
purchases, sales, co-purchases); the outbox and inbox; idempotency keys.

Written by hand and never changed once released: a later change is a new version.
tests/integration/support/test_support_schema.py checks the result against tables.py.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from agora.platform.bus.schema import create_bus_tables, drop_bus_tables
from agora.platform.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # pgvector (shipped with the embedded PostgreSQL): in `public`, on every service's
    # search_path, as extensions are one per database. Never dropped: another schema may use it.
    op.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
    op.create_table(
        "products",
        sa.Column("product_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("published", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("embedding", Vector(256), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "purchases",
        sa.Column("order_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("customer_id", UUID(as_uuid=False), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("product_ids", ARRAY(UUID(as_uuid=False)), nullable=True),
        sa.CheckConstraint(
            "state IN ('placed', 'paid', 'counted', 'ended')", name="purchases_state_known"
        ),
    )
    op.create_index("purchases_by_customer", "purchases", ["customer_id", "placed_at"])
    op.create_table(
        "product_sales",
        sa.Column("product_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("orders", sa.BigInteger, nullable=False),
    )
    op.create_index("product_sales_by_orders", "product_sales", ["orders"])
    op.create_table(
        "co_purchases",
        sa.Column("product_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("other_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("together", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "purchase_totals",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("orders", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="purchase_totals_one_row"),
    )
    op.execute("INSERT INTO purchase_totals (id, orders) VALUES (1, 0)")
    create_bus_tables()
    create_idempotency_table(scoped=True)


def downgrade() -> None:
    drop_idempotency_table()
    drop_bus_tables()
    for table in ("purchase_totals", "co_purchases", "product_sales", "purchases", "products"):
        op.drop_table(table)
