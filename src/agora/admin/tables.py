"""The admin schema's tables, declared once (docs/adr/0010-data-access.md).

`store.py` builds its statements from these; the migrations are written by hand and
tests/integration/admin/test_admin_schema.py checks that they produce exactly this.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(schema="admin")

# Each area of the service declares its tables in a module of its own on `metadata`.
from agora.admin import (  # noqa: E402
    analytics_tables,
    content_tables,
    reports_tables,
    users_tables,
)

__all__ = ["analytics_tables", "content_tables", "metadata", "reports_tables", "users_tables"]
