"""The chain schema's tables, declared once (docs/adr/0010-data-access.md).

`store.py` builds its statements from these; the migrations are written by hand and
tests/integration/chain/test_chain_schema.py checks that they produce exactly this.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

metadata = sa.MetaData(schema="chain")

networks = sa.Table(
    "networks",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


# --- loyalty rewards and customers' wallets (0002_rewards) ------------------------------------
# Amounts are AGT base units, numeric(78, 0) (a uint256). Alembic does not compare CHECK
# constraints: they are declared here for the reader, as 0002 enforces them.

_AMOUNT = sa.Numeric(78, 0)
_TIME = sa.DateTime(timezone=True)

wallet_challenges = sa.Table(
    "wallet_challenges",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    # sha256 of the nonce: the nonce itself is only in the message handed to the customer.
    sa.Column("nonce_hash", sa.LargeBinary, nullable=False),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Column("uri", sa.Text, nullable=False),
    sa.Column("chain_id", sa.BigInteger, nullable=False),
    sa.Column("issued_at", _TIME, nullable=False),
    sa.Column("expires_at", _TIME, nullable=False),
    sa.Column("used_at", _TIME, nullable=True),
    sa.Index("ux_wallet_challenges_nonce_hash", "nonce_hash", unique=True),
    sa.Index("ix_wallet_challenges_customer", "customer_id", "expires_at"),
)

customer_wallets = sa.Table(
    "customer_wallets",
    metadata,
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("registered_at", _TIME, nullable=False),
    sa.Index("ix_customer_wallets_address", "address"),
)

# What a paid order's reward needs from orders.order.placed (orders.order.paid names the order
# only): its customer ('' for a guest) and total.
reward_orders = sa.Table(
    "reward_orders",
    metadata,
    sa.Column("order_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("total_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("placed_at", _TIME, nullable=False),
)

reward_mints = sa.Table(
    "reward_mints",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("amount", _AMOUNT, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("operator", sa.Text, nullable=True),
    sa.Column("nonce", sa.BigInteger, nullable=True),
    sa.Column("tx_hash", sa.Text, nullable=True),
    # The signed transaction (public once broadcast): re-sent as is after a crash or outage.
    sa.Column("raw_tx", sa.LargeBinary, nullable=True),
    sa.Column("block_number", sa.BigInteger, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", _TIME, nullable=False),
    sa.Column("failure", sa.Text, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sent', 'minted', 'failed')"),
    sa.CheckConstraint("amount > 0 AND attempts >= 0"),
    sa.Index("ix_reward_mints_status", "status", "next_attempt_at"),
)

rewards = sa.Table(
    "rewards",
    metadata,
    # At most one reward per order.
    sa.Column("order_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("amount", _AMOUNT, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("mint_id", UUID(as_uuid=False), nullable=True),
    sa.Column("order_total_minor", sa.BigInteger, nullable=False),
    sa.Column("order_currency", sa.Text, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.CheckConstraint("status IN ('accrued', 'minting', 'minted')"),
    sa.CheckConstraint("amount > 0"),
    sa.Index("ix_rewards_customer", "customer_id", "created_at"),
    sa.Index("ix_rewards_mint", "mint_id"),
)
