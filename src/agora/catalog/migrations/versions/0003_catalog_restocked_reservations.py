"""A committed reservation can be restocked (its order cancelled after payment): the status
`restocked` joins the reservation statuses.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_CHECK = "reservations_status_check"


def _statuses(*statuses: str) -> None:
    listed = ", ".join(f"'{s}'" for s in statuses)
    op.execute(f"ALTER TABLE reservations DROP CONSTRAINT {_CHECK}")
    op.execute(f"ALTER TABLE reservations ADD CONSTRAINT {_CHECK} CHECK (status IN ({listed}))")


def upgrade() -> None:
    _statuses("active", "committed", "released", "expired", "restocked")


def downgrade() -> None:
    op.execute("UPDATE reservations SET status = 'committed' WHERE status = 'restocked'")
    _statuses("active", "committed", "released", "expired")
