"""The support chat: conversations (with the assistant's state) and their messages.

Written by hand and never changed once released: a later change is a new version.
tests/integration/support/test_support_schema.py checks the result against tables.py.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("customer_id", UUID(as_uuid=False), nullable=True),
        sa.Column("order_id", UUID(as_uuid=False), nullable=True),
        sa.Column("handover", sa.Text, nullable=False),
        sa.Column("handover_reason", sa.Text, nullable=True),
        sa.Column("handover_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handed_over", sa.Boolean, nullable=False),
        sa.Column("staff_id", sa.Text, nullable=True),
        sa.Column("state", JSONB, nullable=False),
        sa.Column("tokens_in", sa.BigInteger, nullable=False),
        sa.Column("tokens_out", sa.BigInteger, nullable=False),
        sa.Column("answering_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "handover IN ('assistant', 'queued', 'staff', 'closed')",
            name="conversations_handover",
        ),
        sa.CheckConstraint(
            "customer_id IS NOT NULL OR order_id IS NOT NULL", name="conversations_have_an_owner"
        ),
    )
    op.create_index("conversations_by_customer", "conversations", ["customer_id", "created_at"])
    op.create_index("conversations_by_order", "conversations", ["order_id", "created_at"])
    op.create_index("conversations_by_handover", "conversations", ["handover", "handover_at"])
    op.create_index("conversations_by_created", "conversations", ["created_at"])
    op.create_table(
        "messages",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column(
            "conversation_id",
            UUID(as_uuid=False),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("speaker", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("client_message_id", sa.Text, nullable=True),
        sa.Column("cancelled", sa.Boolean, nullable=False),
        sa.Column("tokens_in", sa.Integer, nullable=False),
        sa.Column("tokens_out", sa.Integer, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "speaker IN ('customer', 'assistant', 'staff')", name="messages_speaker_known"
        ),
    )
    op.create_index("messages_by_conversation", "messages", ["conversation_id", "created_at"])
    op.create_index(
        "messages_said_once",
        "messages",
        ["conversation_id", "client_message_id"],
        unique=True,
        postgresql_where=sa.text("speaker <> 'assistant' AND client_message_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("conversations")
