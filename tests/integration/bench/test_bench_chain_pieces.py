"""`agora bench chain`'s pieces: the block plan, percentiles, the summary and its report, and
driving blocks by hand on a real anvil node (the node's mining mode restored after)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from anvil_support import running_anvil

from agora.bench.chain import (
    ChainRound,
    MiningByHand,
    Target,
    block_plan,
    drive_blocks,
    fund_senders,
    markdown,
    percentile,
    sign_transfers,
    summarize,
    transfer_calldata,
)
from agora.chain.contracts import deploy_dev_contracts, dev_deployer
from agora.chain.node import JsonRpc
from agora.platform.embedded.anvil import dev_account


def test_block_plan_spreads_payments_evenly() -> None:
    assert block_plan(2000, 20) == [100] * 20
    assert block_plan(10, 4) == [3, 3, 2, 2]
    assert sum(block_plan(1999, 7)) == 1999
    with pytest.raises(ValueError, match="empty"):
        block_plan(3, 4)
    with pytest.raises(ValueError, match="positive"):
        block_plan(0, 1)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0
    with pytest.raises(ValueError, match="q must"):
        percentile(values, 0)


def test_transfer_calldata_is_the_erc20_call() -> None:
    data = transfer_calldata("0x" + "ab" * 20, 1_000_000)
    assert data == "0xa9059cbb" + "0" * 24 + "ab" * 20 + format(1_000_000, "064x")
    with pytest.raises(ValueError, match="not an address"):
        transfer_calldata("0x1234", 1)


def test_summary_measures_from_each_invoice_block() -> None:
    run = ChainRound(payments=4, blocks=2, confirmations=1)
    run.mined_at = {10: 100.0, 11: 100.5}
    run.block_of = {"a": 10, "b": 10, "c": 11, "d": 11}
    run.detected_at = {"a": 100.1, "b": 100.2, "c": 100.6, "d": 100.7}
    run.settled_at = {"a": 100.3, "b": 100.4, "c": 100.8}  # d never settled
    run.cpu_s = {"payments": 0.3, "chain": 0.15}
    summary = summarize(run)
    assert summary.settled == 3
    assert summary.detected == 4
    assert summary.latency_p50_ms == pytest.approx(300)
    assert summary.latency_max_ms == pytest.approx(400)
    assert summary.last_block_to_settled_s == pytest.approx(0.3)
    assert summary.settled_per_s == pytest.approx(3 / 0.8)
    assert summary.detected_per_s == pytest.approx(4 / 0.7)
    assert summary.cpu_ms_per_transfer == {"chain": pytest.approx(50), "payments": 100}
    report = markdown([summary])
    assert "| 1 | 3/4 |" in report
    assert "payments 100.00" in report
    assert "4 USDT payments over 2 blocks mined as fast as the node can (a burst)" in report


def test_the_report_says_how_far_apart_the_blocks_were_mined() -> None:
    paced = ChainRound(payments=2, blocks=2, confirmations=1, block_interval_s=1.0)
    paced.mined_at = {10: 100.0, 11: 101.0}
    paced.block_of = {"a": 10, "b": 11}
    paced.settled_at = {"a": 100.2, "b": 101.2}
    summary = summarize(paced)
    assert summary.block_interval_s == 1.0
    assert "2 USDT payments over 2 blocks mined 1 s apart," in markdown([summary])
    burst = summarize(ChainRound(payments=2, blocks=2, confirmations=1))
    both = markdown([burst, summary])
    assert "round 1: mined as fast as the node can (a burst), round 2: mined 1 s apart" in both


@pytest.mark.parametrize("block_interval_s", [0.0, 0.4])
def test_blocks_driven_by_hand_hold_their_planned_transfers(
    tmp_path: Path, block_interval_s: float
) -> None:
    with running_anvil(tmp_path, block_time_s=1) as node:
        deployment = deploy_dev_contracts(node.web3(), treasury=dev_account(9).address)
        senders = [dev_account(1), dev_account(2)]
        targets = [Target(f"invoice-{i}", dev_account(20 + i).address, 10**6) for i in range(6)]

        async def scenario() -> tuple[ChainRound, list[object], list[object]]:
            rpc = JsonRpc(node.url)
            try:
                needs: dict[str, int] = {s.address: 3 * 10**6 for s in senders}
                await fund_senders(rpc, dev_deployer(), deployment.usdt, node.chain_id, needs)
                signed = await sign_transfers(rpc, senders, deployment.usdt, node.chain_id, targets)
                run = ChainRound(
                    payments=6, blocks=2, confirmations=1, block_interval_s=block_interval_s
                )
                async with MiningByHand(rpc):
                    assert await rpc.call("anvil_getIntervalMining") in (0, None)
                    await drive_blocks(rpc, run, block_plan(6, 2), signed)
                mode = await rpc.batch([("anvil_getAutomine", []), ("anvil_getIntervalMining", [])])
                receipts = await rpc.batch(
                    [("eth_getTransactionReceipt", [s.tx_hash]) for s in signed]
                )
                return run, mode, receipts
            finally:
                await rpc.close()

        run, mode, receipts = asyncio.run(scenario())
    first, second = sorted(run.mined_at)
    assert second == first + 1
    # Paced: the second block is mined no sooner than the interval after the first.
    assert run.mined_at[second] - run.mined_at[first] >= block_interval_s
    assert [run.block_of[t.invoice_id] for t in targets] == [first] * 3 + [second] * 3
    assert all(r["status"] == "0x1" for r in receipts)  # type: ignore[index]
    assert mode == [False, 1]  # interval mining back on, as the node ran before
