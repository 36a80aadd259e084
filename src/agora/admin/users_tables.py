"""The admin schema's tables of user management (pending approvals of staff actions),
declared on the schema's one
`metadata` (tables.py imports this module, so the schema check sees them)."""

from __future__ import annotations

from agora.admin.tables import metadata

__all__ = ["metadata"]
