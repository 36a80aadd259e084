"""The reports' gRPC servicer: a request's fields → `reports.ReportRequest` (or
INVALID_ARGUMENT), `reports_files.ReportMaker` → the preview or the file; schedules in one
unit of work each (the idempotency record and the change)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import grpc
from google.api.httpbody_pb2 import HttpBody
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.admin.v1 import reports_pb2 as pb
from agora._proto.agora.admin.v1 import reports_pb2_grpc
from agora.admin import reports_store as store
from agora.admin.analytics import bounded
from agora.admin.content import Clock
from agora.admin.reports import (
    DEFAULT_PREVIEW_ROWS,
    MEDIA_TYPES,
    Cadence,
    ExportFormat,
    content_disposition,
    parse_format,
)
from agora.admin.reports_files import PreparedReport, ReportMaker
from agora.admin.reports_schedules import READ_PERMISSION, ScheduleFields, schedule_fields
from agora.admin.users_clients import StaffCalls, StaffCredentials
from agora.platform.db import session_factory
from agora.platform.errors import InvalidArgument
from agora.platform.idempotency import idempotent_mutation
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.rpc.interceptors import send_response_headers
from agora.platform.rpc.timestamps import timestamp
from agora.platform.security.principal import current_principal

ResponseT = TypeVar("ResponseT", bound=Message)
STATUS_HEADER = "x-agora-report-status"
PDF_CHUNK = 256 * 1024


class ReportsService(reports_pb2_grpc.ReportsServiceServicer):
    """Reports made by `maker`; schedules in the admin schema reached through `engine`, their
    recipients checked with auth as the caller (`calls`)."""

    def __init__(
        self, engine: AsyncEngine, maker: ReportMaker, calls: StaffCalls, *, clock: Clock
    ) -> None:
        self._sessions = session_factory(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._maker = maker
        self._calls = calls
        self._clock = clock

    async def GetReport(self, request: pb.GetReportRequest, context: object) -> pb.Report:
        parsed = self._maker.parse(
            request.kind, request.start_date, request.end_date, request.currency
        )
        limit = bounded(request.limit, DEFAULT_PREVIEW_ROWS, "limit", most=1000)
        prepared = await self._maker.prepare(parsed)
        preview = await self._maker.preview(prepared, limit)
        q = parsed.query
        return pb.Report(
            kind=parsed.kind.value,
            title=parsed.spec.title,
            start_date=q.start.isoformat(),
            end_date=q.end.isoformat(),
            currency=q.currency,
            converted=q.converted,
            unconverted_currencies=prepared.unconverted_currencies(),
            provisional=prepared.provisional,
            columns=[
                pb.ReportColumn(key=c.key, label=c.label, type=c.type.value)
                for c in parsed.spec.columns
            ],
            rows=[pb.ReportRow(cells=row) for row in preview.rows],
            totals=pb.ReportRow(cells=preview.totals),
            row_count=preview.row_count,
            generated_at=timestamp(prepared.generated_at),
            checksum=preview.checksum,
        )

    async def ExportReport(
        self, request: pb.ExportReportRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[HttpBody]:
        """The file in chunks, after the initial metadata naming it."""
        parsed = self._maker.parse(
            request.kind, request.start_date, request.end_date, request.currency
        )
        fmt = parse_format(request.format)
        prepared = await self._maker.prepare(parsed)
        await send_response_headers(context, _file_metadata(prepared, fmt))
        content_type = MEDIA_TYPES[fmt]
        if fmt is ExportFormat.PDF:
            data = await self._maker.pdf(prepared)
            for at in range(0, len(data), PDF_CHUNK):
                yield HttpBody(content_type=content_type, data=data[at : at + PDF_CHUNK])
            return
        async for chunk in self._maker.csv(prepared):
            yield HttpBody(content_type=content_type, data=chunk)

    # --- schedules ---------------------------------------------------------------------------

    async def _mutate(
        self,
        operation: str,
        request: Any,
        response_type: type[ResponseT],
        change: Callable[[AsyncSession], Awaitable[ResponseT]],
    ) -> ResponseT:
        return await idempotent_mutation(
            self._sessions,
            operation=f"admin.{operation}",
            request=request,
            response_type=response_type,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )

    async def CreateReportSchedule(
        self, request: pb.CreateReportScheduleRequest, context: Any
    ) -> pb.ReportSchedule:
        fields = schedule_fields(
            request.kind,
            list(request.formats),
            CADENCES.get(request.cadence),
            request.currency,
            list(request.recipient_ids),
            check=self._maker.parse,
        )
        await self._check_recipients(fields, StaffCredentials.of(context))

        async def change(session: AsyncSession) -> pb.ReportSchedule:
            row = {
                "id": str(uuid.uuid4()),
                "kind": fields.kind.value,
                "formats": [f.value for f in fields.formats],
                "cadence": fields.cadence.value,
                "currency": fields.currency,
                "recipient_ids": list(fields.recipient_ids),
                "created_by": current_principal().subject,
                "created_at": self._clock(),
            }
            await store.add_schedule(session, row)
            return schedule_pb(row, None)

        return await self._mutate("CreateReportSchedule", request, pb.ReportSchedule, change)

    async def _check_recipients(
        self, fields: ScheduleFields, credentials: StaffCredentials
    ) -> None:
        """Every recipient is a staff member who may read reports (auth says, as the caller)."""
        for n, user_id in enumerate(fields.recipient_ids):
            details = await self._calls.user(user_id, credentials)
            if READ_PERMISSION not in details.user.permissions:
                raise InvalidArgument.for_field(
                    f"recipientIds[{n}]", "not a staff member who may read reports"
                )

    async def ListReportSchedules(
        self, request: pb.ListReportSchedulesRequest, context: object
    ) -> pb.ListReportSchedulesResponse:
        size = page_size(request.page_size)
        position = decode_page_token(request.page_token, "report-schedules")
        after = None
        if position is not None:
            after = (datetime.fromisoformat(str(position[0])), str(position[1]))
        async with self._reads.connect() as conn:
            rows = await store.list_schedules(conn, after, size + 1)
            sent = await store.last_sent(conn, [r.id for r in rows[:size]])
        answer = pb.ListReportSchedulesResponse(
            schedules=[schedule_pb(r._mapping, sent.get(r.id)) for r in rows[:size]]
        )
        if len(rows) > size:
            last = rows[size - 1]
            answer.next_page_token = encode_page_token(
                [last.created_at.isoformat(), last.id], "report-schedules"
            )
        return answer

    async def DeleteReportSchedule(
        self, request: pb.DeleteReportScheduleRequest, context: object
    ) -> pb.DeleteReportScheduleResponse:
        schedule_id = require_id(request.id, "id")

        async def change(session: AsyncSession) -> pb.DeleteReportScheduleResponse:
            deleted = await store.delete_schedule(session, schedule_id)
            return pb.DeleteReportScheduleResponse(id=schedule_id, deleted=deleted)

        return await self._mutate(
            "DeleteReportSchedule", request, pb.DeleteReportScheduleResponse, change
        )


def _file_metadata(prepared: PreparedReport, fmt: ExportFormat) -> tuple[tuple[str, str], ...]:
    return (
        ("content-disposition", content_disposition(prepared.file_name(fmt))),
        (STATUS_HEADER, prepared.status),
    )


CADENCES = {
    pb.REPORT_CADENCE_DAILY: Cadence.DAILY,
    pb.REPORT_CADENCE_WEEKLY: Cadence.WEEKLY,
    pb.REPORT_CADENCE_MONTHLY: Cadence.MONTHLY,
}
_CADENCE_PB = {value: key for key, value in CADENCES.items()}


def schedule_pb(row: Any, last_sent: Any) -> pb.ReportSchedule:
    return pb.ReportSchedule(
        id=row["id"],
        kind=row["kind"],
        formats=list(row["formats"]),
        cadence=_CADENCE_PB[Cadence(row["cadence"])],
        currency=row["currency"],
        recipient_ids=list(row["recipient_ids"]),
        created_by=row["created_by"],
        created_at=timestamp(row["created_at"]),
        last_sent_period=last_sent.isoformat() if last_sent else "",
    )
