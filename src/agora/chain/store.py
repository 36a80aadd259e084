"""Loads and saves the chain service's records (SQLAlchemy Core over asyncpg, statements built
from `tables.py`). Decides nothing: the domain and the watcher do.

The watcher writes a whole block range in one transaction (transfers, blocks, checkpoint and
the outbox events), with multi-row statements: one round trip per kind of row, not per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.chain.domain import (
    Deposit,
    Kind,
    KnownToken,
    Matched,
    Network,
    Observed,
    Policy,
    Status,
    TransferRecord,
)
from agora.chain.tables import (
    blocks,
    deposit_addresses,
    deposit_index_seq,
    networks,
    tokens,
    transfers,
)
from agora.platform.db import driver_connection
from agora.platform.errors import NotFound

Db = AsyncConnection | AsyncSession


# --- networks and tokens ---------------------------------------------------------------------


def _network(row: Any) -> Network:
    return Network(
        chain_id=row.chain_id,
        name=row.name,
        rpc_url=row.rpc_url,
        policy=Policy(
            row.confirmations_low,
            row.confirmations_medium,
            row.confirmations_high,
            row.block_time_ms,
        ),
        treasury_address=row.treasury_address,
        router_address=row.router_address,
        checkpoint_block=row.checkpoint_block,
        head_block=row.head_block,
        version=row.version,
    )


async def upsert_network(db: Db, network: Network, now: datetime) -> None:
    """Insert the configured network; an existing one keeps its policy (staff set it) and
    its checkpoint, and takes the configured name, RPC URL and addresses."""
    values = {
        "chain_id": network.chain_id,
        "name": network.name,
        "rpc_url": network.rpc_url,
        "confirmations_low": network.policy.low,
        "confirmations_medium": network.policy.medium,
        "confirmations_high": network.policy.high,
        "block_time_ms": network.policy.block_time_ms,
        "treasury_address": network.treasury_address,
        "router_address": network.router_address,
        "checkpoint_block": network.checkpoint_block,
        "head_block": network.head_block,
        "version": 1,
        "updated_at": now,
    }
    statement = insert(networks).values(values)
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[networks.c.chain_id],
            set_={
                "name": statement.excluded.name,
                "rpc_url": statement.excluded.rpc_url,
                "treasury_address": statement.excluded.treasury_address,
                "router_address": statement.excluded.router_address,
            },
        )
    )


async def upsert_tokens(db: Db, chain_id: int, known: Iterable[KnownToken]) -> None:
    for token in known:
        statement = insert(tokens).values(
            chain_id=chain_id,
            symbol=token.symbol,
            address=token.address,
            decimals=token.decimals,
            dust_limit=Decimal(token.dust_limit),
        )
        await db.execute(
            statement.on_conflict_do_update(
                index_elements=[tokens.c.chain_id, tokens.c.symbol],
                set_={
                    "address": statement.excluded.address,
                    "decimals": statement.excluded.decimals,
                    "dust_limit": statement.excluded.dust_limit,
                },
            )
        )


async def all_networks(db: Db) -> list[Network]:
    rows = await db.execute(sa.select(networks).order_by(networks.c.chain_id))
    return [_network(r) for r in rows]


async def network(db: Db, chain_id: int, *, for_update: bool = False) -> Network:
    statement = sa.select(networks).where(networks.c.chain_id == chain_id)
    if for_update:
        statement = statement.with_for_update()
    row = (await db.execute(statement)).first()
    if row is None:
        raise NotFound("network", str(chain_id))
    return _network(row)


async def save_policy(db: Db, chain_id: int, policy: Policy, version: int, now: datetime) -> None:
    await db.execute(
        sa.update(networks)
        .where(networks.c.chain_id == chain_id)
        .values(
            confirmations_low=policy.low,
            confirmations_medium=policy.medium,
            confirmations_high=policy.high,
            block_time_ms=policy.block_time_ms,
            version=version,
            updated_at=now,
        )
    )


@dataclass(frozen=True)
class WatchPosition:
    """Where the watcher of a network stands: its checkpoint, that block's stored hash (None:
    not kept), the head last seen."""

    checkpoint: int
    checkpoint_hash: str | None
    head: int


_WATCH_POSITION = """
    SELECT n.checkpoint_block, b.hash, n.head_block
    FROM networks AS n
    LEFT JOIN blocks AS b ON b.chain_id = n.chain_id AND b.number = n.checkpoint_block
    WHERE n.chain_id = $1
"""


async def watch_position(db: Db, chain_id: int) -> WatchPosition:
    """The network's checkpoint, its block's stored hash and the head (one statement)."""
    row = await (await driver_connection(db)).fetchrow(_WATCH_POSITION, chain_id)
    if row is None:
        raise NotFound("network", str(chain_id))
    return WatchPosition(row[0], row[1], row[2])


async def lock_checkpoint(db: Db, chain_id: int) -> tuple[int, int]:
    """Lock the network's row until commit: (its checkpoint, the confirmations a transfer naming
    no invoice is counted to: the medium policy)."""
    row = await (await driver_connection(db)).fetchrow(
        "SELECT checkpoint_block, confirmations_medium FROM networks"
        " WHERE chain_id = $1 FOR UPDATE",
        chain_id,
    )
    if row is None:
        raise NotFound("network", str(chain_id))
    return row[0], row[1]


# One statement: keep the blocks read (those not already out of the window), forget the blocks
# out of the window, move the checkpoint.
_ADVANCE = """
    WITH kept AS (
        INSERT INTO blocks (chain_id, number, hash, parent_hash)
        SELECT $1, k.number, k.hash, k.parent_hash
        FROM unnest($2::bigint[], $3::text[], $4::text[]) AS k (number, hash, parent_hash)
        WHERE k.number >= $5
        ON CONFLICT (chain_id, number)
        DO UPDATE SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash
    ), forgotten AS (
        DELETE FROM blocks WHERE chain_id = $1 AND number < $5
    )
    UPDATE networks SET checkpoint_block = $6, head_block = $7, updated_at = $8
    WHERE chain_id = $1
"""


async def advance_checkpoint(
    db: Db,
    chain_id: int,
    headers: Sequence[tuple[int, str, str]],
    *,
    forget_below: int,
    checkpoint: int,
    head: int,
    now: datetime,
) -> None:
    """Keep `headers` (number, hash, parent hash), forget the blocks below `forget_below`, and
    move the checkpoint to `checkpoint` at `head`."""
    await (await driver_connection(db)).execute(
        _ADVANCE,
        chain_id,
        [h[0] for h in headers],
        [h[1] for h in headers],
        [h[2] for h in headers],
        forget_below,
        checkpoint,
        head,
        now,
    )


async def save_checkpoint(db: Db, chain_id: int, checkpoint: int, head: int, now: datetime) -> None:
    await db.execute(
        sa.update(networks)
        .where(networks.c.chain_id == chain_id)
        .values(checkpoint_block=checkpoint, head_block=head, updated_at=now)
    )


async def network_tokens(db: Db, chain_id: int | None = None) -> list[KnownToken]:
    statement = sa.select(tokens).order_by(tokens.c.chain_id, tokens.c.symbol)
    if chain_id:
        statement = statement.where(tokens.c.chain_id == chain_id)
    rows = await db.execute(statement)
    return [KnownToken(r.symbol, r.address, r.decimals, int(r.dust_limit)) for r in rows]


async def tokens_with_chain(db: Db, chain_id: int | None = None) -> list[tuple[int, KnownToken]]:
    statement = sa.select(tokens).order_by(tokens.c.chain_id, tokens.c.symbol)
    if chain_id:
        statement = statement.where(tokens.c.chain_id == chain_id)
    rows = await db.execute(statement)
    return [
        (r.chain_id, KnownToken(r.symbol, r.address, r.decimals, int(r.dust_limit))) for r in rows
    ]


# --- deposit addresses -----------------------------------------------------------------------


def _deposit(row: Any) -> Deposit:
    return Deposit(
        invoice_id=row.invoice_id,
        address=row.address,
        token=row.token_address,
        expires_at=row.expires_at,
        confirmations_required=row.confirmations_required,
    )


async def next_deposit_index(db: Db) -> int:
    index: int = (await db.execute(sa.select(deposit_index_seq.next_value()))).scalar_one()
    return index


async def insert_deposit(db: Db, values: dict[str, Any]) -> bool:
    """Record an invoice's deposit address; False when the invoice already has one."""
    inserted = await db.execute(
        insert(deposit_addresses)
        .values(values)
        .on_conflict_do_nothing(index_elements=[deposit_addresses.c.invoice_id])
        .returning(deposit_addresses.c.invoice_id)
    )
    return inserted.first() is not None


async def deposit_row(db: Db, invoice_id: str) -> Any | None:
    statement = sa.select(deposit_addresses).where(deposit_addresses.c.invoice_id == invoice_id)
    return (await db.execute(statement)).first()


async def deposits_for(
    db: Db, chain_id: int, *, addresses: Sequence[str], invoice_ids: Sequence[str]
) -> tuple[dict[str, Deposit], dict[str, Deposit]]:
    """The deposits of `addresses` and of `invoice_ids`, in one query: (by address, by id)."""
    if not addresses and not invoice_ids:
        return {}, {}
    rows = await db.execute(
        sa.select(deposit_addresses).where(
            deposit_addresses.c.chain_id == chain_id,
            sa.or_(
                deposit_addresses.c.address.in_(list(addresses)),
                deposit_addresses.c.invoice_id.in_(list(invoice_ids)),
            ),
        )
    )
    found = [_deposit(r) for r in rows]
    return {d.address: d for d in found}, {d.invoice_id: d for d in found}


# One statement: the deposits still watched that transactions at or above $2 wrote, and the
# horizon of this read (its snapshot's oldest running transaction); one row of NULLs and the
# horizon when there are none.
_DEPOSITS_SINCE = """
    WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xid)
    SELECT horizon.xid, d.invoice_id::text AS invoice_id, d.address, d.token_address,
           d.expires_at, d.confirmations_required
    FROM horizon LEFT JOIN deposit_addresses AS d
        ON d.chain_id = $1 AND d.created_xid >= $2
        AND (d.expires_at IS NULL OR d.expires_at > $3)
"""


async def deposits_since(
    db: Db, chain_id: int, horizon: int | None, *, expired_after: datetime
) -> tuple[list[Deposit], int]:
    """The deposits still watched (not expired, or expired after `expired_after`: late payments
    are still recorded) that transactions at or above `horizon` created (all when None), and the
    horizon to read from next time: every transaction below it has finished, so a deposit not
    read now (its transaction still running) is read then."""
    raw = await driver_connection(db)
    rows = await raw.fetch(_DEPOSITS_SINCE, chain_id, horizon or 0, expired_after)
    found = [
        Deposit(
            invoice_id=r["invoice_id"],
            address=r["address"],
            token=r["token_address"],
            expires_at=r["expires_at"],
            confirmations_required=r["confirmations_required"],
        )
        for r in rows
        if r["invoice_id"] is not None
    ]
    return found, int(rows[0]["xid"])


# --- transfers -------------------------------------------------------------------------------


def _record(row: Any) -> TransferRecord:
    """A transfer from a row (SQLAlchemy's `row._mapping`, or an asyncpg record)."""
    log = Observed(
        tx_hash=row["tx_hash"],
        log_index=row["log_index"],
        block_number=row["block_number"],
        block_hash=row["block_hash"],
        block_time=row["block_time"],
        kind=Kind(row["kind"]),
        token=row["token_address"],
        from_address=row["from_address"],
        to_address=row["to_address"],
        amount=int(row["amount"]),
    )
    matched = Matched(
        invoice_id=None if row["invoice_id"] is None else str(row["invoice_id"]),
        symbol=row["symbol"],
        flags=tuple(row["flags"]),
        confirmations_required=row["confirmations_required"],
    )
    return TransferRecord(
        row["chain_id"], log, matched, row["confirmations"], Status(row["status"])
    )


_STATUSES = """
    SELECT t.tx_hash, t.log_index, t.status
    FROM unnest($2::text[], $3::int[]) AS k (tx_hash, log_index)
    JOIN transfers AS t
        ON t.chain_id = $1 AND t.tx_hash = k.tx_hash AND t.log_index = k.log_index
"""


async def transfer_statuses(
    db: Db, chain_id: int, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], Status]:
    """The status of each already recorded (tx hash, log index) of `keys`."""
    if not keys:
        return {}
    raw = await driver_connection(db)
    rows = await raw.fetch(_STATUSES, chain_id, [k[0] for k in keys], [k[1] for k in keys])
    return {(r["tx_hash"], r["log_index"]): Status(r["status"]) for r in rows}


_COLUMNS = [c.name for c in transfers.columns]
_KEY = ("chain_id", "tx_hash", "log_index")
# Every record of a pass in one statement (asyncpg prepares it once per connection); flags
# travel as one space-separated string per record (arrays of arrays must be rectangular).
_SAVE_TRANSFERS = f"""
    INSERT INTO transfers ({", ".join(_COLUMNS)})
    SELECT r.chain_id, r.tx_hash, r.log_index, r.block_number, r.block_hash, r.block_time,
        r.kind, r.token_address, r.symbol, r.from_address, r.to_address, r.amount,
        r.invoice_id, r.confirmations, r.confirmations_required, r.status,
        string_to_array(r.flags, ' '), $18
    FROM unnest(
        $1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::timestamptz[],
        $7::smallint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::numeric[],
        $13::uuid[], $14::int[], $15::int[], $16::smallint[], $17::text[]
    ) AS r (chain_id, tx_hash, log_index, block_number, block_hash, block_time, kind,
        token_address, symbol, from_address, to_address, amount, invoice_id, confirmations,
        confirmations_required, status, flags)
    ON CONFLICT ({", ".join(_KEY)}) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c not in _KEY)}
"""


async def save_transfers(db: Db, records: Sequence[TransferRecord], now: datetime) -> None:
    """Insert or overwrite `records` (one statement)."""
    if not records:
        return
    logs = [r.log for r in records]
    matched = [r.matched for r in records]
    raw = await driver_connection(db)
    await raw.execute(
        _SAVE_TRANSFERS,
        [r.chain_id for r in records],
        [log.tx_hash for log in logs],
        [log.log_index for log in logs],
        [log.block_number for log in logs],
        [log.block_hash for log in logs],
        [log.block_time for log in logs],
        [int(log.kind) for log in logs],
        [log.token for log in logs],
        [m.symbol for m in matched],
        [log.from_address for log in logs],
        [log.to_address for log in logs],
        [Decimal(log.amount) for log in logs],
        [m.invoice_id for m in matched],
        [r.confirmations for r in records],
        [m.confirmations_required for m in matched],
        [int(r.status) for r in records],
        [" ".join(m.flags) for m in matched],
        now,
    )


_WAITING = """
    SELECT * FROM transfers
    WHERE chain_id = $1 AND status = 1 AND (cardinality(flags) = 0 OR block_number >= $2)
"""


async def detected_transfers(db: Db, chain_id: int, since_block: int) -> list[TransferRecord]:
    """Transfers still counting confirmations: unflagged ones, and flagged ones of recent
    blocks (a flagged transfer is never confirmed; its count stops once out of the window).
    Read on every pass of the watcher: through `ix_transfers_waiting`."""
    raw = await driver_connection(db)
    return [_record(r) for r in await raw.fetch(_WAITING, chain_id, since_block)]


async def live_transfers_after(db: Db, chain_id: int, block: int) -> list[TransferRecord]:
    """Transfers not yet reorged in blocks above `block`."""
    rows = await db.execute(
        sa.select(transfers).where(
            transfers.c.chain_id == chain_id,
            transfers.c.block_number > block,
            transfers.c.status != int(Status.REORGED),
        )
    )
    return [_record(r._mapping) for r in rows]


async def transfers_page(
    db: Db,
    *,
    invoice_id: str | None,
    flagged_only: bool,
    after: tuple[int, str, int] | None,
    limit: int,
) -> list[TransferRecord]:
    """Transfers oldest first (block, tx hash, log index), after the position `after`."""
    statement = sa.select(transfers)
    if invoice_id:
        statement = statement.where(transfers.c.invoice_id == invoice_id)
    if flagged_only:
        statement = statement.where(sa.func.cardinality(transfers.c.flags) > 0)
    order = sa.tuple_(transfers.c.block_number, transfers.c.tx_hash, transfers.c.log_index)
    if after is not None:
        statement = statement.where(order > sa.tuple_(*(sa.literal(v) for v in after)))
    statement = statement.order_by(
        transfers.c.block_number, transfers.c.tx_hash, transfers.c.log_index
    ).limit(limit)
    return [_record(r._mapping) for r in await db.execute(statement)]


# --- blocks ----------------------------------------------------------------------------------


async def stored_blocks(db: Db, chain_id: int) -> dict[int, str]:
    rows = await db.execute(
        sa.select(blocks.c.number, blocks.c.hash).where(blocks.c.chain_id == chain_id)
    )
    return {r.number: r.hash for r in rows}


async def forget_blocks(
    db: Db, chain_id: int, *, above: int | None = None, below: int | None = None
) -> None:
    """Delete the stored blocks above `above` (a reorg) or below `below` (out of the window)."""
    statement = sa.delete(blocks).where(blocks.c.chain_id == chain_id)
    if above is not None:
        statement = statement.where(blocks.c.number > above)
    if below is not None:
        statement = statement.where(blocks.c.number < below)
    await db.execute(statement)
