"""The admin schema's tables of user management: 2FA resets waiting for (or given) a second
staff member's approval, declared on the schema's one `metadata` (tables.py imports this
module, so the schema check sees them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from agora.admin.tables import metadata

# A reset's status is derived: applied once `applied_at` is set, expired past `expires_at`.
totp_resets = sa.Table(
    "totp_resets",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("user_id", UUID(as_uuid=False), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("approved_by", sa.Text, nullable=False, server_default=sa.text("''")),
    sa.Column("applied_at", sa.DateTime(timezone=True)),
)
sa.Index(
    "ix_totp_resets_waiting",
    totp_resets.c.user_id,
    totp_resets.c.expires_at,
    postgresql_where=totp_resets.c.applied_at.is_(None),
)

__all__ = ["metadata", "totp_resets"]
