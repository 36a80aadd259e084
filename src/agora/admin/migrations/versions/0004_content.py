"""The admin schema: content management (pages, banners, menus, posts, versions, media).

Written by hand and never changed once released: a later change is a new version.
tests/integration/admin/test_admin_schema.py checks the result against tables.py.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def _entry_fk() -> sa.Column[str]:
    return sa.Column(
        "entry_id",
        UUID(as_uuid=False),
        sa.ForeignKey("admin.content_entries.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "content_entries",
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
        sa.CheckConstraint(
            "kind IN ('page', 'banner', 'menu', 'post')", name="content_entries_kind"
        ),
        sa.UniqueConstraint("kind", "locale", "slug", name="content_entries_slug_key"),
    )
    op.create_index("content_entries_listing", "content_entries", ["kind", "locale", "updated_at"])
    op.create_table(
        "content_versions",
        _entry_fk(),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("fields", JSONB, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "content_published",
        _entry_fk(),
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
    )
    op.create_index(
        "content_published_listing",
        "content_published",
        ["kind", "locale", "placement", "publish_at"],
    )
    op.create_table(
        "media",
        sa.Column("sha256", sa.Text, primary_key=True),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("variants", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("media")
    op.drop_table("content_published")
    op.drop_table("content_versions")
    op.drop_table("content_entries")
