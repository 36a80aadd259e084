"""Reorgs on a real node (evm_snapshot / evm_revert): a confirmed transfer whose block is dropped
is withdrawn (`chain.transfer.reorged`); when the same transaction is mined again it is detected
and confirmed again, once."""

from __future__ import annotations

from pathlib import Path

from chain_watch_support import USDT, chain_bed
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora.chain.domain import transfer_reference

DETECTED, CONFIRMED, REORGED = (
    "chain.transfer.detected",
    "chain.transfer.confirmed",
    "chain.transfer.reorged",
)


async def test_a_dropped_confirmed_transfer_is_reorged_then_confirmed_once_when_it_reappears(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js) as bed:
        options = await bed.options(5 * USDT, speed=pb.SPEED_LOW)  # 1 confirmation
        kept = await bed.options(5 * USDT, speed=pb.SPEED_LOW)
        kept_tx = bed.transfer_usdt(kept.deposit_address, 5 * USDT)  # before the fork
        watcher = bed.watcher()
        await watcher.catch_up()
        snapshot = bed.anvil.rpc("evm_snapshot")
        raw = bed.signed(bed.usdt().functions.transfer(options.deposit_address, 5 * USDT))
        tx = "0x" + bytes(bed.w3.eth.send_raw_transaction(raw)).hex()
        first_block = bed.w3.eth.wait_for_transaction_receipt(tx)["blockNumber"]
        bed.anvil.mine(2)
        await watcher.catch_up()
        row = next(r for r in await bed.transfer_rows() if r.tx_hash == tx)
        assert (row.status, row.block_number) == (2, first_block)

        assert bed.anvil.rpc("evm_revert", snapshot) is True
        bed.anvil.mine(4)  # a longer branch without the transfer
        await watcher.catch_up()
        by_tx = {r.tx_hash: r for r in await bed.transfer_rows()}
        assert by_tx[tx].status == 3  # reorged
        assert by_tx[kept_tx].status == 2  # its block is still canonical

        bed.w3.eth.send_raw_transaction(raw)  # the same transaction, mined again
        second_block = bed.w3.eth.wait_for_transaction_receipt(tx)["blockNumber"]
        await watcher.catch_up()
        bed.anvil.mine(3)
        await watcher.catch_up()
        by_tx = {r.tx_hash: r for r in await bed.transfer_rows()}
        assert (by_tx[tx].status, by_tx[tx].block_number) == (2, second_block)
        assert second_block != first_block

        kept_ref = transfer_reference(bed.chain_id, kept_tx, by_tx[kept_tx].log_index)
        reference = transfer_reference(bed.chain_id, tx, by_tx[tx].log_index)
        assert await bed.events() == [
            (CONFIRMED, kept_ref),
            (CONFIRMED, reference),
            (REORGED, reference),
            (CONFIRMED, reference),
        ]
        await watcher.close()


async def test_a_detected_transfer_dropped_before_confirming_is_reorged_and_never_confirmed(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js) as bed:
        options = await bed.options(5 * USDT, speed=pb.SPEED_HIGH)  # 3 confirmations
        watcher = bed.watcher()
        await watcher.catch_up()
        snapshot = bed.anvil.rpc("evm_snapshot")
        tx = bed.transfer_usdt(options.deposit_address, 5 * USDT)
        await watcher.catch_up()
        assert [r.status for r in await bed.transfer_rows()] == [1]
        bed.anvil.rpc("evm_revert", snapshot)
        bed.anvil.mine(6)
        await watcher.catch_up()
        (row,) = await bed.transfer_rows()
        assert (row.tx_hash, row.status, row.confirmations) == (tx, 3, 0)
        reference = transfer_reference(bed.chain_id, tx, row.log_index)
        assert await bed.events() == [(DETECTED, reference), (REORGED, reference)]
        await watcher.close()
