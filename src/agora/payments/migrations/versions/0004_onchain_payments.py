"""On-chain payments: an invoice's chain, token contract and router; a payment's status
(credited, withdrawn, flagged) and flags; payments by time for the reconciliation ledger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE invoices ADD COLUMN chain_id bigint NOT NULL DEFAULT 0, "
        "ADD COLUMN token_address text NOT NULL DEFAULT '', "
        "ADD COLUMN router_address text NOT NULL DEFAULT ''"
    )
    op.execute(
        "ALTER TABLE invoice_payments ADD COLUMN status text NOT NULL DEFAULT 'credited' "
        "CHECK (status IN ('credited', 'withdrawn', 'flagged')), "
        "ADD COLUMN flags text NOT NULL DEFAULT ''"
    )
    op.execute(
        "CREATE INDEX ix_invoice_payments_received "
        "ON invoice_payments (received_at, invoice_id, reference)"
    )


def downgrade() -> None:
    op.drop_index("ix_invoice_payments_received", table_name="invoice_payments")
    op.drop_column("invoice_payments", "flags")
    op.drop_column("invoice_payments", "status")
    op.drop_column("invoices", "router_address")
    op.drop_column("invoices", "token_address")
    op.drop_column("invoices", "chain_id")
