"""Payments' tables, declared once: `store.py` builds its statements from them, `seeding.py`
copies rows into them, and `tests/integration/payments/test_schema.py` checks that the
hand-written migrations produce exactly this metadata (columns, keys, indexes; alembic does not
compare CHECK constraints: they are declared here for the reader, as the migrations enforce them).

Amounts in the pay currency are numeric(78, 0): an 18-decimal token exceeds bigint. Rates are
exact fractions, kept as a numerator and a denominator.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

SCHEMA = "payments"

metadata = sa.MetaData(schema=SCHEMA)

_ID = UUID(as_uuid=False)
_AMOUNT = sa.Numeric(78, 0)
_RATIO = sa.Numeric()
_TIME = sa.DateTime(timezone=True)
_FALSE = sa.text("false")

exchange_rates = sa.Table(
    "exchange_rates",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("base", sa.Text, nullable=False),
    sa.Column("quote", sa.Text, nullable=False),
    sa.Column("numerator", _RATIO, nullable=False),
    sa.Column("denominator", _RATIO, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("as_of", _TIME, nullable=False),
    sa.Column("recorded_at", _TIME, nullable=False, server_default=sa.text("now()")),
    sa.CheckConstraint("numerator > 0 AND denominator > 0"),
    sa.CheckConstraint("base <> quote"),
    # An import of the same day's rates from the same source is recorded once.
    sa.Index("ux_exchange_rates_source_day", "base", "quote", "source", "as_of", unique=True),
    sa.Index(
        "ix_exchange_rates_latest", "base", "quote", sa.text("as_of DESC"), sa.text("id DESC")
    ),
)

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("price_amount", sa.BigInteger, nullable=False),
    sa.Column("price_currency", sa.Text, nullable=False),
    sa.Column("pay_currency", sa.Text, nullable=False),
    sa.Column("rate_numerator", _RATIO, nullable=False),
    sa.Column("rate_denominator", _RATIO, nullable=False),
    sa.Column("rate_source", sa.Text, nullable=False),
    sa.Column("rate_as_of", _TIME, nullable=False),
    sa.Column("due", _AMOUNT, nullable=False),
    sa.Column("tolerance_bp", sa.Integer, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("confirmations_required", sa.Integer, nullable=False),
    sa.Column("pay_to", sa.Text, nullable=False),
    sa.Column("memo", sa.Text, nullable=False),
    sa.Column("paid_partial", sa.Boolean, nullable=False, server_default=_FALSE),
    sa.Column("paid_late", sa.Boolean, nullable=False, server_default=_FALSE),
    sa.Column("paid_over", sa.Boolean, nullable=False, server_default=_FALSE),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("expires_at", _TIME, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
    # The customer the invoice is for (empty: a guest's).
    sa.Column("customer_id", sa.Text, nullable=False, server_default=sa.text("''")),
    # On-chain invoices: the chain and token contract a payment must use, and the router.
    sa.Column("chain_id", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("token_address", sa.Text, nullable=False, server_default=sa.text("''")),
    sa.Column("router_address", sa.Text, nullable=False, server_default=sa.text("''")),
    sa.CheckConstraint("status IN ('new', 'processing', 'settled', 'expired', 'invalid')"),
    sa.CheckConstraint("price_amount > 0 AND due > 0"),
    sa.CheckConstraint("rate_numerator > 0 AND rate_denominator > 0"),
    sa.CheckConstraint("tolerance_bp BETWEEN 0 AND 9999"),
    sa.CheckConstraint("confirmations_required >= 0"),
    sa.Index("ix_invoices_reference", "reference", "created_at"),
    # The expiry job's scan: open invoices by expiry.
    sa.Index(
        "ix_invoices_open_by_expiry",
        "expires_at",
        postgresql_where=sa.text("status IN ('new', 'processing')"),
    ),
)

invoice_payments = sa.Table(
    "invoice_payments",
    metadata,
    sa.Column("invoice_id", _ID, sa.ForeignKey(invoices.c.id), primary_key=True),
    # The provider's id of the payment: a transaction hash, a dev payment id.
    sa.Column("reference", sa.Text, primary_key=True),
    sa.Column("amount", _AMOUNT, nullable=False),
    sa.Column("confirmations", sa.Integer, nullable=False),
    sa.Column("received_at", _TIME, nullable=False),
    sa.Column("late", sa.Boolean, nullable=False),
    # credited | withdrawn (its block left the chain) | flagged (failed verification).
    sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'credited'")),
    # Why a flagged payment is not credited: flag names separated by spaces.
    sa.Column("flags", sa.Text, nullable=False, server_default=sa.text("''")),
    sa.CheckConstraint("amount > 0 AND confirmations >= 0"),
    sa.CheckConstraint("status IN ('credited', 'withdrawn', 'flagged')"),
    # The reconciliation ledger's scan: payments by time.
    sa.Index("ix_invoice_payments_received", "received_at", "invoice_id", "reference"),
)

invoice_refunds = sa.Table(
    "invoice_refunds",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("invoice_id", _ID, sa.ForeignKey(invoices.c.id), nullable=False),
    sa.Column("amount", _AMOUNT, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.CheckConstraint("amount > 0"),
    sa.Index("ix_invoice_refunds_invoice", "invoice_id", "created_at"),
)
