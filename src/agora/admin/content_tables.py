"""The admin schema's tables of content management (pages, banners, menus, posts, versions, media),
declared on the schema's one
`metadata` (tables.py imports this module, so the schema check sees them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from agora.admin.content import ContentKind
from agora.admin.tables import metadata

KINDS = ", ".join(f"'{kind.value}'" for kind in ContentKind)

# The working copy of each entry: its latest version (the draft) and what is published of it.
content_entries = sa.Table(
    "content_entries",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("locale", sa.Text, nullable=False),
    sa.Column("slug", sa.Text, nullable=False),
    sa.Column("fields", JSONB, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("published_version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("publish_at", sa.DateTime(timezone=True)),
    sa.Column("unpublish_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f"kind IN ({KINDS})", name="content_entries_kind"),
    # Slugs are unique per kind and locale (`/pages/en/about` and `/posts/en/about` may coexist).
    sa.UniqueConstraint("kind", "locale", "slug", name="content_entries_slug_key"),
    sa.Index("content_entries_listing", "kind", "locale", "updated_at"),
)

# Every version of every entry, append-only: history, diff and rollback read it.
content_versions = sa.Table(
    "content_versions",
    metadata,
    sa.Column(
        "entry_id",
        UUID(as_uuid=False),
        sa.ForeignKey("admin.content_entries.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("fields", JSONB, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# What the storefront reads: the published version of each published entry, rendered, with its
# schedule. `announced` records which schedule boundaries the schedule job has announced.
content_published = sa.Table(
    "content_published",
    metadata,
    sa.Column(
        "entry_id",
        UUID(as_uuid=False),
        sa.ForeignKey("admin.content_entries.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("locale", sa.Text, nullable=False),
    sa.Column("slug", sa.Text, nullable=False),
    sa.Column("placement", sa.Text, nullable=False),
    sa.Column("fields", JSONB, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("publish_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("unpublish_at", sa.DateTime(timezone=True)),
    sa.Column("start_announced", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("end_announced", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("kind", "locale", "slug", name="content_published_slug_key"),
    sa.Index("content_published_listing", "kind", "locale", "placement", "publish_at"),
)

# Uploaded images by the SHA-256 of their bytes; the bytes live in the media store.
media = sa.Table(
    "media",
    metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("variants", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

__all__ = ["content_entries", "content_published", "content_versions", "media", "metadata"]
