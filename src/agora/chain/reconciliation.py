"""Reconciliation: the chain re-read for a period, independently of the watcher's records, and
compared with payments' crypto ledger (`domain.reconcile`).

A run maps its period [since, until) to blocks by their timestamps (a binary search on the
node), reads the ERC-20 Transfers to the shop's deposit addresses and the router's InvoicePaid
logs of those blocks in bounded ranges (`watcher.read_logs`, decoded and matched as the watcher
does), reads payments' ledger of the same period (ListCryptoPayments, every page; payments dates
a payment by its block's time) and checks the sweeps recorded in the period against their
receipts. The run and its lines are stored; `chain.reconciliation.completed` carries the counts.
A mismatch is an alert (a warning with the counts, `has_mismatches`), never corrected here.

StartReconciliation runs synchronously: the call returns the finished run. The period is bounded
(`reconcile_max_period_days`) and the chain read in `max_block_range` spans, so a run takes
seconds; a caller that gives up does not stop it (it continues, shielded, and is stored). A run
left `running` by a process that ended is marked failed by the scheduled job.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import events_pb2 as events
from agora.chain import recon_store, store
from agora.chain.clients import Payments
from agora.chain.configuration import ChainConfig
from agora.chain.domain import (
    ChainPayment,
    Counts,
    Kind,
    LedgerPayment,
    Line,
    SweepCheck,
    invoice_id_of,
    match_transfer,
    reconcile,
    tally,
    transfer_reference,
)
from agora.chain.events import RECONCILIATION_COMPLETED, record
from agora.chain.node import JsonRpc, quantity
from agora.chain.translation import amount_pb
from agora.chain.watcher import _header, decode, read_logs
from agora.platform.db import session_factory, transaction
from agora.platform.errors import InvalidArgument, NotFound
from agora.platform.idempotency import idempotent_mutation
from agora.platform.jobs import run_every
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.rpc.timestamps import datetime_of, optional_timestamp, timestamp

log = structlog.get_logger("agora.chain.reconciliation")

Clock = Callable[[], datetime]
CSV_HEADER = (
    "outcome",
    "invoice_id",
    "reference",
    "tx_hash",
    "block_number",
    "token_address",
    "symbol",
    "on_chain",
    "credited",
    "detail",
)
_STATUSES = {
    "running": pb.RECONCILIATION_STATUS_RUNNING,
    "completed": pb.RECONCILIATION_STATUS_COMPLETED,
    "failed": pb.RECONCILIATION_STATUS_FAILED,
}


# --- proto mapping ---------------------------------------------------------------------------


def run_pb(row: Any) -> pb.ReconciliationRun:
    return pb.ReconciliationRun(
        id=row.id,
        chain_id=row.chain_id,
        since=timestamp(row.since),
        until=timestamp(row.until),
        from_block=row.from_block or 0,
        to_block=row.to_block or 0,
        status=_STATUSES[row.status],
        counts=pb.ReconciliationCounts(
            matched=row.matched,
            not_credited=row.not_credited,
            not_on_chain=row.not_on_chain,
            amount_mismatch=row.amount_mismatch,
            token_mismatch=row.token_mismatch,
            sweeps=row.sweeps,
        ),
        has_mismatches=row.has_mismatches,
        failure=row.failure,
        started_at=timestamp(row.started_at),
        completed_at=optional_timestamp(row.completed_at),
    )


def item_pb(line: Line, decimals: int) -> pb.ReconciliationItem:
    item = pb.ReconciliationItem(
        outcome=int(line.outcome),  # type: ignore[arg-type]
        invoice_id=line.invoice_id,
        reference=line.reference,
        tx_hash=line.tx_hash,
        block_number=line.block_number or 0,
        token_address=line.token,
        detail=line.detail,
    )
    if line.on_chain is not None:
        item.on_chain.CopyFrom(amount_pb(line.on_chain, line.symbol, decimals))
    if line.credited is not None:
        item.credited.CopyFrom(amount_pb(line.credited, line.symbol, decimals))
    return item


def csv_row(item: pb.ReconciliationItem) -> list[str]:
    """A report line as the CSV writes it (amounts in base units, empty when absent)."""
    return [
        pb.ReconciliationOutcome.Name(item.outcome).removeprefix("RECONCILIATION_OUTCOME_"),
        item.invoice_id,
        item.reference,
        item.tx_hash,
        str(item.block_number) if item.block_number else "",
        item.token_address,
        item.on_chain.asset or item.credited.asset,
        item.on_chain.base_units if item.HasField("on_chain") else "",
        item.credited.base_units if item.HasField("credited") else "",
        item.detail,
    ]


# --- a run -----------------------------------------------------------------------------------


class Reconciler:
    """Runs reconciliations of the configured network."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: ChainConfig,
        payments: Payments,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._config = config
        self._payments = payments
        self._clock = clock
        self._running: set[asyncio.Task[None]] = set()

    @property
    def config(self) -> ChainConfig:
        return self._config

    async def create(self, session: AsyncSession, since: datetime, until: datetime) -> str:
        """Record a new run (running) in `session`'s transaction; its id."""
        run_id = str(uuid.uuid4())
        await recon_store.insert_run(
            session, run_id, self._config.chain_id, since, until, self._clock()
        )
        return run_id

    async def reconcile(self, since: datetime, until: datetime) -> str:
        """A new run of [since, until), executed now; its id."""
        await self._config.install(self._engine)
        async with transaction(self._sessions) as session:
            run_id = await self.create(session, since, until)
        await self.execute(run_id, since, until)
        return run_id

    async def execute_shielded(self, run_id: str, since: datetime, until: datetime) -> None:
        """`execute`, carried on to its end even when the caller is cancelled."""
        task = asyncio.ensure_future(self.execute(run_id, since, until))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        await asyncio.shield(task)

    async def execute(self, run_id: str, since: datetime, until: datetime) -> None:
        """Compare, then store the lines and counts (or the failure) and the event."""
        chain_id = self._config.chain_id
        try:
            lines, span = await self.compare(since, until)
        except Exception as error:
            log.warning("chain_reconciliation_failed", run_id=run_id, error=repr(error))
            async with transaction(self._sessions) as session:
                await recon_store.fail_run(session, run_id, repr(error), self._clock())
                await self._announce(session, run_id)
            return
        counts = tally(lines)
        async with transaction(self._sessions) as session:
            await recon_store.complete_run(
                session,
                run_id,
                from_block=span[0] if span else None,
                to_block=span[1] if span else None,
                counts=counts,
                lines=lines,
                now=self._clock(),
            )
            await self._announce(session, run_id)
        fields = _counts_fields(counts)
        if counts.has_mismatches:
            log.warning(
                "chain_reconciliation_mismatches", run_id=run_id, chain_id=chain_id, **fields
            )
        else:
            log.info("chain_reconciliation_completed", run_id=run_id, chain_id=chain_id, **fields)

    async def _announce(self, session: AsyncSession, run_id: str) -> None:
        row = await recon_store.run_row(session, run_id)
        assert row is not None
        await record(
            session,
            RECONCILIATION_COMPLETED,
            events.ReconciliationCompleted(run=run_pb(row)),
            aggregate_id=run_id,
        )

    async def compare(
        self, since: datetime, until: datetime
    ) -> tuple[list[Line], tuple[int, int] | None]:
        """The report lines of [since, until) and the blocks read (None: no block)."""
        rpc = JsonRpc(self._config.settings.rpc_url)
        try:
            span = await block_span(rpc, since, until)
            chain = await self._chain_payments(rpc, span, until) if span else []
            prefix = f"{self._config.chain_id}:"
            ledger: Sequence[LedgerPayment] = [
                p
                for p in await self._payments.crypto_payments(since, until)
                if p.reference.startswith(prefix)
            ]
            checks = await self._sweep_checks(rpc, since, until)
        finally:
            await rpc.close()
        return reconcile(chain, ledger, checks), span

    async def _chain_payments(
        self, rpc: JsonRpc, span: tuple[int, int], until: datetime
    ) -> list[ChainPayment]:
        config = self._config
        chain_id = config.chain_id
        router = config.network.router_address
        tokens = {t.address: t for t in config.tokens}
        async with self._sessions() as session:
            addresses = await recon_store.deposit_addresses_before(session, chain_id, until)
            default_required = (await store.network(session, chain_id)).policy.medium
        found: list[ChainPayment] = []
        step = config.settings.max_block_range
        for first in range(span[0], span[1] + 1, step):
            last = min(span[1], first + step - 1)
            logs, headers = await read_logs(rpc, router, addresses, first, last)
            observed = [decode(raw, headers[raw.block_number], router) for raw in logs]
            named = [
                found_id
                for o in observed
                if o.router_invoice is not None
                and (found_id := invoice_id_of(o.router_invoice)) is not None
            ]
            async with self._sessions() as session:
                by_address, by_invoice = await store.deposits_for(
                    session,
                    chain_id,
                    addresses=[o.to_address for o in observed if o.kind is Kind.DEPOSIT],
                    invoice_ids=named,
                )
            for o in observed:
                if o.kind is Kind.ROUTER:
                    invoice = invoice_id_of(o.router_invoice) if o.router_invoice else None
                    deposit = by_invoice.get(invoice) if invoice else None
                else:
                    deposit = by_address.get(o.to_address)
                matched = match_transfer(
                    o, tokens=tokens, deposit=deposit, default_required=default_required
                )
                if matched.invoice_id is None:
                    continue  # names none of the shop's invoices
                found.append(
                    ChainPayment(
                        reference=transfer_reference(chain_id, o.tx_hash, o.log_index),
                        invoice_id=matched.invoice_id,
                        tx_hash=o.tx_hash,
                        block_number=o.block_number,
                        token=o.token,
                        symbol=matched.symbol,
                        amount=o.amount,
                        flags=matched.flags,
                    )
                )
        return found

    async def _sweep_checks(
        self, rpc: JsonRpc, since: datetime, until: datetime
    ) -> list[SweepCheck]:
        async with self._sessions() as session:
            rows = await recon_store.sweeps_between(session, self._config.chain_id, since, until)
        with_tx = [r for r in rows if r.tx_hash]
        receipts = await rpc.batch([("eth_getTransactionReceipt", [r.tx_hash]) for r in with_tx])
        landed = {
            r.tx_hash: isinstance(receipt, dict) and receipt.get("status") == "0x1"
            for r, receipt in zip(with_tx, receipts, strict=True)
        }
        return [
            SweepCheck(
                sweep_id=r.id,
                invoice_id=r.invoice_id,
                tx_hash=r.tx_hash or "",
                block_number=r.block_number,
                token=r.token_address,
                symbol=r.symbol,
                amount=int(r.amount),
                status=r.status,
                on_chain=landed.get(r.tx_hash or "", False),
            )
            for r in rows
        ]

    async def fail_stale(self, older_than: timedelta) -> int:
        now = self._clock()
        async with transaction(self._sessions) as session:
            return await recon_store.fail_stale_runs(session, now - older_than, now)


def _counts_fields(counts: Counts) -> dict[str, int]:
    return {
        "matched": counts.matched,
        "not_credited": counts.not_credited,
        "not_on_chain": counts.not_on_chain,
        "amount_mismatch": counts.amount_mismatch,
        "token_mismatch": counts.token_mismatch,
        "sweeps": counts.sweeps,
    }


async def block_span(rpc: JsonRpc, since: datetime, until: datetime) -> tuple[int, int] | None:
    """The blocks whose time is in [since, until) (None: none), by binary search on the node
    (block times never decrease)."""
    head = quantity(await rpc.call("eth_blockNumber"), "head")
    times: dict[int, datetime] = {}

    async def time_of(number: int) -> datetime:
        if number not in times:
            raw = await rpc.call("eth_getBlockByNumber", hex(number), False)
            times[number] = _header(raw, number).time
        return times[number]

    async def first_at_or_after(moment: datetime) -> int:
        low, high = 0, head + 1
        while low < high:
            middle = (low + high) // 2
            if await time_of(middle) >= moment:
                high = middle
            else:
                low = middle + 1
        return low

    first = await first_at_or_after(since)
    last = await first_at_or_after(until) - 1
    return (first, last) if first <= last else None


# --- the RPCs --------------------------------------------------------------------------------


class ReconciliationRpc:
    """ChainService's reconciliation RPCs (staff, admin). A mixin: the servicer calls
    `init_reconciliation` from its composition."""

    _recon: Reconciler
    _recon_engine: AsyncEngine
    _recon_sessions: Any
    _recon_reads: AsyncEngine
    _recon_max_period: timedelta

    def init_reconciliation(
        self, engine: AsyncEngine, reconciler: Reconciler, *, max_period: timedelta
    ) -> None:
        self._recon = reconciler
        self._recon_engine = engine
        self._recon_sessions = session_factory(engine)
        self._recon_reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._recon_max_period = max_period

    async def StartReconciliation(
        self, request: pb.StartReconciliationRequest, context: object
    ) -> pb.ReconciliationRun:
        if not request.HasField("since"):
            raise InvalidArgument.for_field("since", "required")
        since = datetime_of(request.since)
        until = datetime_of(request.until) if request.HasField("until") else utcnow()
        if until <= since:
            raise InvalidArgument.for_field("until", "must be after since")
        if until - since > self._recon_max_period:
            raise InvalidArgument.for_field(
                "until", f"a period of at most {self._recon_max_period.days} days"
            )
        config = self._recon.config
        if request.chain_id and request.chain_id != config.chain_id:
            raise InvalidArgument.for_field("chainId", f"chain {request.chain_id} is not watched")
        await config.install(self._recon_engine)
        created: list[str] = []

        async def change(session: AsyncSession) -> pb.ReconciliationRun:
            run_id = await self._recon.create(session, since, until)
            created.append(run_id)
            row = await recon_store.run_row(session, run_id)
            return run_pb(row)

        started = await idempotent_mutation(
            self._recon_sessions,
            operation="chain.StartReconciliation",
            request=request,
            response_type=pb.ReconciliationRun,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )
        if created:
            await self._recon.execute_shielded(created[0], since, until)
        return await self._run(started.id)

    async def _run(self, run_id: str) -> pb.ReconciliationRun:
        async with self._recon_reads.connect() as conn:
            row = await recon_store.run_row(conn, run_id)
        if row is None:
            raise NotFound("reconciliation", run_id)
        return run_pb(row)

    async def GetReconciliation(
        self, request: pb.GetReconciliationRequest, context: object
    ) -> pb.ReconciliationRun:
        return await self._run(require_id(request.id, "id"))

    async def ListReconciliations(
        self, request: pb.ListReconciliationsRequest, context: object
    ) -> pb.ListReconciliationsResponse:
        size = page_size(request.page_size)
        position = decode_page_token(request.page_token, "reconciliations", arity=2)
        before = None
        if position is not None:
            before = (datetime.fromisoformat(str(position[0])), str(position[1]))
        async with self._recon_reads.connect() as conn:
            rows = await recon_store.runs_page(conn, before=before, limit=size + 1)
        answer = pb.ListReconciliationsResponse(runs=[run_pb(r) for r in rows[:size]])
        if len(rows) > size:
            last = rows[size - 1]
            answer.next_page_token = encode_page_token(
                [last.started_at.isoformat(), last.id], "reconciliations"
            )
        return answer

    async def ListReconciliationItems(
        self, request: pb.ListReconciliationItemsRequest, context: object
    ) -> pb.ListReconciliationItemsResponse:
        run_id = require_id(request.id, "id")
        size = page_size(request.page_size)
        query = f"reconciliation-items:{run_id}"
        position = decode_page_token(request.page_token, query, arity=1)
        after = -1
        if position is not None:
            if not isinstance(position[0], int):
                raise InvalidArgument.for_field("pageToken", "not a page token of this query")
            after = position[0]
        async with self._recon_reads.connect() as conn:
            if await recon_store.run_row(conn, run_id) is None:
                raise NotFound("reconciliation", run_id)
            rows = await recon_store.items_page(conn, run_id, after=after, limit=size + 1)
        decimals = {t.symbol: t.decimals for t in self._recon.config.tokens}
        lines = [recon_store.line_of(r) for r in rows[:size]]
        answer = pb.ListReconciliationItemsResponse(
            items=[item_pb(line, decimals.get(line.symbol, 0)) for line in lines]
        )
        if len(rows) > size:
            answer.next_page_token = encode_page_token([rows[size - 1].position], query)
        return answer


# --- the scheduled run -----------------------------------------------------------------------


class ReconciliationJob:
    """Reconciles the last `period` (ending `lag` ago: payments' consumer has caught up by
    then) every `interval_s`; first marks runs left running by an ended process failed."""

    name = "chain_reconciliation"

    def __init__(
        self,
        reconciler: Reconciler,
        *,
        interval_s: float,
        period: timedelta,
        lag: timedelta,
        stale_after: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._reconciler = reconciler
        self._interval_s = interval_s
        self._period = period
        self._lag = lag
        self._stale_after = stale_after
        self._clock = clock

    async def run_once(self) -> int:
        await self._reconciler.fail_stale(self._stale_after)
        until = self._clock() - self._lag
        await self._reconciler.reconcile(until - self._period, until)
        return 1

    async def run(self) -> None:
        await run_every(self._interval_s, self.run_once, name=self.name)
