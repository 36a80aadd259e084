"""The admin schema's tables of content management (pages, banners, menus, posts, versions, media),
declared on the schema's one
`metadata` (tables.py imports this module, so the schema check sees them)."""

from __future__ import annotations

from agora.admin.tables import metadata

__all__ = ["metadata"]
