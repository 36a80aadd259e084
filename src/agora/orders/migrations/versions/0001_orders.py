"""Orders: carts and their lines, the order event store, the order read models; the outbox and
inbox; idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from alembic import op

from agora.platform.bus.schema import create_bus_tables, drop_bus_tables
from agora.platform.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

TABLES = """
CREATE TABLE carts (
    id uuid PRIMARY KEY,
    token text NOT NULL UNIQUE,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    customer_id text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('open', 'ordered')),
    shipping_address jsonb,
    shipping_method text NOT NULL DEFAULT '',
    order_id uuid,
    version bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_carts_expiry ON carts (expires_at) WHERE status = 'open';

CREATE TABLE cart_lines (
    cart_id uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    variant_id uuid NOT NULL,
    product_id uuid NOT NULL,
    sku text NOT NULL,
    title text NOT NULL,
    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
    position integer NOT NULL,
    PRIMARY KEY (cart_id, variant_id)
);

CREATE TABLE order_events (
    order_id uuid NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    type text NOT NULL,
    payload bytea NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, version)
);

CREATE TABLE order_details (
    order_id uuid PRIMARY KEY,
    version bigint NOT NULL,
    detail bytea NOT NULL
);

CREATE TABLE order_list (
    order_id uuid PRIMARY KEY,
    customer_id text NOT NULL,
    status text NOT NULL,
    currency text NOT NULL,
    total_minor bigint NOT NULL,
    item_count integer NOT NULL,
    customer_name text NOT NULL,
    email text NOT NULL,
    country text NOT NULL,
    search_text text NOT NULL,
    placed_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_order_list_customer ON order_list (customer_id, placed_at DESC, order_id DESC);
CREATE INDEX ix_order_list_placed ON order_list (placed_at DESC, order_id DESC);
CREATE INDEX ix_order_list_status ON order_list (status, placed_at DESC, order_id DESC);
"""

DROPPED = ("order_list", "order_details", "order_events", "cart_lines", "carts")


def upgrade() -> None:
    for statement in TABLES.split(";"):
        if statement.strip():
            op.execute(statement)
    create_bus_tables()
    create_idempotency_table(scoped=False)


def downgrade() -> None:
    drop_idempotency_table()
    drop_bus_tables()
    for table in DROPPED:
        op.execute(f"DROP TABLE {table}")
