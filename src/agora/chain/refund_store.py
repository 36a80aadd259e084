"""Loads and saves refund instructions, and reads the transfers a refund goes back to
(statements built from `tables.py`). Decides nothing: `refund_rules.py` and `refunds.py` do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.chain.domain import Status
from agora.chain.refund_rules import CreditedTransfer, InstructionStatus
from agora.chain.tables import refund_instructions, transfers

Db = AsyncConnection | AsyncSession


async def insert_instruction(db: Db, values: dict[str, Any]) -> bool:
    """Record a refund's instruction; False when the refund already has one."""
    inserted = await db.execute(
        insert(refund_instructions)
        .values(values)
        .on_conflict_do_nothing(index_elements=[refund_instructions.c.refund_id])
        .returning(refund_instructions.c.refund_id)
    )
    return inserted.first() is not None


async def instruction(db: Db, refund_id: str, *, for_update: bool = False) -> Any | None:
    statement = sa.select(refund_instructions).where(refund_instructions.c.refund_id == refund_id)
    if for_update:
        statement = statement.with_for_update()
    return (await db.execute(statement)).first()


async def instruction_paid_by(db: Db, chain_id: int, tx_hash: str) -> Any | None:
    """The instruction a transaction was recorded for, if any."""
    c = refund_instructions.c
    statement = sa.select(refund_instructions).where(c.chain_id == chain_id, c.tx_hash == tx_hash)
    return (await db.execute(statement)).first()


async def lock_transaction(db: Db, chain_id: int, tx_hash: str) -> None:
    """Serialize recordings of one transaction (its unique index would refuse the second with
    an integrity error; the lock lets it be refused with its reason instead)."""
    await db.execute(
        sa.select(
            sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"{chain_id}:{tx_hash}", 0))
        )
    )


async def mark_sent(
    db: Db,
    refund_id: str,
    *,
    tx_hash: str,
    block_number: int,
    sent_from: str,
    now: datetime,
) -> None:
    await db.execute(
        sa.update(refund_instructions)
        .where(refund_instructions.c.refund_id == refund_id)
        .values(
            status=InstructionStatus.SENT.value,
            tx_hash=tx_hash,
            block_number=block_number,
            sent_from=sent_from,
            sent_at=now,
        )
    )


async def instructions_page(
    db: Db,
    *,
    status: InstructionStatus | None,
    invoice_id: str | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[Any]:
    """Newest first, after the page position `before` (created_at, refund_id)."""
    c = refund_instructions.c
    statement = sa.select(refund_instructions)
    if status is not None:
        statement = statement.where(c.status == status.value)
    if invoice_id is not None:
        statement = statement.where(c.invoice_id == invoice_id)
    if before is not None:
        statement = statement.where(
            sa.tuple_(c.created_at, c.refund_id)
            < sa.tuple_(sa.literal(before[0]), sa.cast(sa.literal(before[1]), c.refund_id.type))
        )
    statement = statement.order_by(c.created_at.desc(), c.refund_id.desc()).limit(limit)
    return list(await db.execute(statement))


async def credited_transfers(
    db: Db, chain_id: int, keys: Sequence[tuple[str, int]]
) -> list[CreditedTransfer]:
    """The confirmed transfers of `keys` ((tx_hash, log_index) on `chain_id`)."""
    if not keys:
        return []
    c = transfers.c
    statement = sa.select(c.from_address, c.amount, c.block_number, c.log_index).where(
        c.chain_id == chain_id,
        sa.tuple_(c.tx_hash, c.log_index).in_(keys),
        c.status == int(Status.CONFIRMED),
    )
    rows = await db.execute(statement)
    return [
        CreditedTransfer(r.from_address, int(r.amount), r.block_number, r.log_index) for r in rows
    ]
