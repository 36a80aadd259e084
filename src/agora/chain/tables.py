"""The chain schema's tables, declared once (docs/adr/0010-data-access.md).

`store.py` builds its statements from these; the migrations are written by hand and
tests/integration/chain/test_chain_schema.py checks that they produce exactly this.

Token amounts are numeric(78, 0) (uint256 fits); addresses and hashes are lowercase 0x-hex.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

metadata = sa.MetaData(schema="chain")

_ID = UUID(as_uuid=False)
_AMOUNT = sa.Numeric(78, 0)
_TIME = sa.DateTime(timezone=True)

# One derivation index per invoice's deposit address (m/44'/60'/0'/0/i).
deposit_index_seq = sa.Sequence("deposit_index_seq", metadata=metadata)

networks = sa.Table(
    "networks",
    metadata,
    sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("rpc_url", sa.Text, nullable=False),
    sa.Column("confirmations_low", sa.Integer, nullable=False),
    sa.Column("confirmations_medium", sa.Integer, nullable=False),
    sa.Column("confirmations_high", sa.Integer, nullable=False),
    sa.Column("block_time_ms", sa.Integer, nullable=False),
    sa.Column("treasury_address", sa.Text, nullable=False),
    sa.Column("router_address", sa.Text, nullable=False),
    # The last block the watcher read, and the node's head when last seen.
    sa.Column("checkpoint_block", sa.BigInteger, nullable=False),
    sa.Column("head_block", sa.BigInteger, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("symbol", sa.Text, primary_key=True),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("decimals", sa.Integer, nullable=False),
    sa.Column("dust_limit", _AMOUNT, nullable=False),
    sa.Index("ux_tokens_address", "chain_id", "address", unique=True),
)

deposit_addresses = sa.Table(
    "deposit_addresses",
    metadata,
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
    # The creating transaction (0004): the watcher reads only deposits newer than its horizon.
    sa.Column(
        "created_xid",
        sa.BigInteger,
        nullable=False,
        server_default=sa.text("(pg_current_xact_id())::text::bigint"),
    ),
    sa.Index("ux_deposit_addresses_address", "address", unique=True),
    sa.Index("ux_deposit_addresses_index", "derivation_index", unique=True),
    sa.Index("ix_deposit_addresses_expires", "chain_id", "expires_at"),
    sa.Index("ix_deposit_addresses_xid", "chain_id", "created_xid"),
)

transfers = sa.Table(
    "transfers",
    metadata,
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
    sa.Index("ix_transfers_invoice", "invoice_id", "block_number"),
    sa.Index("ix_transfers_block", "chain_id", "block_number"),
    # The transfers still counting confirmations (0004), read on every pass of the watcher.
    sa.Index(
        "ix_transfers_waiting",
        "chain_id",
        "block_number",
        postgresql_where=sa.text("status = 1"),
    ),
)

# The recent canonical blocks the watcher read (checkpoints and blocks holding transfers):
# a stored hash the node no longer has at that height is a reorg.
blocks = sa.Table(
    "blocks",
    metadata,
    sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Column("parent_hash", sa.Text, nullable=False),
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


# --- reconciliation runs and sweeps (0003_reconciliation) -------------------------------------

reconciliation_runs = sa.Table(
    "reconciliation_runs",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
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
    sa.Index("ix_reconciliation_runs_started", "started_at", "id"),
)

reconciliation_items = sa.Table(
    "reconciliation_items",
    metadata,
    sa.Column("run_id", UUID(as_uuid=False), primary_key=True),
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

# One row per move of a deposit's tokens to the treasury. `through_block`: the newest
# confirmed transfer it covers (one sweep per deposit and block: recorded once). The signed
# transactions are stored before they are broadcast (re-sent as they are after a crash).
sweeps = sa.Table(
    "sweeps",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("chain_id", sa.BigInteger, nullable=False),
    sa.Column("invoice_id", UUID(as_uuid=False), nullable=False),
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
    sa.Index("ux_sweeps_through", "deposit_address", "through_block", unique=True),
    sa.Index("ix_sweeps_created", "created_at", "id"),
    sa.Index("ix_sweeps_status", "status"),
)


# --- refund instructions (0005_refund_instructions) -------------------------------------------

# One row per refund of an invoice paid on chain (payments' refund id): whom staff pay back, in
# which token, how much; and, once paid, the transaction (unique: one payment pays one refund).
refund_instructions = sa.Table(
    "refund_instructions",
    metadata,
    sa.Column("refund_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("invoice_id", UUID(as_uuid=False), nullable=False),
    sa.Column("order_id", sa.Text, nullable=False),
    sa.Column("chain_id", sa.BigInteger, nullable=False),
    sa.Column("symbol", sa.Text, nullable=False),
    sa.Column("token_address", sa.Text, nullable=False),
    sa.Column("amount", _AMOUNT, nullable=False),
    # '' when no payer is known.
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
    sa.Index("ux_refund_instructions_tx", "chain_id", "tx_hash", unique=True),
    sa.Index("ix_refund_instructions_created", "created_at", "refund_id"),
    sa.Index("ix_refund_instructions_invoice", "invoice_id"),
)
