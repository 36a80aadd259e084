"""Loyalty rewards: wallet challenges, customers' wallets, placed orders' totals, rewards and
their mints.

Written by hand and never changed once released: a later change is a new version.
tests/integration/chain/test_chain_schema.py checks the result against tables.py.

Revision ID: 0002_rewards
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0002_rewards"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_ID = UUID(as_uuid=False)
_AMOUNT = sa.Numeric(78, 0)
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "wallet_challenges",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("nonce_hash", sa.LargeBinary, nullable=False),
        sa.Column("domain", sa.Text, nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("issued_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("used_at", _TIME, nullable=True),
    )
    op.create_index(
        "ux_wallet_challenges_nonce_hash", "wallet_challenges", ["nonce_hash"], unique=True
    )
    op.create_index(
        "ix_wallet_challenges_customer", "wallet_challenges", ["customer_id", "expires_at"]
    )
    op.create_table(
        "customer_wallets",
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("registered_at", _TIME, nullable=False),
    )
    op.create_index("ix_customer_wallets_address", "customer_wallets", ["address"])
    op.create_table(
        "reward_orders",
        sa.Column("order_id", _ID, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("placed_at", _TIME, nullable=False),
    )
    op.create_table(
        "reward_mints",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("amount", _AMOUNT, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("operator", sa.Text, nullable=True),
        sa.Column("nonce", sa.BigInteger, nullable=True),
        sa.Column("tx_hash", sa.Text, nullable=True),
        sa.Column("raw_tx", sa.LargeBinary, nullable=True),
        sa.Column("block_number", sa.BigInteger, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("failure", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'sent', 'minted', 'failed')"),
        sa.CheckConstraint("amount > 0 AND attempts >= 0"),
    )
    op.create_index("ix_reward_mints_status", "reward_mints", ["status", "next_attempt_at"])
    op.create_table(
        "rewards",
        sa.Column("order_id", _ID, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("amount", _AMOUNT, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("mint_id", _ID, nullable=True),
        sa.Column("order_total_minor", sa.BigInteger, nullable=False),
        sa.Column("order_currency", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.CheckConstraint("status IN ('accrued', 'minting', 'minted')"),
        sa.CheckConstraint("amount > 0"),
    )
    op.create_index("ix_rewards_customer", "rewards", ["customer_id", "created_at"])
    op.create_index("ix_rewards_mint", "rewards", ["mint_id"])


def downgrade() -> None:
    op.drop_table("rewards")
    op.drop_table("reward_mints")
    op.drop_table("reward_orders")
    op.drop_table("customer_wallets")
    op.drop_table("wallet_challenges")
