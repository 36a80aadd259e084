"""The support schema's tables, declared once (docs/adr/0010-data-access.md).

`store.py` builds its statements from these; the migrations are written by hand and
tests/integration/support/test_support_schema.py checks that they produce exactly this.

The recommendation models are counts kept up to date by the event consumers (consumers.py):
`purchases` remembers where each order stands (recommending.PurchaseState) and each customer's
purchases; `product_sales`, `co_purchases` and `purchase_totals` are what a paid order adds to;
`products` holds what the catalog published, with the embedding of its text (pgvector).
"""

from __future__ import annotations

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from agora.support.recommending import PurchaseState

metadata = sa.MetaData(schema="support")

# WordLlama's bundled model (embeddings.py) embeds text in this many dimensions.
EMBEDDING_DIMENSIONS = 256

products = sa.Table(
    "products",
    metadata,
    sa.Column("product_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    # Only published products are recommended.
    sa.Column("published", sa.Boolean, nullable=False),
    # The catalog's version of the product last applied (older events change nothing).
    sa.Column("version", sa.BigInteger, nullable=False),
    # Of `recommending.product_text(title, description)`; None until computed.
    sa.Column("embedding", Vector(EMBEDDING_DIMENSIONS), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

purchases = sa.Table(
    "purchases",
    metadata,
    sa.Column("order_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    # Empty for a guest's order.
    sa.Column("customer_id", UUID(as_uuid=False), nullable=True),
    # Known once the order's placed event has arrived.
    sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("product_ids", ARRAY(UUID(as_uuid=False)), nullable=True),
    sa.CheckConstraint(
        "state IN (" + ", ".join(f"'{s.value}'" for s in PurchaseState) + ")",
        name="purchases_state_known",
    ),
    # A customer's recent purchases ("for you").
    sa.Index("purchases_by_customer", "customer_id", "placed_at"),
)

product_sales = sa.Table(
    "product_sales",
    metadata,
    sa.Column("product_id", UUID(as_uuid=False), primary_key=True),
    # Paid orders holding the product.
    sa.Column("orders", sa.BigInteger, nullable=False),
    sa.Index("product_sales_by_orders", "orders"),
)

co_purchases = sa.Table(
    "co_purchases",
    metadata,
    sa.Column("product_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("other_id", UUID(as_uuid=False), primary_key=True),
    # Paid orders holding both; stored in both directions, so a product's row range is all of
    # its neighbours.
    sa.Column("together", sa.BigInteger, nullable=False),
)

# One row: how many paid orders the models have counted (popularity's denominator).
purchase_totals = sa.Table(
    "purchase_totals",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("orders", sa.BigInteger, nullable=False),
    sa.CheckConstraint("id = 1", name="purchase_totals_one_row"),
)

# --- the support chat ---------------------------------------------------------------------

# A conversation with the assistant, the queue or a person. A customer's has `customer_id`;
# a guest's has `order_id` only (the order's access token is checked with orders at every
# start and never stored). `state` is the assistant's `ConversationState` as JSON.
conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("customer_id", UUID(as_uuid=False), nullable=True),
    sa.Column("order_id", UUID(as_uuid=False), nullable=True),
    sa.Column("handover", sa.Text, nullable=False),
    sa.Column("handover_reason", sa.Text, nullable=True),
    # When it entered its current `handover` state (the queue is served oldest first).
    sa.Column("handover_at", sa.DateTime(timezone=True), nullable=False),
    # Ever handed over to the queue (for the closed event's resolution).
    sa.Column("handed_over", sa.Boolean, nullable=False),
    sa.Column("staff_id", sa.Text, nullable=True),
    sa.Column("state", JSONB, nullable=False),
    sa.Column("tokens_in", sa.BigInteger, nullable=False),
    sa.Column("tokens_out", sa.BigInteger, nullable=False),
    # The answer being written (one at a time per conversation, whatever the replica), since.
    sa.Column("answering_since", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_answer_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(
        "handover IN ('assistant', 'queued', 'staff', 'closed')", name="conversations_handover"
    ),
    sa.CheckConstraint(
        "customer_id IS NOT NULL OR order_id IS NOT NULL", name="conversations_have_an_owner"
    ),
    sa.Index("conversations_by_customer", "customer_id", "created_at"),
    sa.Index("conversations_by_order", "order_id", "created_at"),
    sa.Index("conversations_by_handover", "handover", "handover_at"),
    sa.Index("conversations_by_created", "created_at"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column(
        "conversation_id",
        UUID(as_uuid=False),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("speaker", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    # The client's id of a customer's or staff member's message (idempotent `say`); an
    # assistant's answer carries the one it answers.
    sa.Column("client_message_id", sa.Text, nullable=True),
    # An answer stopped by the customer (or a stream that went away): its text is partial.
    sa.Column("cancelled", sa.Boolean, nullable=False),
    sa.Column("tokens_in", sa.Integer, nullable=False),
    sa.Column("tokens_out", sa.Integer, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(
        "speaker IN ('customer', 'assistant', 'staff')", name="messages_speaker_known"
    ),
    sa.Index("messages_by_conversation", "conversation_id", "created_at"),
    # A retried `say` is stored once.
    sa.Index(
        "messages_said_once",
        "conversation_id",
        "client_message_id",
        unique=True,
        postgresql_where=sa.text("speaker <> 'assistant' AND client_message_id IS NOT NULL"),
    ),
)
