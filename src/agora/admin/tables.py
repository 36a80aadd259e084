"""The admin schema's tables, declared once (docs/adr/0010-data-access.md).

`store.py` builds its statements from these; the migrations are written by hand and
tests/integration/admin/test_admin_schema.py checks that they produce exactly this.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

metadata = sa.MetaData(schema="admin")

pages = sa.Table(
    "pages",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Each area of the service declares its tables in a module of its own on `metadata`.
from agora.admin import analytics_tables, content_tables, users_tables  # noqa: E402

__all__ = ["analytics_tables", "content_tables", "metadata", "pages", "users_tables"]
