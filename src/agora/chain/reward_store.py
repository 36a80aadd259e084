"""Loads and saves wallet challenges, customers' wallets, rewards and their mints (statements
built from `tables.py`). Decides nothing: `loyalty.py` does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.chain.loyalty import Challenge, Mint, MintStatus, Reward, RewardStatus
from agora.chain.tables import (
    customer_wallets,
    reward_mints,
    reward_orders,
    rewards,
    wallet_challenges,
)

Db = AsyncConnection | AsyncSession

# --- challenges ------------------------------------------------------------------------------


async def insert_challenge(db: Db, challenge: Challenge, nonce_hash: bytes) -> None:
    await db.execute(
        sa.insert(wallet_challenges).values(
            id=challenge.id,
            customer_id=challenge.customer_id,
            address=challenge.address,
            nonce_hash=nonce_hash,
            domain=challenge.domain,
            uri=challenge.uri,
            chain_id=challenge.chain_id,
            issued_at=challenge.issued_at,
            expires_at=challenge.expires_at,
        )
    )


async def forget_stale_challenges(db: Db, customer_id: str, now: datetime) -> None:
    """Delete the customer's expired challenges (used ones stay until they expire: a replay
    of their nonce is then told it was used)."""
    c = wallet_challenges.c
    await db.execute(
        sa.delete(wallet_challenges).where(c.customer_id == customer_id, c.expires_at <= now)
    )


async def open_challenge_expiries(db: Db, customer_id: str, now: datetime) -> list[datetime]:
    c = wallet_challenges.c
    rows = await db.execute(
        sa.select(c.expires_at).where(
            c.customer_id == customer_id, c.expires_at > now, c.used_at.is_(None)
        )
    )
    return [row.expires_at for row in rows]


async def challenge_by_nonce(db: Db, nonce_hash: bytes) -> Challenge | None:
    """The challenge of a nonce, locked for the rest of the transaction."""
    c = wallet_challenges.c
    row = (
        await db.execute(
            sa.select(wallet_challenges).where(c.nonce_hash == nonce_hash).with_for_update()
        )
    ).first()
    if row is None:
        return None
    return Challenge(
        id=row.id,
        customer_id=row.customer_id,
        address=row.address,
        domain=row.domain,
        uri=row.uri,
        chain_id=row.chain_id,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


async def mark_challenge_used(db: Db, challenge_id: str, now: datetime) -> None:
    await db.execute(
        sa.update(wallet_challenges)
        .where(wallet_challenges.c.id == challenge_id)
        .values(used_at=now)
    )


# --- wallets ---------------------------------------------------------------------------------


async def wallet_of(db: Db, customer_id: str) -> tuple[str, datetime] | None:
    """The customer's registered address and when, or None."""
    c = customer_wallets.c
    row = (
        await db.execute(sa.select(c.address, c.registered_at).where(c.customer_id == customer_id))
    ).first()
    return None if row is None else (row.address, row.registered_at)


async def save_wallet(db: Db, customer_id: str, address: str, now: datetime) -> None:
    statement = insert(customer_wallets).values(
        customer_id=customer_id, address=address, registered_at=now
    )
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[customer_wallets.c.customer_id],
            set_={"address": address, "registered_at": now},
        )
    )


# --- placed orders and rewards ---------------------------------------------------------------


async def remember_order(
    db: Db, *, order_id: str, customer_id: str, total_minor: int, currency: str, placed_at: datetime
) -> None:
    await db.execute(
        insert(reward_orders)
        .values(
            order_id=order_id,
            customer_id=customer_id,
            total_minor=total_minor,
            currency=currency,
            placed_at=placed_at,
        )
        .on_conflict_do_nothing()
    )


async def placed_order(db: Db, order_id: str) -> tuple[str, int, str] | None:
    """(customer_id, total_minor, currency) of a placed order, or None when never seen."""
    c = reward_orders.c
    row = (
        await db.execute(
            sa.select(c.customer_id, c.total_minor, c.currency).where(c.order_id == order_id)
        )
    ).first()
    return None if row is None else (row.customer_id, row.total_minor, row.currency)


async def insert_reward(
    db: Db,
    reward: Reward,
    *,
    mint_id: str | None,
    order_total_minor: int,
    order_currency: str,
) -> bool:
    """Record an order's reward; False when the order already has one."""
    result = await db.execute(
        insert(rewards)
        .values(
            order_id=reward.order_id,
            customer_id=reward.customer_id,
            amount=reward.amount,
            status=reward.status.value,
            mint_id=mint_id,
            order_total_minor=order_total_minor,
            order_currency=order_currency,
            created_at=reward.created_at,
        )
        .on_conflict_do_nothing()
        .returning(rewards.c.order_id)
    )
    return result.first() is not None


async def accrued_rewards(db: Db, customer_id: str) -> list[Reward]:
    """The customer's accrued rewards, locked for the rest of the transaction."""
    c = rewards.c
    rows = await db.execute(
        sa.select(rewards)
        .where(c.customer_id == customer_id, c.status == RewardStatus.ACCRUED.value)
        .order_by(c.created_at)
        .with_for_update()
    )
    return [_reward(row) for row in rows]


async def assign_rewards(
    db: Db, order_ids: Sequence[str], *, mint_id: str | None, status: RewardStatus
) -> None:
    await db.execute(
        sa.update(rewards)
        .where(rewards.c.order_id.in_(list(order_ids)))
        .values(mint_id=mint_id, status=status.value)
    )


async def rewards_of_mint(db: Db, mint_id: str) -> list[Reward]:
    rows = await db.execute(sa.select(rewards).where(rewards.c.mint_id == mint_id))
    return [_reward(row) for row in rows]


async def customer_rewards(db: Db, customer_id: str, *, limit: int) -> list[Reward]:
    """The customer's latest rewards, newest first, with their mint's transaction."""
    r, m = rewards.c, reward_mints.c
    rows = await db.execute(
        sa.select(rewards, m.tx_hash)
        .select_from(rewards.outerjoin(reward_mints, r.mint_id == m.id))
        .where(r.customer_id == customer_id)
        .order_by(r.created_at.desc(), r.order_id)
        .limit(limit)
    )
    return [_reward(row, tx_hash=row.tx_hash or "") for row in rows]


async def reward_sums(db: Db, customer_id: str) -> dict[RewardStatus, int]:
    r = rewards.c
    rows = await db.execute(
        sa.select(r.status, sa.func.sum(r.amount).label("total"))
        .where(r.customer_id == customer_id)
        .group_by(r.status)
    )
    return {RewardStatus(row.status): int(row.total) for row in rows}


def _reward(row: Any, *, tx_hash: str = "") -> Reward:
    return Reward(
        order_id=row.order_id,
        customer_id=row.customer_id,
        amount=int(row.amount),
        status=RewardStatus(row.status),
        created_at=row.created_at,
        tx_hash=tx_hash,
    )


# --- mints -----------------------------------------------------------------------------------


async def insert_mint(db: Db, mint: Mint, now: datetime) -> None:
    await db.execute(
        sa.insert(reward_mints).values(
            id=mint.id,
            customer_id=mint.customer_id,
            address=mint.address,
            amount=mint.amount,
            status=mint.status.value,
            attempts=mint.attempts,
            next_attempt_at=now,
            failure="",
            created_at=now,
            updated_at=now,
        )
    )


async def due_pending_mints(db: Db, now: datetime, *, limit: int) -> list[Mint]:
    """Pending mints due now, oldest first, locked (skipping those another replica holds)."""
    c = reward_mints.c
    rows = await db.execute(
        sa.select(reward_mints)
        .where(c.status == MintStatus.PENDING.value, c.next_attempt_at <= now)
        .order_by(c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_mint(row) for row in rows]


async def sent_mints(db: Db, *, limit: int) -> list[Mint]:
    c = reward_mints.c
    rows = await db.execute(
        sa.select(reward_mints)
        .where(c.status == MintStatus.SENT.value)
        .order_by(c.nonce)
        .limit(limit)
    )
    return [_mint(row) for row in rows]


async def mint_by_id(db: Db, mint_id: str, *, status: MintStatus) -> Mint | None:
    """The mint, locked, if it is still in `status` (another replica may have moved it)."""
    c = reward_mints.c
    row = (
        await db.execute(
            sa.select(reward_mints)
            .where(c.id == mint_id, c.status == status.value)
            .with_for_update()
        )
    ).first()
    return None if row is None else _mint(row)


async def highest_sent_nonce(db: Db, operator: str) -> int | None:
    c = reward_mints.c
    highest = (
        await db.execute(
            sa.select(sa.func.max(c.nonce)).where(
                c.operator == operator, c.status == MintStatus.SENT.value
            )
        )
    ).scalar()
    return None if highest is None else int(highest)


async def update_mint(db: Db, mint_id: str, now: datetime, **values: Any) -> None:
    if isinstance(values.get("status"), MintStatus):
        values["status"] = values["status"].value
    await db.execute(
        sa.update(reward_mints).where(reward_mints.c.id == mint_id).values(updated_at=now, **values)
    )


async def lock_operator_nonces(db: Db, operator: str) -> None:
    """Serialize nonce allocation for `operator` across replicas (until the transaction ends)."""
    await db.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(operator.lower(), 0)))
    )


def _mint(row: Any) -> Mint:
    return Mint(
        id=row.id,
        customer_id=row.customer_id,
        address=row.address,
        amount=int(row.amount),
        status=MintStatus(row.status),
        attempts=row.attempts,
        operator=row.operator,
        nonce=row.nonce,
        tx_hash=row.tx_hash,
        raw_tx=None if row.raw_tx is None else bytes(row.raw_tx),
        block_number=row.block_number,
        failure=row.failure,
    )
