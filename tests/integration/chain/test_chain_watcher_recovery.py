"""The watcher survives: stopped mid-range or cancelled mid-pass it resumes from its checkpoint
with nothing missed or doubled; a node down for a while is retried with backoff and caught up."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path

from chain_watch_support import USDT, chain_bed, eventually
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora.chain import store

CONFIRMED = "chain.transfer.confirmed"


async def test_a_watcher_stopped_mid_range_resumes_with_nothing_missed_or_doubled(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js, max_block_range=3) as bed:
        deposits = [await bed.options(5 * USDT, speed=pb.SPEED_LOW) for _ in range(8)]
        sent = [bed.transfer_usdt(d.deposit_address, 5 * USDT) for d in deposits]
        first = bed.watcher()
        assert await first.step() is False
        assert await first.step() is False
        await first.close()
        async with bed.engine.connect() as conn:
            partway = (await store.network(conn, bed.chain_id)).checkpoint_block
        assert 0 < partway < bed.w3.eth.block_number

        # A second one, cancelled at whatever point of a pass it has reached.
        second = bed.watcher()
        task = asyncio.create_task(second.run())
        await eventually(lambda: _recorded_at_least(bed, 3), what="some transfers recorded")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

        third = bed.watcher()
        await third.catch_up()
        rows = await bed.transfer_rows()
        assert sorted(r.tx_hash for r in rows) == sorted(sent)
        assert {r.status for r in rows} == {2}
        counts = Counter(await bed.events())
        assert {subject for subject, _ in counts} == {CONFIRMED}
        assert len(counts) == len(sent)
        assert set(counts.values()) == {1}  # each announced once, confirmed when first seen
        await third.close()


async def _recorded_at_least(bed: object, count: int) -> bool:
    rows = await bed.transfer_rows()  # type: ignore[attr-defined]
    return len(rows) >= count


async def test_a_node_outage_is_retried_and_caught_up(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    state = tmp_path / "anvil-state"
    async with chain_bed(tmp_path, chain_engine, chain_js, state_dir=state) as bed:
        before = await bed.options(5 * USDT, speed=pb.SPEED_LOW)
        after = await bed.options(5 * USDT, speed=pb.SPEED_LOW)
        watcher = bed.watcher()
        task = asyncio.create_task(watcher.run())
        try:
            bed.transfer_usdt(before.deposit_address, 5 * USDT)
            await eventually(lambda: _statuses(bed, {2}, 1), what="the first transfer confirmed")
            bed.anvil.stop()
            # Six failed passes: the backoff (0.2 s doubling) keeps the node down ~12 s.
            await eventually(lambda: _failed(watcher, 6), what="the watcher retrying")
            bed.anvil.start()
            bed.transfer_usdt(after.deposit_address, 5 * USDT)
            await eventually(lambda: _statuses(bed, {2}, 2), what="both transfers confirmed")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert watcher.failures == 0
        subjects = [subject for subject, _ in await bed.events()]
        assert Counter(subjects) == {CONFIRMED: 2}


async def _statuses(bed: object, statuses: set[int], count: int) -> bool:
    rows = await bed.transfer_rows()  # type: ignore[attr-defined]
    return len(rows) == count and {r.status for r in rows} == statuses


async def _failed(watcher: object, times: int) -> bool:
    return int(watcher.failures) >= times  # type: ignore[attr-defined]


async def test_new_heads_arrive_over_the_websocket_subscription(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    # Polling only every minute: a transfer seen sooner was announced by newHeads.
    async with chain_bed(tmp_path, chain_engine, chain_js, poll_interval_s=60) as bed:
        options = await bed.options(5 * USDT, speed=pb.SPEED_LOW)
        watcher = bed.watcher()
        await watcher.catch_up()
        task = asyncio.create_task(watcher.run())
        try:
            await asyncio.sleep(0)  # let it subscribe before the block comes
            await eventually(lambda: _subscribed(watcher), what="the newHeads subscription")
            bed.transfer_usdt(options.deposit_address, 5 * USDT)
            await eventually(
                lambda: _statuses(bed, {2}, 1), timeout_s=30, what="the transfer confirmed"
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _subscribed(watcher: object) -> bool:
    heads = watcher.heads  # type: ignore[attr-defined]
    return heads is not None and bool(heads.connected)
