"""Refund instructions: what staff owe the payer of each refund of an invoice paid on chain.

Written by hand and never changed once released: a later change is a new version.
tests/integration/chain/test_chain_schema.py checks the result against tables.py.

Revision ID: 0005_refund_instructions
Revises: 0004_watched_deposits
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0005_refund_instructions"
down_revision: str | None = "0004_watched_deposits"
branch_labels: str | None = None
depends_on: str | None = None

_ID = UUID(as_uuid=False)
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "refund_instructions",
        sa.Column("refund_id", _ID, primary_key=True),
        sa.Column("invoice_id", _ID, nullable=False),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("token_address", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(78, 0), nullable=False),
        sa.Column("pay_to", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("tx_hash", sa.Text, nullable=True),
        sa.Column("block_number", sa.BigInteger, nullable=True),
        sa.Column("sent_from", sa.Text, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent')"),
        sa.CheckConstraint("amount > 0"),
    )
    op.create_index(
        "ux_refund_instructions_tx", "refund_instructions", ["chain_id", "tx_hash"], unique=True
    )
    op.create_index(
        "ix_refund_instructions_created", "refund_instructions", ["created_at", "refund_id"]
    )
    op.create_index("ix_refund_instructions_invoice", "refund_instructions", ["invoice_id"])


def downgrade() -> None:
    op.drop_table("refund_instructions")
