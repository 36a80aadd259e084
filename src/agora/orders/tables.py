"""The orders schema, declared once: carts and their lines, the order event store, the read
models the projection keeps, and guest order access. The hand-written migrations must build
exactly this (tests/integration/orders/test_orders_schema.py); the store's statements use it.

The platform's own tables in this schema (outbox, inbox, idempotency keys) are the platform's.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from agora.orders.aggregate import ReturnStatus

SCHEMA = "orders"
metadata = sa.MetaData(schema=SCHEMA)


def _moment(name: str, *, default_now: bool = False) -> sa.Column[object]:
    default = sa.text("now()") if default_now else None
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=default)


carts = sa.Table(
    "carts",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("token", sa.Text, nullable=False, unique=True),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("shipping_address", JSONB),
    sa.Column("shipping_method", sa.Text, nullable=False, server_default=""),
    sa.Column("order_id", sa.Uuid(as_uuid=False)),
    sa.Column("version", sa.BigInteger, nullable=False),
    _moment("expires_at"),
    _moment("created_at", default_now=True),
    _moment("updated_at", default_now=True),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'"),
    sa.CheckConstraint("status IN ('open', 'ordered')"),
)
sa.Index("ix_carts_expiry", carts.c.expires_at, postgresql_where=carts.c.status == "open")

cart_lines = sa.Table(
    "cart_lines",
    metadata,
    sa.Column(
        "cart_id",
        sa.Uuid(as_uuid=False),
        sa.ForeignKey(carts.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("variant_id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("product_id", sa.Uuid(as_uuid=False), nullable=False),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.CheckConstraint("quantity BETWEEN 1 AND 99"),
    sa.CheckConstraint("unit_price_minor >= 0"),
)

# Append-only: (order_id, version) as the key makes two writers of one version conflict.
order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("order_id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    _moment("occurred_at", default_now=True),
    sa.CheckConstraint("version > 0"),
)

# The order as the API shows it (a serialized `Order`), as of `version`.
order_details = sa.Table(
    "order_details",
    metadata,
    sa.Column("order_id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.LargeBinary, nullable=False),
)

# What order lists show and staff search matches, newest first.
order_list = sa.Table(
    "order_list",
    metadata,
    sa.Column("order_id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("total_minor", sa.BigInteger, nullable=False),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Column("customer_name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("country", sa.Text, nullable=False),
    sa.Column("search_text", sa.Text, nullable=False),
    _moment("placed_at"),
    _moment("updated_at"),
)
_newest = (order_list.c.placed_at.desc(), order_list.c.order_id.desc())
sa.Index("ix_order_list_customer", order_list.c.customer_id, *_newest)
sa.Index("ix_order_list_placed", *_newest)
sa.Index("ix_order_list_status", order_list.c.status, *_newest)

# Digests of guest orders' access tokens (the tokens themselves are never stored).
order_access = sa.Table(
    "order_access",
    metadata,
    sa.Column("order_id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("token_sha256", sa.LargeBinary, primary_key=True),
    _moment("created_at", default_now=True),
)

# Return requests as the API shows them: written in the transaction that appends their order's
# `ReturnRequested` event (`order_version`), so an answer and a later read agree at once.
# `lines`: [{"variantId", "title", "quantity"}]. Staff's decision (reason, time, who) is set in
# the transaction that appends `ReturnApproved` / `ReturnRejected`; `decided_by` is never shown.
_RETURN_STATUSES = ", ".join(f"'{status.value}'" for status in ReturnStatus)
return_requests = sa.Table(
    "return_requests",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("order_id", sa.Uuid(as_uuid=False), nullable=False),
    sa.Column("order_version", sa.Integer, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("lines", JSONB, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    _moment("requested_at"),
    _moment("updated_at"),
    sa.Column("decision_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("decided_by", sa.Text, nullable=False, server_default=""),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(f"status IN ({_RETURN_STATUSES})"),
    sa.CheckConstraint(
        f"(status = '{ReturnStatus.REQUESTED.value}') = (decided_at IS NULL)",
        name="return_requests_decided_check",
    ),
)
sa.Index("ix_return_requests_order", return_requests.c.order_id, return_requests.c.requested_at)
