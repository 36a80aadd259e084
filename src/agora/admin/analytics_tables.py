"""The admin schema's tables of analytics read models (facts and rollups fed by events),
declared on the schema's one
`metadata` (tables.py imports this module, so the schema check sees them)."""

from __future__ import annotations

from agora.admin.tables import metadata

__all__ = ["metadata"]
