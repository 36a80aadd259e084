"""The block watcher: follows the chain from a persisted checkpoint and records the transfers
that pay invoices, with their confirmations, through reorgs.

Each pass:
1. reads the node's head;
2. checks the checkpoint block's stored hash against the node: a different hash (or none) is a
   reorg, so it finds the common ancestor among the recent blocks kept, marks what the dropped
   blocks held REORGED (`chain.transfer.reorged`) and rewinds the checkpoint there;
3. reads the next bounded block range, and again the last `reread_blocks` blocks read (a node
   may show a head before the logs of its block), with `eth_getLogs` (ERC-20 `Transfer` logs to
   the watched deposit addresses, from any contract, and the router's `InvoicePaid`), the
   headers of the blocks holding them (one JSON-RPC batch), and checks each log's block hash
   against them; a log read again is recorded once;
4. in one transaction: records the transfers (matched and flagged by the domain), counts the
   confirmations of those still waiting, emits `chain.transfer.detected` / `.confirmed`
   through the outbox, keeps the block hashes and advances the checkpoint.

The watched deposits are kept in memory (`WatchedDeposits`): each pass reads only the deposits
created since the previous one, and a restart reads them all again. While behind, a pass reads
everything up to the head (at most `max_block_range` blocks), so a burst of blocks costs a few
passes, not one per block.

A crash between passes loses nothing (the checkpoint moves with what it covers); a node that is
down, slow or answers nonsense is retried with backoff and never produces a record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from web3 import Web3

from agora._proto.agora.chain.v1 import events_pb2 as events
from agora.chain import store
from agora.chain.configuration import ChainConfig
from agora.chain.domain import (
    CONFIRMED_EVENT,
    DETECTED_EVENT,
    REORGED_EVENT,
    Deposit,
    Kind,
    Observed,
    Sighting,
    WatchedDeposits,
    common_ancestor,
    invoice_id_of,
    match_transfer,
    progressed,
    read_range,
    reorged,
    rewind_to,
    sighted,
)
from agora.chain.events import TRANSFER_CONFIRMED, TRANSFER_DETECTED, TRANSFER_REORGED, record_many
from agora.chain.node import JsonRpc, NewHeads, NodeUnavailable, hex_data, quantity
from agora.chain.translation import transfer_pb
from agora.platform.bus.backoff import RedeliveryBackoff
from agora.platform.bus.outbox import Pending
from agora.platform.db import session_factory, transaction
from agora.platform.kernel.clock import utcnow
from agora.platform.outages import is_outage

log = structlog.get_logger("agora.chain.watcher")

TRANSFER_TOPIC = "0x" + bytes(Web3.keccak(text="Transfer(address,address,uint256)")).hex()
INVOICE_PAID_TOPIC = (
    "0x" + bytes(Web3.keccak(text="InvoicePaid(bytes32,address,address,uint256)")).hex()
)
ADDRESSES_PER_FILTER = 1000
INLINE_HEADERS = 8  # ranges shorter than this read their headers with their logs
# Deposit addresses stay watched this long after their invoice expired (late payments).
LATE_WINDOW = timedelta(days=7)

_EVENTS: dict[str, tuple[str, type[Message]]] = {
    DETECTED_EVENT: (TRANSFER_DETECTED, events.TransferDetected),
    CONFIRMED_EVENT: (TRANSFER_CONFIRMED, events.TransferConfirmed),
    REORGED_EVENT: (TRANSFER_REORGED, events.TransferReorged),
}


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    time: datetime


def _header(raw: Any, number: int) -> Header:
    if not isinstance(raw, dict):
        raise NodeUnavailable(f"block {number} missing")
    if quantity(raw.get("number"), "block number") != number:
        raise NodeUnavailable(f"block {number} answered as another block")
    return Header(
        number=number,
        hash=hex_data(raw.get("hash"), "block hash", size=32),
        parent_hash=hex_data(raw.get("parentHash"), "parent hash", size=32),
        time=datetime.fromtimestamp(quantity(raw.get("timestamp"), "timestamp"), UTC),
    )


def _address_topic(address: str) -> str:
    return "0x" + "0" * 24 + address.removeprefix("0x")


_ADDRESS_PADDING = "0" * 24


def _topic_address(topic: str) -> str | None:
    """The address in an indexed address topic (None: not an address: a malformed log)."""
    if len(topic) != 66 or topic[2:26] != _ADDRESS_PADDING:
        return None
    return "0x" + topic[26:]


@dataclass(frozen=True)
class RawLog:
    """A log's identity and content, checked for shape (not yet decoded)."""

    address: str
    topics: tuple[str, ...]
    data: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


def _raw_log(raw: Any) -> RawLog:
    if not isinstance(raw, dict) or not isinstance(raw.get("topics"), list):
        raise NodeUnavailable(f"malformed log: {raw!r}")
    return RawLog(
        address=hex_data(raw.get("address"), "log address", size=20),
        topics=tuple(hex_data(t, "topic", size=32) for t in raw["topics"]),
        data=hex_data(raw.get("data"), "log data"),
        block_number=quantity(raw.get("blockNumber"), "log block number"),
        block_hash=hex_data(raw.get("blockHash"), "log block hash", size=32),
        tx_hash=hex_data(raw.get("transactionHash"), "transaction hash", size=32),
        log_index=quantity(raw.get("logIndex"), "log index"),
    )


def decode(raw: RawLog, header: Header, router: str) -> Observed:
    """The transfer a log states; content that is not a well-formed ERC-20 Transfer or
    InvoicePaid is kept, flagged malformed (amount 0)."""
    common = {
        "tx_hash": raw.tx_hash,
        "log_index": raw.log_index,
        "block_number": raw.block_number,
        "block_hash": raw.block_hash,
        "block_time": header.time,
    }
    data = raw.data[2:]
    if raw.topics[0] == INVOICE_PAID_TOPIC and raw.address == router:
        payer = _topic_address(raw.topics[2]) if len(raw.topics) == 3 else None
        token = _topic_address("0x" + data[:64]) if len(data) == 128 else None
        if payer is None or token is None:
            return Observed(
                kind=Kind.ROUTER,
                token="",
                from_address="",
                to_address=router,
                amount=0,
                malformed=True,
                **common,  # type: ignore[arg-type]
            )
        return Observed(
            kind=Kind.ROUTER,
            token=token,
            from_address=payer,
            to_address=router,
            amount=int(data[64:], 16),
            router_invoice=bytes.fromhex(raw.topics[1][2:]),
            **common,  # type: ignore[arg-type]
        )
    sender = _topic_address(raw.topics[1]) if len(raw.topics) == 3 else None
    recipient = _topic_address(raw.topics[2]) if len(raw.topics) >= 3 else None
    well_formed = sender is not None and recipient is not None and len(data) == 64
    return Observed(
        kind=Kind.DEPOSIT,
        token=raw.address,
        from_address=sender or "",
        to_address=recipient or "",
        amount=int(data, 16) if well_formed else 0,
        malformed=not well_formed,
        **common,  # type: ignore[arg-type]
    )


def _to_watched(raw: Any, watched: Set[str] | Mapping[str, Any]) -> bool:
    """Whether a Transfer log read unfiltered pays a watched address (what the node's filter on
    the recipient topic would have kept); a log that is no dict is kept, to be refused."""
    if not isinstance(raw, dict):
        return True
    topics = raw.get("topics")
    if not isinstance(topics, list) or len(topics) < 3 or not isinstance(topics[2], str):
        return False
    address = _topic_address(topics[2].lower())
    return address is not None and address in watched


async def read_logs(
    rpc: JsonRpc,
    router: str,
    addresses: Collection[str],
    first: int,
    last: int,
    *,
    max_filter_addresses: int = ADDRESSES_PER_FILTER,
) -> tuple[list[RawLog], dict[int, Header]]:
    """The logs of blocks first..last (ERC-20 Transfers to `addresses`, the router's
    InvoicePaid), in chain order, and the headers of their blocks and of `last`; every log's
    block hash checked against its header (a reorg while reading raises NodeUnavailable).
    Up to `max_filter_addresses` addresses go in the node's filter; more, and every Transfer of
    the range is read and those to `addresses` kept here (a filter of thousands of addresses
    costs the node and both ends more than the logs of a range).
    The watcher and reconciliation read the chain through this."""
    span = {"fromBlock": hex(first), "toBlock": hex(last)}
    calls: list[tuple[str, Sequence[Any]]] = [
        ("eth_getLogs", [{**span, "address": router, "topics": [INVOICE_PAID_TOPIC]}])
    ]
    unfiltered = len(addresses) > max_filter_addresses
    if unfiltered:
        calls.append(("eth_getLogs", [{**span, "topics": [TRANSFER_TOPIC]}]))
    else:
        topics = [_address_topic(a) for a in addresses]
        for start in range(0, len(topics), ADDRESSES_PER_FILTER):
            chunk = topics[start : start + ADDRESSES_PER_FILTER]
            calls.append(("eth_getLogs", [{**span, "topics": [TRANSFER_TOPIC, None, chunk]}]))
    # A short range (a pass keeping up with the head) asks for its headers in the same batch.
    inline = range(first, last + 1) if last - first < INLINE_HEADERS else range(0)
    calls.extend(("eth_getBlockByNumber", [hex(n), False]) for n in inline)
    answers = await rpc.batch(calls)
    inline_headers = dict(zip(inline, answers[len(answers) - len(inline) :], strict=True))
    watched = addresses if isinstance(addresses, Set | Mapping) else frozenset(addresses)
    logs: dict[tuple[str, int], RawLog] = {}
    for position, answer in enumerate(answers[: len(answers) - len(inline)]):
        if not isinstance(answer, list):
            raise NodeUnavailable("eth_getLogs answered no list")
        if unfiltered and position == 1:
            answer = [raw for raw in answer if _to_watched(raw, watched)]
        for raw in answer:
            parsed = _raw_log(raw)
            if not first <= parsed.block_number <= last:
                raise NodeUnavailable(f"log of block {parsed.block_number} outside the range")
            logs[(parsed.tx_hash, parsed.log_index)] = parsed
    numbers = sorted({entry.block_number for entry in logs.values()} | {last})
    if inline:
        raw_headers = [inline_headers[n] for n in numbers]
    else:
        raw_headers = await rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
    headers = {n: _header(raw, n) for n, raw in zip(numbers, raw_headers, strict=True)}
    for entry in logs.values():
        if headers[entry.block_number].hash != entry.block_hash:
            raise NodeUnavailable(f"block {entry.block_number} changed while read (a reorg)")
    ordered = sorted(logs.values(), key=lambda e: (e.block_number, e.log_index))
    return ordered, headers


class Watcher:
    """Follows one network (the configured one) until cancelled; a part run like a job."""

    name = "chain_watcher"

    def __init__(
        self,
        engine: AsyncEngine,
        config: ChainConfig,
        *,
        backoff: RedeliveryBackoff | None = None,
    ) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._config = config
        settings = config.settings
        self._rpc = JsonRpc(settings.rpc_url)
        self._ws_url = settings.websocket_url()
        self._backoff = backoff or RedeliveryBackoff(initial_s=0.2, multiplier=2.0, max_s=10.0)
        self._head_seen = asyncio.Event()
        self.heads: NewHeads | None = None  # the newHeads subscription while running
        self.failures = 0
        self.watched = WatchedDeposits(LATE_WINDOW)

    @property
    def chain_id(self) -> int:
        return self._config.chain_id

    async def run(self) -> None:
        """Pass after pass until cancelled: at once while behind, else on the next head
        (WebSocket) or poll interval; a failure waits the backoff and tries again."""
        heads = None
        if self._ws_url:
            self.heads = NewHeads(self._ws_url, self._head_seen)
            heads = asyncio.create_task(self.heads.run())
        try:
            while True:
                caught_up = await self._pass_safely()
                if caught_up:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._head_seen.wait(), self._config.settings.poll_interval_s
                        )
                    self._head_seen.clear()
        finally:
            if heads is not None:
                heads.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heads
            await self._rpc.close()

    async def _pass_safely(self) -> bool:
        try:
            caught_up = await self.step()
        except Exception as error:
            self.failures += 1
            delay = self._backoff.delay_s(self.failures)
            event = (
                "chain_node_unavailable"
                if isinstance(error, NodeUnavailable)
                else ("chain_watcher_outage" if is_outage(error) else "chain_watcher_failed")
            )
            log.warning(event, chain_id=self.chain_id, error=repr(error), retry_in_s=delay)
            await asyncio.sleep(delay)
            return False
        self.failures = 0
        return caught_up

    async def catch_up(self, max_passes: int = 10_000) -> None:
        """Pass until the checkpoint reaches the node's head (tests, tools)."""
        for _ in range(max_passes):
            if await self.step():
                return
        raise RuntimeError("the watcher did not catch up")

    async def close(self) -> None:
        await self._rpc.close()

    # --- one pass ----------------------------------------------------------------------------

    async def step(self) -> bool:
        """One pass; True when the checkpoint is at the head it saw."""
        await self._config.install(self._engine)
        async with self._sessions() as session:
            position = await store.watch_position(session, self.chain_id)
            await self._watch_new_deposits(session)
        checkpoint, stored_hash = position.checkpoint, position.checkpoint_hash
        calls: list[tuple[str, Sequence[Any]]] = [("eth_blockNumber", [])]
        if stored_hash is not None:
            calls.append(("eth_getBlockByNumber", [hex(checkpoint), False]))
        answers = await self._rpc.batch(calls)
        head = quantity(answers[0], "head")
        if stored_hash is not None:
            canonical = None if answers[1] is None else _header(answers[1], checkpoint).hash
            if canonical != stored_hash:
                await self._unwind(checkpoint, head)
                return False
        span = read_range(checkpoint, head, self._config.settings.max_block_range)
        if span is None:
            if head != position.head:
                await self._commit(checkpoint, checkpoint, head, [], {})
            return True
        settings = self._config.settings
        first = max(span[0] - settings.reread_blocks, settings.start_block)
        logs, headers = await self._read(first, span[1])
        await self._commit(checkpoint, span[1], head, logs, headers)
        return span[1] >= head

    async def _watch_new_deposits(self, session: AsyncSession) -> None:
        """Add the deposits created since the last read to the watched set (all of them at
        the first pass), and forget those out of the late window."""
        now = utcnow()
        found, horizon = await store.deposits_since(
            session, self.chain_id, self.watched.horizon, expired_after=now - LATE_WINDOW
        )
        self.watched.add(found, horizon)
        self.watched.forget_expired(now)

    async def _read(self, first: int, last: int) -> tuple[list[RawLog], dict[int, Header]]:
        """The logs of blocks first..last and the headers of their blocks and of `last`."""
        return await read_logs(
            self._rpc,
            self._config.network.router_address,
            self.watched.addresses(),
            first,
            last,
            max_filter_addresses=self._config.settings.max_filter_addresses,
        )

    async def _commit(
        self,
        expected: int,
        checkpoint: int,
        head: int,
        logs: Sequence[RawLog],
        headers: dict[int, Header],
    ) -> None:
        """Record a range read from `expected`+1 to `checkpoint` in one transaction."""
        chain_id = self.chain_id
        config = self._config
        router = config.network.router_address
        now = utcnow()
        async with transaction(self._sessions) as session:
            current, default_required = await store.lock_checkpoint(session, chain_id)
            if current != expected:
                return  # another replica moved it: its pass counts, this one is dropped
            observed = [decode(raw, headers[raw.block_number], router) for raw in logs]
            deposit_of = await self._deposits_named(session, observed)
            statuses = await store.transfer_statuses(
                session, chain_id, [(o.tx_hash, o.log_index) for o in observed]
            )
            tokens = {t.address: t for t in config.tokens}
            changes: list[Sighting] = []
            seen = set()
            for o in observed:
                matched = match_transfer(
                    o, tokens=tokens, deposit=deposit_of(o), default_required=default_required
                )
                change = sighted(chain_id, o, matched, head, statuses.get((o.tx_hash, o.log_index)))
                if change is not None:  # one already recorded (read again) progresses below
                    seen.add((o.tx_hash, o.log_index))
                    changes.append(change)
            window_start = head - config.settings.reorg_window
            for waiting in await store.detected_transfers(session, chain_id, window_start):
                if (waiting.log.tx_hash, waiting.log.log_index) in seen:
                    continue
                change = progressed(waiting, head)
                if change is not None:
                    changes.append(change)
            await self._save(session, changes, now)
            await store.advance_checkpoint(
                session,
                chain_id,
                [(h.number, h.hash, h.parent_hash) for h in headers.values()],
                forget_below=min(checkpoint, window_start),
                checkpoint=checkpoint,
                head=head,
                now=now,
            )
        if changes:
            log.info(
                "chain_range_recorded",
                chain_id=chain_id,
                to_block=checkpoint,
                head=head,
                changes=len(changes),
            )

    async def _deposits_named(
        self, session: AsyncSession, observed: Sequence[Observed]
    ) -> Callable[[Observed], Deposit | None]:
        """The deposit each log names (by deposit address, or the router's invoice id): from the
        watched set, else from the database (a router payment naming an invoice out of the late
        window, or a deposit forgotten since the logs were read)."""
        watched = self.watched
        missing_addresses: list[str] = []
        missing_invoices: list[str] = []
        for o in observed:
            if o.kind is Kind.ROUTER:
                named = invoice_id_of(o.router_invoice) if o.router_invoice else None
                if named is not None and watched.of_invoice(named) is None:
                    missing_invoices.append(named)
            elif watched.of_address(o.to_address) is None:
                missing_addresses.append(o.to_address)
        by_address, by_invoice = await store.deposits_for(
            session, self.chain_id, addresses=missing_addresses, invoice_ids=missing_invoices
        )

        def deposit_of(o: Observed) -> Deposit | None:
            if o.kind is Kind.ROUTER:
                named = invoice_id_of(o.router_invoice) if o.router_invoice else None
                if named is None:
                    return None
                return watched.of_invoice(named) or by_invoice.get(named)
            return watched.of_address(o.to_address) or by_address.get(o.to_address)

        return deposit_of

    async def _unwind(self, checkpoint: int, head: int) -> None:
        """A reorg under the checkpoint: back to the common ancestor, withdrawing what the
        dropped blocks held."""
        chain_id = self.chain_id
        async with self._sessions() as session:
            stored = await store.stored_blocks(session, chain_id)
        numbers = sorted(stored)
        answers = await self._rpc.batch(
            [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]
        )
        canonical = {
            n: None if raw is None else _header(raw, n).hash
            for n, raw in zip(numbers, answers, strict=True)
        }
        ancestor = common_ancestor(stored, canonical)
        target = rewind_to(ancestor, numbers, self._config.settings.start_block)
        now = utcnow()
        async with transaction(self._sessions) as session:
            network = await store.network(session, chain_id, for_update=True)
            if network.checkpoint_block != checkpoint:
                return
            changes = [
                change
                for dropped in await store.live_transfers_after(session, chain_id, target)
                if (change := reorged(dropped)) is not None
            ]
            await self._save(session, changes, now)
            await store.forget_blocks(session, chain_id, above=target)
            await store.save_checkpoint(session, chain_id, target, head, now)
        log.warning(
            "chain_reorg",
            chain_id=chain_id,
            checkpoint=checkpoint,
            ancestor=ancestor,
            rewound_to=target,
            reorged=len(changes),
        )

    async def _save(
        self, session: AsyncSession, changes: Sequence[Sighting], now: datetime
    ) -> None:
        await store.save_transfers(session, [c.record for c in changes], now)
        decimals = {t.symbol: t.decimals for t in self._config.tokens}
        pending = []
        for change in changes:
            if not change.events:
                continue
            message = transfer_pb(change.record, decimals.get(change.record.matched.symbol, 0))
            for kind in change.events:
                subject, event_type = _EVENTS[kind]
                pending.append(
                    Pending(subject, event_type(transfer=message), change.record.reference)
                )
        await record_many(session, pending)
