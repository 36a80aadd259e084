"""Reconciliation runs and their report lines; sweeps of deposits to the treasury.

Written by hand and never changed once released: a later change is a new version.
tests/integration/chain/test_chain_schema.py checks the result against tables.py.

Revision ID: 0003_reconciliation
Revises: 0002_rewards
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0003_reconciliation"
down_revision: str | None = "0002_rewards"
branch_labels: str | None = None
depends_on: str | None = None

_ID = UUID(as_uuid=False)
_AMOUNT = sa.Numeric(78, 0)
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("since", _TIME, nullable=False),
        sa.Column("until", _TIME, nullable=False),
        sa.Column("from_block", sa.BigInteger, nullable=True),
        sa.Column("to_block", sa.BigInteger, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("matched", sa.Integer, nullable=False),
        sa.Column("not_credited", sa.Integer, nullable=False),
        sa.Column("not_on_chain", sa.Integer, nullable=False),
        sa.Column("amount_mismatch", sa.Integer, nullable=False),
        sa.Column("token_mismatch", sa.Integer, nullable=False),
        sa.Column("sweeps", sa.Integer, nullable=False),
        sa.Column("has_mismatches", sa.Boolean, nullable=False),
        sa.Column("failure", sa.Text, nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("completed_at", _TIME, nullable=True),
        sa.CheckConstraint("status IN ('running', 'completed', 'failed')"),
    )
    op.create_index("ix_reconciliation_runs_started", "reconciliation_runs", ["started_at", "id"])
    op.create_table(
        "reconciliation_items",
        sa.Column("run_id", _ID, primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("outcome", sa.SmallInteger, nullable=False),
        sa.Column("invoice_id", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("tx_hash", sa.Text, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=True),
        sa.Column("token_address", sa.Text, nullable=False),
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("on_chain", _AMOUNT, nullable=True),
        sa.Column("credited", _AMOUNT, nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "sweeps",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("invoice_id", _ID, nullable=False),
        sa.Column("deposit_address", sa.Text, nullable=False),
        sa.Column("derivation_index", sa.BigInteger, nullable=False),
        sa.Column("token_address", sa.Text, nullable=False),
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("treasury_address", sa.Text, nullable=False),
        sa.Column("amount", _AMOUNT, nullable=False),
        sa.Column("through_block", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("gas_operator", sa.Text, nullable=True),
        sa.Column("gas_nonce", sa.BigInteger, nullable=True),
        sa.Column("gas_amount", _AMOUNT, nullable=True),
        sa.Column("gas_tx_hash", sa.Text, nullable=True),
        sa.Column("gas_raw_tx", sa.LargeBinary, nullable=True),
        sa.Column("nonce", sa.BigInteger, nullable=True),
        sa.Column("tx_hash", sa.Text, nullable=True),
        sa.Column("raw_tx", sa.LargeBinary, nullable=True),
        sa.Column("block_number", sa.BigInteger, nullable=True),
        sa.Column("failure", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'failed')"),
        sa.CheckConstraint("amount > 0"),
    )
    op.create_index(
        "ux_sweeps_through", "sweeps", ["deposit_address", "through_block"], unique=True
    )
    op.create_index("ix_sweeps_created", "sweeps", ["created_at", "id"])
    op.create_index("ix_sweeps_status", "sweeps", ["status"])


def downgrade() -> None:
    op.drop_table("sweeps")
    op.drop_table("reconciliation_items")
    op.drop_table("reconciliation_runs")
