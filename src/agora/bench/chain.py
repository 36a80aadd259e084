"""`agora bench chain`: on-chain payments detected and settled, on the stack's dev chain.

A round: N invoices payable in USDT are created through payments' gRPC (provider `chain`, as
`service:bench`), each with its own deposit address. N USDT transfers to those addresses are
signed beforehand by the dev wallets. The node's mining is then driven by hand: each block's
transactions are sent (one JSON-RPC batch) and the block is mined with `evm_mine`, its wall time
recorded when the node answers; the node's mining mode is restored afterwards. The blocks are
mined as fast as the node can (a burst: the default), or each `block_interval_s` after the
previous one (1.0 is the embedded chain's block time): latency under a backlog, or under
realistic pacing. Every invoice's `payments.invoice.settled` (and the first
`chain.transfer.detected` naming it) is timed as it arrives on NATS.

Per invoice, latency = settled - mined time of the block holding its transfer (the block is
read back from the node, not assumed). The round reports p50/p99/max of it, the time from the
last block to the last invoice settled, and transfers/s = N / (last settled - first block).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import nats
from eth_account.signers.local import LocalAccount
from nats.aio.msg import Msg
from web3 import Web3

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora._proto.agora.chain.v1 import events_pb2 as chain_events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora._proto.agora.payments.v1 import payments_pb2_grpc
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.chain.node import JsonRpc

SETTLED = "payments.invoice.settled"
# A transfer's first announcement: `detected`, or `confirmed` alone when it already has its
# confirmations when first seen (each transfer of the bench, at 1 confirmation). Both carry
# the same Transfer message as field 1.
DETECTED = ("chain.transfer.detected", "chain.transfer.confirmed")
PAY_CURRENCY = "USDT"
TRANSFER_SELECTOR = "a9059cbb"  # transfer(address,uint256)
TRANSFER_GAS = 100_000
CREATE_CONCURRENCY = 8
CREATE_ATTEMPTS = 3
_TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class BenchSetupError(RuntimeError):
    """The stack cannot run the bench as configured (what it needs is in the message)."""


# --- the pure pieces ----------------------------------------------------------------------------


def block_plan(payments: int, blocks: int) -> list[int]:
    """How many transfers each block carries: `payments` spread over `blocks`, the first
    blocks taking one more when it does not divide."""
    if payments < 1 or blocks < 1:
        raise ValueError("payments and blocks must be positive")
    if blocks > payments:
        raise ValueError("more blocks than payments: a block would be empty")
    size, extra = divmod(payments, blocks)
    return [size + 1 if index < extra else size for index in range(blocks)]


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q` quantile (0 < q <= 1) of `values`; 0.0 for none."""
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n * q), at least the first
    return ordered[int(rank) - 1]


def transfer_calldata(to: str, amount: int) -> str:
    """ABI-encoded `transfer(to, amount)`."""
    address = to.lower().removeprefix("0x")
    if len(address) != 40:
        raise ValueError(f"not an address: {to!r}")
    if not 0 < amount < 2**256:
        raise ValueError("amount must be positive and below 2**256")
    return "0x" + TRANSFER_SELECTOR + address.rjust(64, "0") + format(amount, "064x")


@dataclass
class ChainRound:
    """What one round observed; times are `time.monotonic()` seconds."""

    payments: int
    blocks: int
    confirmations: int
    block_interval_s: float = 0.0  # 0: mined as fast as the node can (a burst)
    mined_at: dict[int, float] = field(default_factory=dict)  # block number -> mined
    block_of: dict[str, int] = field(default_factory=dict)  # invoice id -> its block
    detected_at: dict[str, float] = field(default_factory=dict)
    settled_at: dict[str, float] = field(default_factory=dict)
    send_s: float = 0.0  # the burst: first transactions sent -> last block mined
    # CPU seconds each process of the stack spent from the first block to the last settlement.
    cpu_s: dict[str, float] = field(default_factory=dict)
    load_average: float = 0.0  # the machine's 1-minute load when the blocks were mined


@dataclass(frozen=True)
class RoundSummary:
    payments: int
    blocks: int
    confirmations: int
    block_interval_s: float
    settled: int
    detected: int
    burst_s: float  # first block mined -> last block mined
    last_block_to_settled_s: float
    settled_per_s: float
    detected_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    detect_p50_ms: float
    detect_p99_ms: float
    load_average: float
    cpu_ms_per_transfer: dict[str, float]  # by process of the stack, over the settled ones

    @property
    def stack_cpu_ms_per_transfer(self) -> float:
        return sum(self.cpu_ms_per_transfer.values())


def summarize(run: ChainRound) -> RoundSummary:
    """The round's numbers. Invoices never settled count in neither rate nor latency (the
    summary says how many settled)."""
    first_block = min(run.mined_at.values(), default=0.0)
    last_block = max(run.mined_at.values(), default=0.0)

    def latencies(seen: dict[str, float]) -> list[float]:
        return [
            (at - run.mined_at[run.block_of[invoice]]) * 1000
            for invoice, at in seen.items()
            if invoice in run.block_of and run.block_of[invoice] in run.mined_at
        ]

    def rate(seen: dict[str, float]) -> float:
        if not seen:
            return 0.0
        span = max(seen.values()) - first_block
        return len(seen) / span if span > 0 else 0.0

    settled = latencies(run.settled_at)
    detected = latencies(run.detected_at)
    last_settled = max(run.settled_at.values(), default=last_block)
    return RoundSummary(
        payments=run.payments,
        blocks=run.blocks,
        confirmations=run.confirmations,
        block_interval_s=run.block_interval_s,
        settled=len(run.settled_at),
        detected=len(run.detected_at),
        burst_s=last_block - first_block,
        last_block_to_settled_s=max(0.0, last_settled - last_block),
        settled_per_s=rate(run.settled_at),
        detected_per_s=rate(run.detected_at),
        latency_p50_ms=percentile(settled, 0.5),
        latency_p99_ms=percentile(settled, 0.99),
        latency_max_ms=max(settled, default=0.0),
        detect_p50_ms=percentile(detected, 0.5),
        detect_p99_ms=percentile(detected, 0.99),
        load_average=run.load_average,
        cpu_ms_per_transfer={
            name: seconds * 1000 / max(1, len(run.settled_at))
            for name, seconds in sorted(run.cpu_s.items())
        },
    )


HEADERS = (
    "round",
    "settled",
    "blocks mined in s",
    "last block → all settled s",
    "settled transfers/s",
    "detected transfers/s",
    "block → settled p50 / p99 / max ms",
    "block → detected p50 / p99 ms",
    "load (1 min)",
    "stack CPU ms/transfer",
)


def rows(summaries: Sequence[RoundSummary]) -> list[tuple[str, ...]]:
    return [
        (
            str(index),
            f"{s.settled}/{s.payments}",
            f"{s.burst_s:.2f}",
            f"{s.last_block_to_settled_s:.2f}",
            f"{s.settled_per_s:.0f}",
            f"{s.detected_per_s:.0f}",
            f"{s.latency_p50_ms:.0f} / {s.latency_p99_ms:.0f} / {s.latency_max_ms:.0f}",
            f"{s.detect_p50_ms:.0f} / {s.detect_p99_ms:.0f}",
            f"{s.load_average:.1f}",
            f"{s.stack_cpu_ms_per_transfer:.2f}",
        )
        for index, s in enumerate(summaries, start=1)
    ]


def pacing(block_interval_s: float) -> str:
    """How a round's blocks were mined, in words."""
    if block_interval_s <= 0:
        return "mined as fast as the node can (a burst)"
    return f"mined {block_interval_s:g} s apart"


def markdown(summaries: Sequence[RoundSummary]) -> str:
    """The rounds as a markdown table, with the settings they ran with."""
    if not summaries:
        return "(no rounds)"
    first = summaries[0]
    paced = {s.block_interval_s for s in summaries}
    mined = (
        pacing(first.block_interval_s)
        if len(paced) == 1
        else ", ".join(
            f"round {i}: {pacing(s.block_interval_s)}" for i, s in enumerate(summaries, 1)
        )
    )
    lines = [
        f"{first.payments} USDT payments over {first.blocks} blocks {mined}, "
        f"{first.confirmations} confirmation(s) required",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---:|" * len(HEADERS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(summaries)]
    lines += ["", "CPU ms per settled transfer, by process:", ""]
    for index, s in enumerate(summaries, start=1):
        spent = ", ".join(
            f"{name} {ms:.2f}" for name, ms in s.cpu_ms_per_transfer.items() if ms >= 0.005
        )
        lines.append(f"- round {index}: {spent or 'not measured (no status file)'}")
    return "\n".join(lines)


def stack_cpu_seconds(status_file: Path) -> dict[str, float]:
    """CPU seconds (user + system) each process of the running stack has used so far, its
    children included (PostgreSQL's backends); {} without a status file."""
    import psutil

    try:
        processes = json.loads(status_file.read_text())["processes"]
    except (OSError, ValueError, KeyError):
        return {}
    used = {}
    for entry in processes:
        try:
            root = psutil.Process(int(entry["pid"]))
            total = 0.0
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system
        except (psutil.Error, KeyError, TypeError, ValueError):
            continue
        used[str(entry["name"])] = total
    return used


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: max(0.0, after[name] - before.get(name, 0.0)) for name in after}


# --- against the stack --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    invoice_id: str
    pay_to: str
    amount: int


class SettleWatch:
    """Times `payments.invoice.settled` and the first `chain.transfer.detected` per invoice."""

    def __init__(self, run: ChainRound, invoices: set[str]) -> None:
        self._run = run
        self._invoices = invoices
        self.all_settled = asyncio.Event()

    async def on_settled(self, message: Msg) -> None:
        at = time.monotonic()
        invoice = EventEnvelope.FromString(message.data).aggregate_id
        if invoice in self._invoices and invoice not in self._run.settled_at:
            self._run.settled_at[invoice] = at
            if len(self._run.settled_at) == len(self._invoices):
                self.all_settled.set()

    async def on_detected(self, message: Msg) -> None:
        at = time.monotonic()
        envelope = EventEnvelope.FromString(message.data)
        invoice = chain_events.TransferDetected.FromString(envelope.payload).transfer.invoice_id
        if invoice in self._invoices:
            self._run.detected_at.setdefault(invoice, at)


async def create_invoices(
    payments_address: str,
    authorization: Callable[[], str],
    count: int,
    *,
    amount: int,
    label: str,
) -> tuple[list[Target], int]:
    """`count` chain invoices of `amount` USDT base units (priced in USDT: no exchange rate
    needed); their deposit addresses and the confirmations the first one requires."""
    async with grpc.aio.insecure_channel(payments_address) as channel:
        stub = payments_pb2_grpc.PaymentsServiceStub(channel)  # type: ignore[no-untyped-call]

        async def create(index: int) -> ppb.Invoice:
            request = ppb.CreateInvoiceRequest(
                idempotency_key=str(uuid.uuid4()),
                reference=f"bench-chain-{label}-{index}",
                price=Money(amount_minor=amount, currency=PAY_CURRENCY),
                pay_currency=PAY_CURRENCY,
                expires_in_seconds=3600,
                provider="chain",
            )
            for attempt in range(1, CREATE_ATTEMPTS + 1):
                metadata = (("authorization", authorization()),)
                try:
                    invoice: ppb.Invoice = await stub.CreateInvoice(
                        request, metadata=metadata, timeout=30
                    )
                    return invoice
                except grpc.aio.AioRpcError as error:
                    # The same idempotency key: a retry never makes a second invoice.
                    if error.code() not in _TRANSIENT or attempt == CREATE_ATTEMPTS:
                        raise _setup_error(error) from None
            raise AssertionError("unreachable")

        first = await create(0)
        semaphore = asyncio.Semaphore(CREATE_CONCURRENCY)

        async def limited(index: int) -> ppb.Invoice:
            async with semaphore:
                return await create(index)

        rest = await asyncio.gather(*(limited(i) for i in range(1, count)))
    targets = [Target(i.id, i.instructions.pay_to, int(i.due.base_units)) for i in [first, *rest]]
    return targets, first.confirmations_required


def _setup_error(error: grpc.aio.AioRpcError) -> Exception:
    details = error.details() or ""
    if "provider" in details and "not enabled" in details:
        return BenchSetupError(
            "payments has no `chain` provider: start the stack with "
            "AGORA_PAYMENTS_PROVIDERS='[\"chain\"]' (and AGORA_PAYMENTS_CHAIN_SPEED=low)"
        )
    if error.code() is grpc.StatusCode.PERMISSION_DENIED:
        return BenchSetupError(
            f"service:bench may not create invoices ({details}): the stack runs code without "
            "SERVICE_PERMISSIONS['bench'] holding payments:invoices:write"
        )
    return BenchSetupError(f"CreateInvoice failed: {error.code().name} {details}")


async def payment_token(chain_address: str, invoice_id: str) -> tuple[str, int]:
    """The token contract and chain id an invoice is paid on (chain's public payment options)."""
    async with grpc.aio.insecure_channel(chain_address) as channel:
        stub = chain_pb2_grpc.ChainServiceStub(channel)  # type: ignore[no-untyped-call]
        options: cpb.PaymentOptions = await stub.GetPaymentOptions(
            cpb.GetPaymentOptionsRequest(invoice_id=invoice_id), timeout=10
        )
    return options.token.address, int(options.chain_id)


@dataclass(frozen=True)
class Signed:
    invoice_id: str
    raw: str  # 0x-hex signed transaction
    tx_hash: str


async def sign_transfers(
    rpc: JsonRpc,
    senders: Sequence[LocalAccount],
    token: str,
    chain_id: int,
    targets: Sequence[Target],
) -> list[Signed]:
    """One signed `token.transfer` per target, the senders taking turns (consecutive nonces
    from each one's pending count), with fees good for the next blocks."""
    token = Web3.to_checksum_address(token)
    base_fee = int((await rpc.call("eth_getBlockByNumber", "latest", False))["baseFeePerGas"], 16)
    priority = 10**9
    nonces = [
        int(n, 16)
        for n in await rpc.batch(
            [("eth_getTransactionCount", [s.address, "pending"]) for s in senders]
        )
    ]
    signed = []
    for index, target in enumerate(targets):
        slot = index % len(senders)
        sender = senders[slot]
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonces[slot],
            "to": token,
            "value": 0,
            "data": transfer_calldata(target.pay_to, target.amount),
            "gas": TRANSFER_GAS,
            "maxFeePerGas": 4 * base_fee + priority,
            "maxPriorityFeePerGas": priority,
        }
        nonces[slot] += 1
        result = sender.sign_transaction(tx)
        signed.append(
            Signed(target.invoice_id, result.raw_transaction.to_0x_hex(), result.hash.to_0x_hex())
        )
    return signed


class MiningByHand:
    """Stops the node's own mining (automine, interval) and restores it on exit."""

    def __init__(self, rpc: JsonRpc) -> None:
        self._rpc = rpc
        self._automine: bool | None = None
        self._interval: int | None = None

    async def __aenter__(self) -> MiningByHand:
        self._automine, interval = await self._rpc.batch(
            [("anvil_getAutomine", []), ("anvil_getIntervalMining", [])]
        )
        self._interval = int(interval or 0)
        await self._rpc.batch([("evm_setAutomine", [False]), ("evm_setIntervalMining", [0])])
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._rpc.batch(
            [
                ("evm_setAutomine", [bool(self._automine)]),
                ("evm_setIntervalMining", [self._interval or 0]),
            ]
        )


async def fund_senders(
    rpc: JsonRpc, funder: LocalAccount, token: str, chain_id: int, needs: dict[str, int]
) -> None:
    """Mint the USDT stand-in to senders short of what they will send (the deployer owns it);
    mined before the round starts."""
    token = Web3.to_checksum_address(token)
    short = []
    for address, need in needs.items():
        data = "0x70a08231" + address.lower().removeprefix("0x").rjust(64, "0")
        balance = int(await rpc.call("eth_call", {"to": token, "data": data}, "latest"), 16)
        if balance < need:
            short.append((address, need - balance + 1_000 * 10**6))
    if not short:
        return
    nonce = int(await rpc.call("eth_getTransactionCount", funder.address, "pending"), 16)
    base_fee = int((await rpc.call("eth_getBlockByNumber", "latest", False))["baseFeePerGas"], 16)
    raws = []
    for offset, (address, amount) in enumerate(short):
        data = (
            "0x40c10f19"  # mint(address,uint256)
            + address.lower().removeprefix("0x").rjust(64, "0")
            + format(amount, "064x")
        )
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce + offset,
            "to": token,
            "value": 0,
            "data": data,
            "gas": 200_000,
            "maxFeePerGas": 4 * base_fee + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        raws.append(funder.sign_transaction(tx).raw_transaction.to_0x_hex())
    hashes = await rpc.batch([("eth_sendRawTransaction", [raw]) for raw in raws])
    await rpc.call("evm_mine")
    receipts = await rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
    if any(r is None or r.get("status") != "0x1" for r in receipts):
        raise BenchSetupError(f"could not mint USDT to the senders from {funder.address}")


async def drive_blocks(
    rpc: JsonRpc, run: ChainRound, plan: list[int], signed: list[Signed]
) -> None:
    """Send each block's transactions, mine it (`run.block_interval_s` after the previous one,
    or at once), record when; then read back which block holds each transfer."""
    started = time.monotonic()
    position = 0
    mined: float | None = None
    for size in plan:
        batch = signed[position : position + size]
        position += size
        await rpc.batch([("eth_sendRawTransaction", [s.raw]) for s in batch])
        if mined is not None and run.block_interval_s > 0:
            await asyncio.sleep(max(0.0, mined + run.block_interval_s - time.monotonic()))
        await rpc.call("evm_mine")
        mined = time.monotonic()
        number = int(await rpc.call("eth_blockNumber"), 16)
        run.mined_at[number] = mined
    run.send_s = time.monotonic() - started
    numbers = sorted(run.mined_at)
    blocks = await rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
    block_of_tx = {
        tx: n for n, block in zip(numbers, blocks, strict=True) for tx in block["transactions"]
    }
    for s in signed:
        if s.tx_hash in block_of_tx:
            run.block_of[s.invoice_id] = block_of_tx[s.tx_hash]


async def run_chain_round(
    *,
    rpc_url: str,
    nats_url: str,
    payments_address: str,
    chain_address: str,
    authorization: Callable[[], str],
    senders: Sequence[LocalAccount],
    funder: LocalAccount,
    payments: int,
    blocks: int,
    amount: int,
    timeout_s: float,
    label: str,
    block_interval_s: float = 0.0,
    status_file: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> ChainRound:
    """One round against the running stack (see the module's docstring)."""
    plan = block_plan(payments, blocks)
    progress(f"creating {payments} invoices…")
    started = time.monotonic()
    targets, confirmations = await create_invoices(
        payments_address, authorization, payments, amount=amount, label=label
    )
    progress(f"created in {time.monotonic() - started:.1f} s")
    if confirmations != 1:
        raise BenchSetupError(
            f"the invoices require {confirmations} confirmations; the bench measures 1: start "
            "the stack with AGORA_PAYMENTS_CHAIN_SPEED=low (confirmations_low is 1)"
        )
    token, chain_id = await payment_token(chain_address, targets[0].invoice_id)
    run = ChainRound(
        payments=payments,
        blocks=blocks,
        confirmations=confirmations,
        block_interval_s=block_interval_s,
    )
    watch = SettleWatch(run, {t.invoice_id for t in targets})
    rpc = JsonRpc(rpc_url, timeout_s=60)
    connection = await nats.connect(nats_url)
    try:
        limit = 10 * payments + 10_000
        await connection.subscribe(SETTLED, cb=watch.on_settled, pending_msgs_limit=limit)
        for subject in DETECTED:
            await connection.subscribe(subject, cb=watch.on_detected, pending_msgs_limit=limit)
        needs: dict[str, int] = {}
        for index, target in enumerate(targets):
            address = senders[index % len(senders)].address
            needs[address] = needs.get(address, 0) + target.amount
        await fund_senders(rpc, funder, token, chain_id, needs)
        progress("signing the transfers…")
        signed = await sign_transfers(rpc, senders, token, chain_id, targets)
        await asyncio.sleep(2)  # let the invoices' own events drain: the stack idles
        progress(f"mining {blocks} blocks, {pacing(block_interval_s)}…")
        run.load_average = os.getloadavg()[0]
        cpu_before = stack_cpu_seconds(status_file) if status_file else {}
        async with MiningByHand(rpc):
            await drive_blocks(rpc, run, plan, signed)
        missing = payments - len(run.block_of)
        if missing:
            raise BenchSetupError(f"{missing} transfers did not land in the blocks mined")
        try:
            await asyncio.wait_for(watch.all_settled.wait(), timeout_s)
        except TimeoutError:
            progress(f"timed out: {len(run.settled_at)} of {payments} settled")
        if status_file:
            run.cpu_s = cpu_spent(cpu_before, stack_cpu_seconds(status_file))
    finally:
        await connection.close()
        await rpc.close()
    return run


def dev_senders(indexes: Sequence[int]) -> list[LocalAccount]:
    from agora.platform.embedded.anvil import dev_account

    return [dev_account(i) for i in indexes]
