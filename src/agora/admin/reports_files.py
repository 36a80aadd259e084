"""Making a report: frozen for a closed period (its first generation writes the rows and their
checksum once; every later one reads them), live and provisional for an open one; previewed,
streamed as CSV or rendered as PDF. The servicer and the schedule job both make reports here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from agora.admin import reports_store as store
from agora.admin.analytics import Converter, RateBook
from agora.admin.content import Clock
from agora.admin.reports import (
    PDF_MAX_ROWS,
    ExportFormat,
    ReportRequest,
    Row,
    Tally,
    csv_chunks,
    file_name,
    is_closed,
    parse_request,
)
from agora.admin.reports_pdf import PdfReport, render_pdf
from agora.admin.reports_rows import report_rows
from agora.platform.db import session_factory, transaction

FREEZE_BATCH = 1000
SNAPSHOT_PAGE = 2000


@dataclass
class PreparedReport:
    """A report about to be read: frozen (`snapshot` set), frozen by its first read
    (`freezes`), or live (`provisional`)."""

    request: ReportRequest
    provisional: bool
    generated_at: datetime
    snapshot: Any = None
    # Closed but not frozen yet: its first read freezes it.
    freezes: bool = False
    # Filled by a live read: currencies without a rate on some day.
    unconverted: set[str] = field(default_factory=set)

    @property
    def status(self) -> str:
        return "provisional" if self.provisional else "final"

    def file_name(self, fmt: ExportFormat) -> str:
        q = self.request.query
        return file_name(self.request.kind, q.start, q.end, self.provisional, fmt.value)

    def unconverted_currencies(self) -> list[str]:
        if self.snapshot is not None:
            return sorted(self.snapshot.unconverted)
        return sorted(self.unconverted)


@dataclass(frozen=True)
class Preview:
    rows: list[Row]
    totals: Row
    row_count: int
    checksum: str


class ReportMaker:
    """Reports over the admin schema reached through `engine`; `grace` after its end a period
    is closed; `clock` says what "now" is."""

    def __init__(
        self, engine: AsyncEngine, *, reporting: str, grace: timedelta, clock: Clock
    ) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reporting = reporting
        self._grace = grace
        self._clock = clock

    def parse(self, kind: str, start: str, end: str, currency: str) -> ReportRequest:
        return parse_request(kind, start, end, currency, reporting=self._reporting)

    def request_for(self, kind: str, start: date, end: date, currency: str) -> ReportRequest:
        return self.parse(kind, start.isoformat(), end.isoformat(), currency)

    async def prepare(self, request: ReportRequest) -> PreparedReport:
        """The report: frozen, to be frozen by its first read (closed, nobody froze it yet), or
        live (open)."""
        now = self._clock()
        if not is_closed(request.query.end, now, self._grace):
            return PreparedReport(request, provisional=True, generated_at=now)
        frozen = await self._snapshot(request)
        if frozen is None:
            return PreparedReport(request, provisional=False, generated_at=now, freezes=True)
        return PreparedReport(request, False, frozen.generated_at, snapshot=frozen)

    async def _snapshot(self, request: ReportRequest) -> Any:
        q = request.query
        async with self._reads.connect() as conn:
            return await store.snapshot(conn, request.kind, q.start, q.end, q.currency, q.converted)

    async def rows(self, prepared: PreparedReport) -> AsyncIterator[Row]:
        """Every row in order: the frozen ones page by page, computed and frozen on the way,
        or computed live."""
        if prepared.freezes:
            rows = self._freezing_rows(prepared)
        elif prepared.snapshot is not None:
            rows = self._frozen_rows(prepared.snapshot.id)
        else:
            rows = self._live_rows(prepared)
        async for row in rows:
            yield row

    async def _freezing_rows(self, prepared: PreparedReport) -> AsyncIterator[Row]:
        """The rows as computed, written to the report's snapshot as they go (so a large report
        starts at once); committed only once the last row is read, never in part. A concurrent
        first read of the same report waits for this one's commit and then reads its rows."""
        request = prepared.request
        q = request.query
        snapshot_id = str(uuid.uuid4())
        header: dict[str, Any] = {
            "id": snapshot_id,
            "kind": request.kind.value,
            "start_date": q.start,
            "end_date": q.end,
            "currency": q.currency,
            "converted": q.converted,
            "unconverted": [],
            "totals": [],
            "row_count": 0,
            "checksum": "",
            "generated_at": prepared.generated_at,
        }
        async with transaction(self._sessions) as session:
            claimed = await store.claim_snapshot(session, header)
            if claimed:
                tally = Tally(request.spec)
                batch: list[Row] = []
                async for row in self._live_rows(prepared):
                    tally.add(row)
                    batch.append(row)
                    yield row
                    if len(batch) >= FREEZE_BATCH:
                        first = tally.count - len(batch) + 1
                        await store.add_snapshot_rows(session, snapshot_id, first, batch)
                        batch = []
                first = tally.count - len(batch) + 1
                await store.add_snapshot_rows(session, snapshot_id, first, batch)
                await store.finish_snapshot(
                    session,
                    snapshot_id,
                    unconverted=sorted(prepared.unconverted),
                    totals=tally.totals(),
                    row_count=tally.count,
                    checksum=tally.checksum,
                )
        prepared.freezes = False
        prepared.snapshot = await self._snapshot(request)
        if not claimed:
            prepared.generated_at = prepared.snapshot.generated_at
            async for row in self._frozen_rows(prepared.snapshot.id):
                yield row

    async def _frozen_rows(self, snapshot_id: str) -> AsyncIterator[Row]:
        after = 0
        while True:
            async with self._reads.connect() as conn:
                page = await store.snapshot_page(conn, snapshot_id, after, SNAPSHOT_PAGE)
            for row_no, row in page:
                after = row_no
                yield row
            if len(page) < SNAPSHOT_PAGE:
                return

    async def _live_rows(self, prepared: PreparedReport) -> AsyncIterator[Row]:
        q = prepared.request.query
        async with self._engine.connect() as conn:
            quotes = await store.rate_quotes(conn, q.currency) if q.converted else []
            converter = Converter(q, RateBook(q.currency, quotes))
            async for row in report_rows(conn, prepared.request, converter):
                yield row
            prepared.unconverted |= converter.unconverted

    async def preview(self, prepared: PreparedReport, limit: int) -> Preview:
        """The first `limit` rows with the report's totals."""
        if prepared.freezes:
            async for _ in self.rows(prepared):
                pass
        frozen = prepared.snapshot
        if frozen is not None:
            async with self._reads.connect() as conn:
                page = await store.snapshot_page(conn, frozen.id, 0, limit)
            return Preview(
                [r for _, r in page], list(frozen.totals), frozen.row_count, frozen.checksum
            )
        tally = Tally(prepared.request.spec)
        first: list[Row] = []
        async for row in self.rows(prepared):
            tally.add(row)
            if len(first) < limit:
                first.append(row)
        return Preview(first, tally.totals(), tally.count, tally.checksum)

    def csv(self, prepared: PreparedReport) -> AsyncIterator[bytes]:
        """The CSV in chunks: header, rows (money in decimal units), totals."""
        spec = prepared.request.spec
        return csv_chunks(spec, prepared.request.query.currency, self.rows(prepared), Tally(spec))

    async def pdf(self, prepared: PreparedReport) -> bytes:
        tally = Tally(prepared.request.spec)
        shown: list[Row] = []
        async for row in self.rows(prepared):
            tally.add(row)
            if len(shown) < PDF_MAX_ROWS:
                shown.append(row)
        q = prepared.request.query
        report = PdfReport(
            spec=prepared.request.spec,
            start=q.start,
            end=q.end,
            currency=q.currency,
            provisional=prepared.provisional,
            generated_at=prepared.generated_at,
            rows=shown,
            totals=tally.totals(),
            row_count=tally.count,
            chart=tally.chart_points(),
        )
        return await asyncio.to_thread(render_pdf, report)

    async def file(self, prepared: PreparedReport, fmt: ExportFormat) -> bytes:
        """The whole file in memory (a mail attachment)."""
        if fmt is ExportFormat.PDF:
            return await self.pdf(prepared)
        return b"".join([chunk async for chunk in self.csv(prepared)])
