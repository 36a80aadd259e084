"""The catalog's tables, declared once. The hand-written migrations must produce exactly this
(`tests/integration/catalog/test_schema.py` checks it); the store builds its statements from it.

CHECK constraints are the database's last line of defence whatever the code does:
`stock_reserved_within_on_hand` makes a negative availability impossible.
"""

from __future__ import annotations

from enum import Enum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID

from agora.catalog.domain import ProductStatus, ReservationStatus

SCHEMA = "catalog"

metadata = sa.MetaData(schema=SCHEMA)
_ID = UUID(as_uuid=False)
_NOW = sa.func.now()


def _status(statuses: type[Enum]) -> sa.Column[object]:
    """A `status` column holding only the values of the domain's `statuses`."""
    allowed = ", ".join(f"'{status.value}'" for status in statuses)
    return sa.Column(
        "status", sa.Text, sa.CheckConstraint(f"status IN ({allowed})"), nullable=False
    )


def _timestamp(name: str, *, nullable: bool = False, now: bool = True) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=_NOW if now else None
    )


categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("parent_id", _ID, sa.ForeignKey("categories.id")),
    # '/<root id>/…/<own id>/': descendants of c are the rows whose path starts with c's.
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("depth", sa.Integer, sa.CheckConstraint("depth >= 0"), nullable=False),
    _timestamp("created_at"),
    sa.Index("ix_categories_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("title", sa.Text, sa.CheckConstraint("title <> ''"), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=sa.text("''")),
    _status(ProductStatus),
    sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("image_urls", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("category_id", _ID, sa.ForeignKey("categories.id")),
    sa.Column("version", sa.BigInteger, nullable=False, server_default=sa.text("1")),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    _timestamp("published_at", nullable=True, now=False),
    sa.Column(
        "search",
        TSVECTOR,
        sa.Computed(
            "setweight(to_tsvector('english', title), 'A')"
            " || setweight(to_tsvector('english', description), 'B')"
            " || setweight(jsonb_to_tsvector('english', attributes, '[\"string\"]'), 'C')",
            persisted=True,
        ),
    ),
    sa.Index("ix_products_search", "search", postgresql_using="gin"),
    sa.Index(
        "ix_products_attributes",
        "attributes",
        postgresql_using="gin",
        postgresql_ops={"attributes": "jsonb_path_ops"},
    ),
    sa.Index("ix_products_category", "category_id"),
    # The storefront's two sorts that need no price: newest first and by title.
    sa.Index(
        "ix_products_newest",
        sa.text("published_at DESC"),
        sa.text("id DESC"),
        postgresql_where=sa.text("status = 'published'"),
    ),
    sa.Index("ix_products_title", "title", "id", postgresql_where=sa.text("status = 'published'")),
)

variants = sa.Table(
    "variants",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("product_id", _ID, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("sku", sa.Text, nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("options", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("position", sa.Integer, nullable=False),
    _timestamp("created_at"),
    sa.Index("ix_variants_product", "product_id", "position"),
)

prices = sa.Table(
    "prices",
    metadata,
    sa.Column("variant_id", _ID, sa.ForeignKey("variants.id"), primary_key=True),
    sa.Column("currency", sa.Text, sa.CheckConstraint("currency ~ '^[A-Z]{3}$'"), primary_key=True),
    sa.Column(
        "amount_minor", sa.BigInteger, sa.CheckConstraint("amount_minor >= 0"), nullable=False
    ),
)

# The lowest variant price of each product per currency: price filters and sorts read one row.
product_prices = sa.Table(
    "product_prices",
    metadata,
    sa.Column("product_id", _ID, sa.ForeignKey("products.id"), primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Index("ix_product_prices_sort", "currency", "amount_minor", "product_id"),
)

stock = sa.Table(
    "stock",
    metadata,
    sa.Column("variant_id", _ID, sa.ForeignKey("variants.id"), primary_key=True),
    sa.Column("on_hand", sa.BigInteger, nullable=False),
    sa.Column("reserved", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    _timestamp("updated_at"),
    sa.CheckConstraint(
        "reserved >= 0 AND reserved <= on_hand", name="stock_reserved_within_on_hand"
    ),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("reference", sa.Text, nullable=False, server_default=sa.text("''")),
    _status(ReservationStatus),
    _timestamp("expires_at", now=False),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    # The expiry job's scan: only active reservations are ever due.
    sa.Index("ix_reservations_expiry", "expires_at", postgresql_where=sa.text("status = 'active'")),
)

reservation_lines = sa.Table(
    "reservation_lines",
    metadata,
    sa.Column("reservation_id", _ID, sa.ForeignKey("reservations.id"), primary_key=True),
    sa.Column("variant_id", _ID, sa.ForeignKey("variants.id"), primary_key=True),
    sa.Column("quantity", sa.BigInteger, sa.CheckConstraint("quantity > 0"), nullable=False),
)
