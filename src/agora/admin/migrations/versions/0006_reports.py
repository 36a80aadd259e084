"""The admin schema: reports (frozen reports of closed periods, schedules and their sends) and
the facts only reports read (chain transfers and reconciliation runs, refunds by day).

Written by hand and never changed once released: a later change is a new version.
tests/integration/admin/test_admin_schema.py checks the result against tables.py.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_snapshots",
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
            "kind",
            "start_date",
            "end_date",
            "currency",
            "converted",
            name="report_snapshots_period",
        ),
    )
    op.create_table(
        "report_snapshot_rows",
        sa.Column(
            "snapshot_id",
            UUID(as_uuid=False),
            sa.ForeignKey("admin.report_snapshots.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("row_no", sa.BigInteger, primary_key=True),
        sa.Column("cells", ARRAY(sa.Text), nullable=False),
    )
    op.create_table(
        "report_schedules",
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
    op.create_table(
        "report_schedule_sends",
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
    op.create_table(
        "reports_chain_transfers",
        sa.Column("reference", sa.Text, primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("invoice_id", sa.Text, nullable=False),
        sa.Column("asset", sa.Text, nullable=False),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("base_units", sa.Numeric(78, 0), nullable=False),
        sa.Column("block_time", _TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
    )
    op.create_index(
        "reports_chain_transfers_time", "reports_chain_transfers", ["chain_id", "block_time"]
    )
    op.create_table(
        "reports_chain_runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("since", _TS, nullable=False),
        sa.Column("until", _TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("completed_day", sa.Date, nullable=False),
        sa.Column("matched", sa.BigInteger, nullable=False),
        sa.Column("not_credited", sa.BigInteger, nullable=False),
        sa.Column("not_on_chain", sa.BigInteger, nullable=False),
        sa.Column("amount_mismatch", sa.BigInteger, nullable=False),
        sa.Column("token_mismatch", sa.BigInteger, nullable=False),
        sa.Column("sweeps", sa.BigInteger, nullable=False),
        sa.Column("has_mismatches", sa.Boolean, nullable=False),
    )
    op.create_index(
        "ix_admin_reports_chain_runs_completed_day", "reports_chain_runs", ["completed_day"]
    )
    op.create_table(
        "reports_refunds",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_admin_reports_refunds_day", "reports_refunds", ["day"])


def downgrade() -> None:
    for table in (
        "reports_refunds",
        "reports_chain_runs",
        "reports_chain_transfers",
        "report_schedule_sends",
        "report_schedules",
        "report_snapshot_rows",
        "report_snapshots",
    ):
        op.drop_table(table)
