"""The bus tables every event-producing or event-consuming service keeps in its own schema.

`outbox` holds events written in the same transaction as the state change they describe, until
the relay has them acknowledged by JetStream. `inbox` remembers which events each durable
consumer has already handled, which makes handlers idempotent under redelivery.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.sql.schema import SchemaItem

OUTBOX = "outbox"
INBOX = "inbox"
INBOX_BY_STREAM_SEQ = "ix_inbox_consumer_stream_seq"


def _outbox_columns() -> list[sa.Column[object]]:
    return [
        # Identity gives the relay an order that follows insertion (close to commit order).
        sa.Column("seq", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("subject", sa.Text, nullable=False),
        # A serialized agora.events.v1.EventEnvelope: exactly the body published to JetStream.
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def _inbox_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        # Where the event sits in its stream, so a replay can forget exactly what it re-delivers.
        sa.Column("stream_seq", sa.BigInteger, nullable=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    ]


def create_bus_tables() -> None:
    """Create `outbox` and `inbox` in the current schema (call from a migration's `upgrade()`)."""
    # Imported here: only migrations need Alembic, and every service process imports the bus.
    from alembic import op

    op.create_table(OUTBOX, *_outbox_columns())
    op.create_table(INBOX, *_inbox_columns())
    op.create_index(INBOX_BY_STREAM_SEQ, INBOX, ["consumer", "stream_seq"])


def drop_bus_tables() -> None:
    """Drop `outbox` and `inbox` (call from a migration's `downgrade()`)."""
    from alembic import op

    op.drop_index(INBOX_BY_STREAM_SEQ, table_name=INBOX)
    op.drop_table(INBOX)
    op.drop_table(OUTBOX)


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """The `outbox` table, for queries (schema from `metadata`, else the search_path)."""
    return _table(metadata, OUTBOX, [*_outbox_columns()])


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    """The `inbox` table, for queries (schema from `metadata`, else the search_path)."""
    index = sa.Index(INBOX_BY_STREAM_SEQ, "consumer", "stream_seq")
    return _table(metadata, INBOX, [*_inbox_columns(), index])


def _table(metadata: sa.MetaData, name: str, items: list[SchemaItem]) -> sa.Table:
    key = f"{metadata.schema}.{name}" if metadata.schema else name
    existing = metadata.tables.get(key)
    if existing is not None:
        return existing
    return sa.Table(name, metadata, *items)
