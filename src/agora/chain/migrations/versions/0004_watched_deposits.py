"""The watcher's cheap passes: which transaction created each deposit address, and an index of
the transfers still counting confirmations.

`deposit_addresses.created_xid` (the creating transaction's `pg_current_xact_id()`) lets the
watcher keep its watched set in memory and read, each pass, only the deposits of transactions
at or above the snapshot horizon of its previous read (any older transaction had finished then,
so what it wrote was already read). Existing rows take the migration's transaction id: a
watcher reloads everything when it starts anyway.

`ix_transfers_waiting`: each pass counts the confirmations of the DETECTED transfers; without
it that query reads every transfer ever recorded.

Written by hand and never changed once released: a later change is a new version.
tests/integration/chain/test_chain_schema.py checks the result against tables.py.

Revision ID: 0004_watched_deposits
Revises: 0003_reconciliation
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_watched_deposits"
down_revision: str | None = "0003_reconciliation"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "deposit_addresses",
        sa.Column(
            "created_xid",
            sa.BigInteger,
            nullable=False,
            server_default=sa.text("(pg_current_xact_id())::text::bigint"),
        ),
    )
    op.create_index("ix_deposit_addresses_xid", "deposit_addresses", ["chain_id", "created_xid"])
    op.create_index(
        "ix_transfers_waiting",
        "transfers",
        ["chain_id", "block_number"],
        postgresql_where=sa.text("status = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_transfers_waiting", table_name="transfers")
    op.drop_index("ix_deposit_addresses_xid", table_name="deposit_addresses")
    op.drop_column("deposit_addresses", "created_xid")
