"""Auth: TOTP secrets and signing private keys are stored sealed (envelope encryption).

New and updated rows must hold a sealed value; rows written in clear before this revision are
sealed by the auth service on its first start (it has the KEK, a migration does not), hence the
constraints are NOT VALID: they check every write without rejecting the old rows meanwhile.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

SEALED_COLUMNS = (
    ("users", "totp_secret"),
    ("users", "totp_pending_secret"),
    ("signing_keys", "private_pem"),
)


def upgrade() -> None:
    for table, column in SEALED_COLUMNS:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_sealed "
            f"CHECK ({column} IS NULL OR starts_with({column}, 'sealed:')) NOT VALID"
        )


def downgrade() -> None:
    for table, column in SEALED_COLUMNS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_sealed")
