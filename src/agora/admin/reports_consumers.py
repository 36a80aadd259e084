"""The consumers of the facts only reports read, each a `Projection` (replayable: `reset`
empties exactly the tables it alone writes): CHAIN's transfers and reconciliation runs (crypto
reconciliation), and ORDERS' refunds by the day they were made (payments and refunds)."""

from __future__ import annotations

from collections.abc import Sequence

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.chain.v1 import chain_pb2 as chain_pb
from agora._proto.agora.chain.v1 import events_pb2 as chain_events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_events
from agora.admin import reports_store as store
from agora.admin.analytics import day_of
from agora.admin.reports_tables import reports_chain_runs, reports_chain_transfers, reports_refunds
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import decode
from agora.platform.bus.inbox import forget_processed
from agora.platform.bus.replay import rebuild
from agora.platform.db import transaction
from agora.platform.rpc.timestamps import datetime_of

CHAIN_STREAM = "CHAIN"
ORDERS_STREAM = "ORDERS"

_TRANSFER_EVENTS = {
    "chain.transfer.detected": (chain_events.TransferDetected, "detected"),
    "chain.transfer.confirmed": (chain_events.TransferConfirmed, "confirmed"),
    "chain.transfer.reorged": (chain_events.TransferReorged, "reorged"),
}
_RUN_STATUS = {
    chain_pb.RECONCILIATION_STATUS_COMPLETED: "completed",
    chain_pb.RECONCILIATION_STATUS_FAILED: "failed",
    chain_pb.RECONCILIATION_STATUS_RUNNING: "running",
}


class ChainFacts:
    """CHAIN → each transfer's last state and each completed reconciliation run's counts."""

    name = "admin-reports-chain"
    stream = CHAIN_STREAM
    filter_subjects = ["chain.transfer.>", "chain.reconciliation.completed"]
    tables = (reports_chain_transfers, reports_chain_runs)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        if envelope.subject == "chain.reconciliation.completed":
            await self._run(session, decode(envelope, chain_events.ReconciliationCompleted).run)
            return
        known = _TRANSFER_EVENTS.get(envelope.subject)
        if known is None:
            return
        event_type, status = known
        transfer: chain_pb.Transfer = decode(envelope, event_type).transfer  # type: ignore[attr-defined]
        at = transfer.block_time if transfer.HasField("block_time") else envelope.occurred_at
        await store.save_transfer(
            session,
            {
                "reference": transfer.reference or envelope.aggregate_id,
                "chain_id": transfer.chain_id,
                "invoice_id": transfer.invoice_id,
                "asset": transfer.amount.asset or transfer.symbol,
                "decimals": transfer.amount.decimals,
                "base_units": int(transfer.amount.base_units or 0),
                "block_time": datetime_of(at),
                "status": status,
                "flagged": bool(transfer.flags),
            },
        )

    async def _run(self, session: AsyncSession, run: chain_pb.ReconciliationRun) -> None:
        counts = run.counts
        completed = run.completed_at if run.HasField("completed_at") else run.until
        await store.save_run(
            session,
            {
                "run_id": run.id,
                "chain_id": run.chain_id,
                "since": datetime_of(run.since),
                "until": datetime_of(run.until),
                "status": _RUN_STATUS.get(run.status, "unspecified"),
                "completed_day": day_of(datetime_of(completed)),
                "matched": counts.matched,
                "not_credited": counts.not_credited,
                "not_on_chain": counts.not_on_chain,
                "amount_mismatch": counts.amount_mismatch,
                "token_mismatch": counts.token_mismatch,
                "sweeps": counts.sweeps,
                "has_mismatches": run.has_mismatches,
            },
        )

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


class RefundFacts:
    """ORDERS → every refund by the day it was made (the order's provider comes from the
    analytics' facts at query time)."""

    name = "admin-reports-refunds"
    stream = ORDERS_STREAM
    filter_subjects = ["orders.order.refunded"]
    tables = (reports_refunds,)

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        refunded = decode(envelope, order_events.OrderRefunded)
        await store.add_refund(
            session,
            envelope.event_id,
            refunded.order_id or envelope.aggregate_id,
            day_of(datetime_of(envelope.occurred_at)),
            refunded.amount.amount_minor,
        )

    async def reset(self, session: AsyncSession) -> None:
        await store.clear(session, self.tables)


ReportsProjection = ChainFacts | RefundFacts


def reports_projections() -> list[ReportsProjection]:
    return [ChainFacts(), RefundFacts()]


def reports_consumers(
    js: JetStreamContext,
    sessions: async_sessionmaker[AsyncSession],
    projections: Sequence[ReportsProjection] | None = None,
) -> list[EventConsumer]:
    """The reports' durable consumers (each waits until its stream exists), batched."""
    return [
        EventConsumer(
            js,
            sessions,
            stream=p.stream,
            durable=p.name,
            filter_subjects=p.filter_subjects,
            handler=p.handle,
            batched=True,
            batch=256,
        )
        for p in projections or reports_projections()
    ]


async def rebuild_reports(
    sessions: async_sessionmaker[AsyncSession], js: JetStreamContext
) -> list[ConsumerInfo]:
    """Empty the reports' facts and their inbox, and replay each stream from its start (a stream
    not created yet has nothing to replay: its facts are emptied, its consumer waits for it)."""
    infos = []
    for p in reports_projections():
        try:
            await js.stream_info(p.stream)
        except NotFoundError:
            async with transaction(sessions) as session:
                await p.reset(session)
                await forget_processed(session, p.name)
            continue
        infos.append(await rebuild(p, sessions, js, stream=p.stream, from_seq=1))
    return infos
