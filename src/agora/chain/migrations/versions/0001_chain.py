"""The chain schema: networks, tokens, deposit addresses, transfers, recent blocks; the outbox
and inbox; idempotency keys. (0002: rewards, 0003: reconciliation and sweeps.)

Written by hand and never changed once released: a later change is a new version.
tests/integration/chain/test_chain_schema.py checks the result against tables.py.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from agora.platform.bus.schema import create_bus_tables, drop_bus_tables
from agora.platform.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = UUID(as_uuid=False)
_AMOUNT = sa.Numeric(78, 0)
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "networks",
        sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("rpc_url", sa.Text, nullable=False),
        sa.Column("confirmations_low", sa.Integer, nullable=False),
        sa.Column("confirmations_medium", sa.Integer, nullable=False),
        sa.Column("confirmations_high", sa.Integer, nullable=False),
        sa.Column("block_time_ms", sa.Integer, nullable=False),
        sa.Column("treasury_address", sa.Text, nullable=False),
        sa.Column("router_address", sa.Text, nullable=False),
        sa.Column("checkpoint_block", sa.BigInteger, nullable=False),
        sa.Column("head_block", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.CheckConstraint(
            "0 < confirmations_low AND confirmations_low <= confirmations_medium "
            "AND confirmations_medium <= confirmations_high"
        ),
    )
    op.create_table(
        "tokens",
        sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("symbol", sa.Text, primary_key=True),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("dust_limit", _AMOUNT, nullable=False),
    )
    op.create_index("ux_tokens_address", "tokens", ["chain_id", "address"], unique=True)
    op.execute("CREATE SEQUENCE deposit_index_seq")
    op.create_table(
        "deposit_addresses",
        sa.Column("invoice_id", _ID, primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("derivation_index", sa.BigInteger, nullable=False),
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("token_address", sa.Text, nullable=False),
        sa.Column("amount", _AMOUNT, nullable=False),
        sa.Column("confirmations_required", sa.Integer, nullable=False),
        sa.Column("expires_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.CheckConstraint("amount > 0"),
    )
    op.create_index("ux_deposit_addresses_address", "deposit_addresses", ["address"], unique=True)
    op.create_index(
        "ux_deposit_addresses_index", "deposit_addresses", ["derivation_index"], unique=True
    )
    op.create_index("ix_deposit_addresses_expires", "deposit_addresses", ["chain_id", "expires_at"])
    op.create_table(
        "transfers",
        sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("tx_hash", sa.Text, primary_key=True),
        sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("block_hash", sa.Text, nullable=False),
        sa.Column("block_time", _TIME, nullable=False),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("token_address", sa.Text, nullable=False),
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("from_address", sa.Text, nullable=False),
        sa.Column("to_address", sa.Text, nullable=False),
        sa.Column("amount", _AMOUNT, nullable=False),
        sa.Column("invoice_id", _ID, nullable=True),
        sa.Column("confirmations", sa.Integer, nullable=False),
        sa.Column("confirmations_required", sa.Integer, nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("flags", ARRAY(sa.Text), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_index("ix_transfers_invoice", "transfers", ["invoice_id", "block_number"])
    op.create_index("ix_transfers_block", "transfers", ["chain_id", "block_number"])
    op.create_table(
        "blocks",
        sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("parent_hash", sa.Text, nullable=False),
    )
    create_bus_tables()
    create_idempotency_table(scoped=True)


def downgrade() -> None:
    drop_idempotency_table()
    drop_bus_tables()
    op.drop_table("blocks")
    op.drop_table("transfers")
    op.drop_table("deposit_addresses")
    op.execute("DROP SEQUENCE deposit_index_seq")
    op.drop_table("tokens")
    op.drop_table("networks")
