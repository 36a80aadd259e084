"""Idempotency keys scoped to the caller: the key's primary key gains `scope_hash` (a digest of
the user, service or guest capability it belongs to). The stored keys are dropped, not
converted: their scope is unknown, and they are kept for 24 h only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from agora.platform.idempotency import replace_idempotency_table

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    replace_idempotency_table(scoped=True)


def downgrade() -> None:
    replace_idempotency_table(scoped=False)
