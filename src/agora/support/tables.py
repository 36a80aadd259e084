"""The support schema's tables, declared once (docs/adr/0010-data-access.md).

`store.py` builds its statements from these; the migrations are written by hand and
tests/integration/support/test_support_schema.py checks that they produce exactly this.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

metadata = sa.MetaData(schema="support")

supports = sa.Table(
    "supports",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
