"""The catalog: categories, products (with full-text search), variants, prices, stock,
reservations; the outbox and inbox; idempotency keys.

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
CREATE TABLE categories (
    id uuid PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    name text NOT NULL,
    parent_id uuid REFERENCES categories (id),
    path text NOT NULL,
    depth integer NOT NULL CHECK (depth >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_categories_path ON categories (path text_pattern_ops);

CREATE TABLE products (
    id uuid PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    title text NOT NULL CHECK (title <> ''),
    description text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
    image_urls text[] NOT NULL DEFAULT '{}',
    category_id uuid REFERENCES categories (id),
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', description), 'B')
        || setweight(jsonb_to_tsvector('english', attributes, '["string"]'), 'C')
    ) STORED
);
CREATE INDEX ix_products_search ON products USING gin (search);
CREATE INDEX ix_products_attributes ON products USING gin (attributes jsonb_path_ops);
CREATE INDEX ix_products_category ON products (category_id);
CREATE INDEX ix_products_newest ON products (published_at DESC, id DESC)
    WHERE status = 'published';
CREATE INDEX ix_products_title ON products (title, id) WHERE status = 'published';

CREATE TABLE variants (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products (id),
    sku text NOT NULL UNIQUE,
    title text NOT NULL,
    options jsonb NOT NULL DEFAULT '{}'::jsonb,
    position integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_variants_product ON variants (product_id, position);

CREATE TABLE prices (
    variant_id uuid NOT NULL REFERENCES variants (id),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    PRIMARY KEY (variant_id, currency)
);

CREATE TABLE product_prices (
    product_id uuid NOT NULL REFERENCES products (id),
    currency text NOT NULL,
    amount_minor bigint NOT NULL,
    PRIMARY KEY (product_id, currency)
);
CREATE INDEX ix_product_prices_sort ON product_prices (currency, amount_minor, product_id);

CREATE TABLE stock (
    variant_id uuid PRIMARY KEY REFERENCES variants (id),
    on_hand bigint NOT NULL,
    reserved bigint NOT NULL DEFAULT 0,
    version bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_reserved_within_on_hand CHECK (reserved >= 0 AND reserved <= on_hand)
);

CREATE TABLE reservations (
    id uuid PRIMARY KEY,
    reference text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('active', 'committed', 'released', 'expired')),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_reservations_expiry ON reservations (expires_at) WHERE status = 'active';

CREATE TABLE reservation_lines (
    reservation_id uuid NOT NULL REFERENCES reservations (id),
    variant_id uuid NOT NULL REFERENCES variants (id),
    quantity bigint NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, variant_id)
);
"""

DROPPED = (
    "reservation_lines",
    "reservations",
    "stock",
    "product_prices",
    "prices",
    "variants",
    "products",
    "categories",
)


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
