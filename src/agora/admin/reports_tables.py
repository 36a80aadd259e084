"""The admin schema's tables of reports: frozen reports of closed periods, schedules and the
record of what each schedule mailed, and the facts only reports need (chain transfers and
reconciliation runs from CHAIN, refunds by day from ORDERS), declared on the schema's one
`metadata` (tables.py imports this module, so the schema check sees them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from agora.admin.tables import metadata

_TS = sa.DateTime(timezone=True)

# One frozen report per (kind, period, currency): written once, by its first generation.
report_snapshots = sa.Table(
    "report_snapshots",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("converted", sa.Boolean, nullable=False),
    sa.Column("unconverted", ARRAY(sa.Text), nullable=False),
    sa.Column("totals", JSONB, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("checksum", sa.Text, nullable=False),
    sa.Column("generated_at", _TS, nullable=False),
    sa.UniqueConstraint(
        "kind", "start_date", "end_date", "currency", "converted", name="report_snapshots_period"
    ),
)

report_snapshot_rows = sa.Table(
    "report_snapshot_rows",
    metadata,
    sa.Column(
        "snapshot_id",
        UUID(as_uuid=False),
        sa.ForeignKey("admin.report_snapshots.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("row_no", sa.BigInteger, primary_key=True),
    sa.Column("cells", ARRAY(sa.Text), nullable=False),
)

report_schedules = sa.Table(
    "report_schedules",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("formats", ARRAY(sa.Text), nullable=False),
    sa.Column("cadence", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("recipient_ids", ARRAY(sa.Text), nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.CheckConstraint(
        "cadence IN ('daily', 'weekly', 'monthly')", name="report_schedules_cadence"
    ),
)

# What each schedule mailed: one row per period, so a period is mailed once across replicas
# and restarts.
report_schedule_sends = sa.Table(
    "report_schedule_sends",
    metadata,
    sa.Column(
        "schedule_id",
        UUID(as_uuid=False),
        sa.ForeignKey("admin.report_schedules.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("period_start", sa.Date, primary_key=True),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("recipients", sa.Integer, nullable=False),
    sa.Column("sent_at", _TS, nullable=False),
)

# CHAIN: each transfer's last known state (by its reference `<chain_id>:<tx_hash>:<log_index>`).
reports_chain_transfers = sa.Table(
    "reports_chain_transfers",
    metadata,
    sa.Column("reference", sa.Text, primary_key=True),
    sa.Column("chain_id", sa.BigInteger, nullable=False),
    sa.Column("invoice_id", sa.Text, nullable=False),
    sa.Column("asset", sa.Text, nullable=False),
    sa.Column("decimals", sa.Integer, nullable=False),
    sa.Column("base_units", sa.Numeric(78, 0), nullable=False),
    sa.Column("block_time", _TS, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Index("reports_chain_transfers_time", "chain_id", "block_time"),
)

# CHAIN: each completed reconciliation run and its counts.
reports_chain_runs = sa.Table(
    "reports_chain_runs",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("chain_id", sa.BigInteger, nullable=False),
    sa.Column("since", _TS, nullable=False),
    sa.Column("until", _TS, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("completed_day", sa.Date, nullable=False, index=True),
    sa.Column("matched", sa.BigInteger, nullable=False),
    sa.Column("not_credited", sa.BigInteger, nullable=False),
    sa.Column("not_on_chain", sa.BigInteger, nullable=False),
    sa.Column("amount_mismatch", sa.BigInteger, nullable=False),
    sa.Column("token_mismatch", sa.BigInteger, nullable=False),
    sa.Column("sweeps", sa.BigInteger, nullable=False),
    sa.Column("has_mismatches", sa.Boolean, nullable=False),
)

# ORDERS: each refund, by the day it was made (payments and refunds by provider).
reports_refunds = sa.Table(
    "reports_refunds",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("order_id", sa.Text, nullable=False),
    sa.Column("day", sa.Date, nullable=False, index=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
)

REPORTS_TABLES = (
    report_snapshots,
    report_snapshot_rows,
    report_schedules,
    report_schedule_sends,
    reports_chain_transfers,
    reports_chain_runs,
    reports_refunds,
)

__all__ = ["REPORTS_TABLES", "metadata"] + [t.name for t in REPORTS_TABLES]
