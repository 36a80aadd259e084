"""The seed tool's own bookkeeping: one row per run in `seed.runs`.

A run is what `agora seed` wrote: profile, seed-data version, random seed, scale and the plan's
clock, so the exact plan (and with it every id it created) can be generated again to clean it.
The tool creates its schema itself; no service reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

RunStatus = Literal["running", "finished", "failed", "removed"]

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS seed;
CREATE TABLE IF NOT EXISTS seed.runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile text NOT NULL,
    data_version integer NOT NULL,
    seed bigint NOT NULL,
    scale double precision NOT NULL,
    plan_now timestamptz NOT NULL,
    counts jsonb NOT NULL DEFAULT '{}'::jsonb,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'removed'))
);
"""
# Held for the whole of a seeding or cleaning: two of them never interleave.
LOCK_KEY = "agora-seed"


@dataclass(frozen=True)
class Run:
    id: int
    profile: str
    data_version: int
    seed: int
    scale: float
    plan_now: datetime
    status: RunStatus
    counts: dict[str, int]

    def same_as(self, profile: str, data_version: int, seed: int, scale: float) -> bool:
        return (self.profile, self.data_version, self.seed, self.scale) == (
            profile,
            data_version,
            seed,
            scale,
        )


async def prepare(conn: asyncpg.Connection) -> None:
    """Create the bookkeeping schema if needed and take the seeding lock (session-level)."""
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", LOCK_KEY)
    await conn.execute(SCHEMA)


async def release(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK_KEY)


def _run(row: asyncpg.Record) -> Run:
    return Run(
        id=row["id"],
        profile=row["profile"],
        data_version=row["data_version"],
        seed=row["seed"],
        scale=row["scale"],
        plan_now=row["plan_now"],
        status=row["status"],
        counts=json.loads(row["counts"]),
    )


async def live_runs(conn: asyncpg.Connection, profile: str | None = None) -> list[Run]:
    """Runs whose rows may be in the database (every status but `removed`), oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM seed.runs WHERE status <> 'removed' AND ($1::text IS NULL OR profile = $1)"
        " ORDER BY id",
        profile,
    )
    return [_run(row) for row in rows]


async def any_run(conn: asyncpg.Connection) -> bool:
    """Whether this database was ever seeded (the schema may not exist yet)."""
    exists = await conn.fetchval("SELECT to_regclass('seed.runs') IS NOT NULL")
    return bool(exists) and bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM seed.runs)"))


async def start(
    conn: asyncpg.Connection,
    *,
    profile: str,
    data_version: int,
    seed: int,
    scale: float,
    plan_now: datetime,
) -> int:
    run_id: int = await conn.fetchval(
        "INSERT INTO seed.runs (profile, data_version, seed, scale, plan_now, status)"
        " VALUES ($1, $2, $3, $4, $5, 'running') RETURNING id",
        profile,
        data_version,
        seed,
        scale,
        plan_now,
    )
    return run_id


async def finish(
    conn: asyncpg.Connection, run_id: int, status: RunStatus, counts: dict[str, int]
) -> None:
    await conn.execute(
        "UPDATE seed.runs SET status = $2, counts = $3::jsonb, finished_at = now() WHERE id = $1",
        run_id,
        status,
        json.dumps(counts, sort_keys=True),
    )


async def mark_removed(conn: asyncpg.Connection, run_id: int) -> None:
    await conn.execute("UPDATE seed.runs SET status = 'removed' WHERE id = $1", run_id)
