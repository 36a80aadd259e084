"""The watcher's deposit addresses kept in memory: deposits created after it started are
watched from its next pass, even one whose transaction was still open during a pass; with more
addresses than the node's filter takes, every Transfer is read and only the watched ones kept."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

from chain_watch_support import USDT, Bed, chain_bed
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora.chain import store
from agora.platform.db import session_factory
from agora.platform.kernel.clock import utcnow

CONFIRMED = "chain.transfer.confirmed"


async def _open_deposit(bed: Bed, session: object) -> tuple[str, str]:
    """A deposit inserted in `session`'s transaction, not committed: (invoice id, address)."""
    invoice_id, address = str(uuid.uuid4()), "0x" + os.urandom(20).hex()
    index = await store.next_deposit_index(session)  # type: ignore[arg-type]
    await store.insert_deposit(
        session,  # type: ignore[arg-type]
        {
            "invoice_id": invoice_id,
            "chain_id": bed.chain_id,
            "address": address,
            "derivation_index": index,
            "symbol": "USDT",
            "token_address": bed.deployment.usdt.lower(),
            "amount": 5 * USDT,
            "confirmations_required": 1,
            "expires_at": utcnow() + timedelta(hours=1),
            "created_at": utcnow(),
        },
    )
    return invoice_id, address


async def test_a_deposit_created_after_the_watcher_started_is_watched_from_its_next_pass(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js) as bed:
        before = await bed.options(5 * USDT, speed=pb.SPEED_LOW)
        watcher = bed.watcher()
        await watcher.catch_up()
        assert before.deposit_address.lower() in watcher.watched.addresses()
        after = await bed.options(5 * USDT, speed=pb.SPEED_LOW)
        bed.transfer_usdt(after.deposit_address, 5 * USDT)
        bed.transfer_usdt(before.deposit_address, 5 * USDT)
        await watcher.catch_up()
        paid = {r.invoice_id: (r.status, int(r.amount)) for r in await bed.transfer_rows()}
        assert paid == {before.invoice_id: (2, 5 * USDT), after.invoice_id: (2, 5 * USDT)}
        await watcher.close()


async def test_a_deposit_whose_transaction_commits_after_a_pass_is_still_watched(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js) as bed:
        watcher = bed.watcher()
        sessions = session_factory(chain_engine)
        async with sessions() as session, session.begin():
            invoice_id, address = await _open_deposit(bed, session)
            await watcher.catch_up()  # reads while the deposit's transaction is open
            assert address not in watcher.watched.addresses()
            later = await bed.options(5 * USDT, speed=pb.SPEED_LOW)  # committed meanwhile
            await watcher.catch_up()
            assert later.deposit_address.lower() in watcher.watched.addresses()
        bed.transfer_usdt(address, 5 * USDT)
        await watcher.catch_up()
        (row,) = await bed.transfer_rows()
        assert (row.invoice_id, row.to_address, row.status, row.flags) == (
            invoice_id,
            address,
            2,
            [],
        )
        await watcher.close()


async def test_beyond_the_filter_size_every_transfer_is_read_and_only_watched_ones_kept(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js, max_filter_addresses=1) as bed:
        first = await bed.options(5 * USDT, speed=pb.SPEED_LOW)
        second = await bed.options(3 * USDT, speed=pb.SPEED_LOW)
        stranger = "0x" + os.urandom(20).hex()
        sent = {
            bed.transfer_usdt(first.deposit_address, 5 * USDT): first.invoice_id,
            bed.transfer_usdt(stranger, 4 * USDT): None,
            bed.transfer_usdt(second.deposit_address, 3 * USDT): second.invoice_id,
        }
        watcher = bed.watcher()
        await watcher.catch_up()
        rows = await bed.transfer_rows()
        assert {r.tx_hash: r.invoice_id for r in rows} == {
            tx: invoice for tx, invoice in sent.items() if invoice is not None
        }
        assert {r.to_address for r in rows} == {
            first.deposit_address.lower(),
            second.deposit_address.lower(),
        }
        subjects = [subject for subject, _ in await bed.events()]
        assert subjects == [CONFIRMED, CONFIRMED]
        await watcher.close()
