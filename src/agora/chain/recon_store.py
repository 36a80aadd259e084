"""Loads and saves reconciliation runs, their lines, and sweeps (statements built from
`tables.py`). Decides nothing: `domain.py`, `reconciliation.py` and `sweeper.py` do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.chain.domain import Counts, Kind, Line, Outcome, Status
from agora.chain.tables import (
    deposit_addresses,
    reconciliation_items,
    reconciliation_runs,
    sweeps,
    transfers,
)

Db = AsyncConnection | AsyncSession

# --- runs ------------------------------------------------------------------------------------


async def insert_run(
    db: Db, run_id: str, chain_id: int, since: datetime, until: datetime, now: datetime
) -> None:
    await db.execute(
        sa.insert(reconciliation_runs).values(
            id=run_id,
            chain_id=chain_id,
            since=since,
            until=until,
            status="running",
            matched=0,
            not_credited=0,
            not_on_chain=0,
            amount_mismatch=0,
            token_mismatch=0,
            sweeps=0,
            has_mismatches=False,
            failure="",
            started_at=now,
        )
    )


async def complete_run(
    db: Db,
    run_id: str,
    *,
    from_block: int | None,
    to_block: int | None,
    counts: Counts,
    lines: Sequence[Line],
    now: datetime,
) -> None:
    await db.execute(
        sa.update(reconciliation_runs)
        .where(reconciliation_runs.c.id == run_id)
        .values(
            status="completed",
            from_block=from_block,
            to_block=to_block,
            matched=counts.matched,
            not_credited=counts.not_credited,
            not_on_chain=counts.not_on_chain,
            amount_mismatch=counts.amount_mismatch,
            token_mismatch=counts.token_mismatch,
            sweeps=counts.sweeps,
            has_mismatches=counts.has_mismatches,
            completed_at=now,
        )
    )
    if lines:
        await db.execute(
            sa.insert(reconciliation_items),
            [
                {
                    "run_id": run_id,
                    "position": position,
                    "outcome": int(line.outcome),
                    "invoice_id": line.invoice_id,
                    "reference": line.reference,
                    "tx_hash": line.tx_hash,
                    "block_number": line.block_number,
                    "token_address": line.token,
                    "symbol": line.symbol,
                    "on_chain": None if line.on_chain is None else Decimal(line.on_chain),
                    "credited": None if line.credited is None else Decimal(line.credited),
                    "detail": line.detail,
                }
                for position, line in enumerate(lines)
            ],
        )


async def fail_run(db: Db, run_id: str, failure: str, now: datetime) -> None:
    await db.execute(
        sa.update(reconciliation_runs)
        .where(reconciliation_runs.c.id == run_id, reconciliation_runs.c.status == "running")
        .values(status="failed", failure=failure[:1000], completed_at=now)
    )


async def fail_stale_runs(db: Db, started_before: datetime, now: datetime) -> int:
    """Runs still running since before `started_before`: their process ended mid-run."""
    result = await db.execute(
        sa.update(reconciliation_runs)
        .where(
            reconciliation_runs.c.status == "running",
            reconciliation_runs.c.started_at < started_before,
        )
        .values(status="failed", failure="interrupted", completed_at=now)
        .returning(reconciliation_runs.c.id)
    )
    return len(result.all())


async def run_row(db: Db, run_id: str) -> Any | None:
    statement = sa.select(reconciliation_runs).where(reconciliation_runs.c.id == run_id)
    return (await db.execute(statement)).first()


async def runs_page(db: Db, *, before: tuple[datetime, str] | None, limit: int) -> list[Any]:
    """Runs newest first, before the position `before` (started_at, id)."""
    c = reconciliation_runs.c
    statement = sa.select(reconciliation_runs)
    if before is not None:
        statement = statement.where(
            sa.tuple_(c.started_at, c.id)
            < sa.tuple_(sa.literal(before[0]), sa.cast(sa.literal(before[1]), c.id.type))
        )
    statement = statement.order_by(c.started_at.desc(), c.id.desc()).limit(limit)
    return list(await db.execute(statement))


async def items_page(db: Db, run_id: str, *, after: int, limit: int) -> list[Any]:
    c = reconciliation_items.c
    statement = (
        sa.select(reconciliation_items)
        .where(c.run_id == run_id, c.position > after)
        .order_by(c.position)
        .limit(limit)
    )
    return list(await db.execute(statement))


def line_of(row: Any) -> Line:
    return Line(
        outcome=Outcome(row.outcome),
        invoice_id=row.invoice_id,
        reference=row.reference,
        tx_hash=row.tx_hash,
        block_number=row.block_number,
        token=row.token_address,
        symbol=row.symbol,
        on_chain=None if row.on_chain is None else int(row.on_chain),
        credited=None if row.credited is None else int(row.credited),
        detail=row.detail,
    )


# --- deposits as reconciliation reads them ----------------------------------------------------


async def deposit_addresses_before(db: Db, chain_id: int, until: datetime) -> list[str]:
    """The deposit addresses of the chain created before `until` (none could be paid earlier)."""
    c = deposit_addresses.c
    rows = await db.execute(
        sa.select(c.address).where(c.chain_id == chain_id, c.created_at < until).order_by(c.address)
    )
    return [r.address for r in rows]


# --- sweeps ----------------------------------------------------------------------------------


async def sweep_candidates(
    db: Db, chain_id: int, *, through_block: int, received_before: datetime, limit: int
) -> list[Any]:
    """Deposits whose newest confirmed transfer (of the invoice's token) is at or below
    `through_block` and older than `received_before`, with no transfer still waiting for
    confirmations, and that no sweep covers yet: (invoice_id, address, derivation_index,
    token_address, symbol, newest)."""
    d, t, s = deposit_addresses.c, transfers.c, sweeps.c
    newest = (
        sa.select(
            t.to_address.label("address"),
            sa.func.max(t.block_number).label("newest"),
            sa.func.max(t.block_time).label("newest_time"),
        )
        .where(
            t.chain_id == chain_id,
            t.kind == int(Kind.DEPOSIT),
            t.status == int(Status.CONFIRMED),
        )
        .group_by(t.to_address)
        .subquery()
    )
    waiting = sa.exists().where(
        t.chain_id == chain_id,
        t.to_address == d.address,
        t.status == int(Status.DETECTED),
        sa.func.cardinality(t.flags) == 0,
    )
    covered = sa.exists().where(s.deposit_address == d.address, s.through_block >= newest.c.newest)
    pending = sa.exists().where(s.deposit_address == d.address, s.status == "pending")
    statement = (
        sa.select(
            d.invoice_id,
            d.address,
            d.derivation_index,
            d.token_address,
            d.symbol,
            newest.c.newest,
        )
        .join(newest, newest.c.address == d.address)
        .where(
            d.chain_id == chain_id,
            newest.c.newest <= through_block,
            newest.c.newest_time <= received_before,
            ~waiting,
            ~covered,
            ~pending,
        )
        .order_by(newest.c.newest)
        .limit(limit)
    )
    return list(await db.execute(statement))


async def insert_sweep(db: Db, values: dict[str, Any]) -> bool:
    """Record a sweep's intent; False when one already covers that deposit and block."""
    result = await db.execute(
        insert(sweeps).values(values).on_conflict_do_nothing().returning(sweeps.c.id)
    )
    return result.first() is not None


async def pending_sweeps(db: Db, chain_id: int, *, limit: int) -> list[Any]:
    c = sweeps.c
    statement = (
        sa.select(sweeps)
        .where(c.chain_id == chain_id, c.status == "pending")
        .order_by(c.created_at, c.id)
        .limit(limit)
    )
    return list(await db.execute(statement))


async def sweep_for_update(db: Db, sweep_id: str) -> Any | None:
    """The sweep, locked, while pending (None: another replica holds or moved it)."""
    c = sweeps.c
    statement = (
        sa.select(sweeps)
        .where(c.id == sweep_id, c.status == "pending")
        .with_for_update(skip_locked=True)
    )
    return (await db.execute(statement)).first()


async def sweep_row(db: Db, sweep_id: str) -> Any | None:
    return (await db.execute(sa.select(sweeps).where(sweeps.c.id == sweep_id))).first()


async def update_sweep(db: Db, sweep_id: str, now: datetime, **values: Any) -> None:
    await db.execute(
        sa.update(sweeps).where(sweeps.c.id == sweep_id).values(updated_at=now, **values)
    )


async def highest_gas_nonce(db: Db, operator: str) -> int | None:
    """The operator's highest nonce a pending sweep's gas funding holds."""
    c = sweeps.c
    highest = (
        await db.execute(
            sa.select(sa.func.max(c.gas_nonce)).where(
                c.gas_operator == operator, c.status == "pending"
            )
        )
    ).scalar()
    return None if highest is None else int(highest)


async def sweeps_page(db: Db, *, before: tuple[datetime, str] | None, limit: int) -> list[Any]:
    c = sweeps.c
    statement = sa.select(sweeps)
    if before is not None:
        statement = statement.where(
            sa.tuple_(c.created_at, c.id)
            < sa.tuple_(sa.literal(before[0]), sa.cast(sa.literal(before[1]), c.id.type))
        )
    statement = statement.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
    return list(await db.execute(statement))


async def sweeps_between(db: Db, chain_id: int, since: datetime, until: datetime) -> list[Any]:
    c = sweeps.c
    statement = (
        sa.select(sweeps)
        .where(c.chain_id == chain_id, c.created_at >= since, c.created_at < until)
        .order_by(c.created_at, c.id)
    )
    return list(await db.execute(statement))
