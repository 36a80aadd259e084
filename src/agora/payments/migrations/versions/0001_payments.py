"""Payments: invoices with their payments and refunds, exchange rates with their history; the
outbox and inbox; idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2025-05-02
"""

from __future__ import annotations

from alembic import op

from agora.platform.bus.schema import create_bus_tables, drop_bus_tables
from agora.platform.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Amounts in the pay currency are numeric(78, 0): an 18-decimal token exceeds bigint.
TABLES = """
CREATE TABLE exchange_rates (
    id bigserial PRIMARY KEY,
    base text NOT NULL,
    quote text NOT NULL,
    numerator numeric NOT NULL CHECK (numerator > 0),
    denominator numeric NOT NULL CHECK (denominator > 0),
    source text NOT NULL,
    as_of timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (base <> quote)
);
-- An import of the same day's rates from the same source is recorded once.
CREATE UNIQUE INDEX ux_exchange_rates_source_day ON exchange_rates (base, quote, source, as_of);
CREATE INDEX ix_exchange_rates_latest ON exchange_rates (base, quote, as_of DESC, id DESC);

CREATE TABLE invoices (
    id uuid PRIMARY KEY,
    reference text NOT NULL,
    status text NOT NULL
        CHECK (status IN ('new', 'processing', 'settled', 'expired', 'invalid')),
    price_amount bigint NOT NULL CHECK (price_amount > 0),
    price_currency text NOT NULL,
    pay_currency text NOT NULL,
    rate_numerator numeric NOT NULL CHECK (rate_numerator > 0),
    rate_denominator numeric NOT NULL CHECK (rate_denominator > 0),
    rate_source text NOT NULL,
    rate_as_of timestamptz NOT NULL,
    due numeric(78, 0) NOT NULL CHECK (due > 0),
    tolerance_bp integer NOT NULL CHECK (tolerance_bp BETWEEN 0 AND 9999),
    provider text NOT NULL,
    confirmations_required integer NOT NULL CHECK (confirmations_required >= 0),
    pay_to text NOT NULL,
    memo text NOT NULL,
    paid_partial boolean NOT NULL DEFAULT false,
    paid_late boolean NOT NULL DEFAULT false,
    paid_over boolean NOT NULL DEFAULT false,
    version bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_invoices_reference ON invoices (reference, created_at);
CREATE INDEX ix_invoices_open_by_expiry ON invoices (expires_at)
    WHERE status IN ('new', 'processing');

CREATE TABLE invoice_payments (
    invoice_id uuid NOT NULL REFERENCES invoices (id),
    reference text NOT NULL,
    amount numeric(78, 0) NOT NULL CHECK (amount > 0),
    confirmations integer NOT NULL CHECK (confirmations >= 0),
    received_at timestamptz NOT NULL,
    late boolean NOT NULL,
    PRIMARY KEY (invoice_id, reference)
);

CREATE TABLE invoice_refunds (
    id uuid PRIMARY KEY,
    invoice_id uuid NOT NULL REFERENCES invoices (id),
    amount numeric(78, 0) NOT NULL CHECK (amount > 0),
    reason text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX ix_invoice_refunds_invoice ON invoice_refunds (invoice_id, created_at);
"""


def upgrade() -> None:
    for statement in TABLES.split(";"):
        if statement.strip():
            op.execute(statement)
    create_bus_tables()
    create_idempotency_table(scoped=False)


def downgrade() -> None:
    drop_idempotency_table()
    drop_bus_tables()
    for table in ("invoice_refunds", "invoice_payments", "invoices", "exchange_rates"):
        op.drop_table(table)
