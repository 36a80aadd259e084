"""Migration 0005 over return requests decided before it: each keeps its status and gets the
time of its last change as its decision's time (its reason is not known: "")."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from agora.orders import tables
from agora.platform.db import create_engine
from agora.platform.migrations import migrate


async def test_requests_decided_before_the_migration_keep_their_status_and_get_a_decision_time(
    database_url: str,
) -> None:
    head, _, _ = database_url.rpartition("/")
    url = f"{head}/agora_migration_{uuid.uuid4().hex[:8]}"
    await migrate(tables.SCHEMA, url, "0004")
    engine = create_engine(url, tables.SCHEMA, pool_size=1)
    asked = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    rejected_at = asked + dt.timedelta(days=1)
    rows = {str(uuid.uuid4()): status for status in ("requested", "rejected")}
    try:
        async with engine.begin() as conn:
            for return_id, status in rows.items():
                await conn.execute(
                    sa.text(
                        "INSERT INTO return_requests VALUES"
                        " (:id, :order_id, 2, '', :status, '[]', 'too dim', :asked, :changed)"
                    ),
                    {
                        "id": return_id,
                        "order_id": str(uuid.uuid4()),
                        "status": status,
                        "asked": asked,
                        "changed": rejected_at if status == "rejected" else asked,
                    },
                )
        await migrate(tables.SCHEMA, url)
        async with engine.connect() as conn:
            migrated = (
                await conn.execute(
                    sa.select(
                        tables.return_requests.c.status,
                        tables.return_requests.c.decided_at,
                        tables.return_requests.c.decision_reason,
                    ).order_by(tables.return_requests.c.status)
                )
            ).all()
    finally:
        await engine.dispose()

    assert [tuple(row) for row in migrated] == [
        ("rejected", rejected_at, ""),
        ("requested", None, ""),
    ]
