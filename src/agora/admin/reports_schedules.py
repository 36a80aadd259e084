"""Scheduled reports: what a valid schedule is, and the job that mails each schedule's report
of every period once it is closed, once.

A send is recorded (schedule, period) in the transaction that claims the schedule with
`FOR UPDATE SKIP LOCKED`, and the mail goes out before that transaction commits: replicas never
send the same period twice, a restart never re-sends a recorded one, and a failed mail rolls the
record back so the next run tries again (a crash between the SMTP answer and the commit is the
one case that mails a period twice). Recipients are staff user ids; their addresses are asked of
auth at each send, and anyone who may no longer read reports is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import grpc
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.auth.v1 import auth_pb2 as apb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.admin import reports_store as store
from agora.admin.content import Clock
from agora.admin.reports import (
    MEDIA_TYPES,
    SPECS,
    Cadence,
    ExportFormat,
    ReportKind,
    ReportRequest,
    display_cells,
    last_closed_period,
    parse_format,
    parse_kind,
)
from agora.admin.reports_files import ReportMaker
from agora.platform.errors import InvalidArgument
from agora.platform.jobs import BatchJob
from agora.platform.kernel.clock import utcnow
from agora.platform.mail import Attachment, Mail, Mailer
from agora.platform.rpc.client import ServiceChannels

log = structlog.get_logger("agora.admin.reports")

READ_PERMISSION = "admin:reports:read"
MAX_RECIPIENTS = 20


@dataclass(frozen=True)
class ScheduleFields:
    kind: ReportKind
    formats: tuple[ExportFormat, ...]
    cadence: Cadence
    currency: str
    recipient_ids: tuple[str, ...]


def schedule_fields(
    kind: str,
    formats: Sequence[str],
    cadence: Cadence | None,
    currency: str,
    recipient_ids: Sequence[str],
    *,
    check: Callable[[str, str, str, str], ReportRequest],
) -> ScheduleFields:
    """The schedule the fields describe, or INVALID_ARGUMENT naming the first bad field
    (`check` parses a report request: the currency must be one a report accepts)."""
    parsed_kind = parse_kind(kind)
    if not formats:
        raise InvalidArgument.for_field("formats", "at least one of csv, pdf")
    parsed_formats = tuple(
        dict.fromkeys(parse_format(f, f"formats[{n}]") for n, f in enumerate(formats) if f)
    )
    if not parsed_formats:
        raise InvalidArgument.for_field("formats", "at least one of csv, pdf")
    if cadence is None:
        raise InvalidArgument.for_field("cadence", "expected daily, weekly or monthly")
    check(kind, "2000-01-01", "2000-01-01", currency)
    if not recipient_ids:
        raise InvalidArgument.for_field("recipientIds", "at least one staff member")
    if len(recipient_ids) > MAX_RECIPIENTS:
        raise InvalidArgument.for_field("recipientIds", f"at most {MAX_RECIPIENTS}")
    unique = tuple(dict.fromkeys(recipient_ids))
    return ScheduleFields(parsed_kind, parsed_formats, cadence, currency, unique)


class StaffDirectory:
    """Staff addresses from auth, asked with admin's own service token."""

    def __init__(self, channels: ServiceChannels, timeout_s: float) -> None:
        self._channels = channels
        self._timeout_s = timeout_s

    async def addresses(self, user_ids: Sequence[str]) -> list[str]:
        """The addresses of those who may still read reports (unknown or locked ones left
        out); any other failure raises (the send is retried)."""
        auth = self._channels.stub("auth", AuthServiceStub)
        found = []
        for user_id in user_ids:
            try:
                details = await auth.GetUser(
                    apb.GetUserRequest(user_id=user_id), timeout=self._timeout_s
                )
            except grpc.aio.AioRpcError as failed:
                if failed.code() == grpc.StatusCode.NOT_FOUND:
                    continue
                raise
            user = details.user
            if READ_PERMISSION in user.permissions and not user.locked and user.email:
                found.append(user.email)
        return found


class ReportMailing(BatchJob):
    """Every `interval_s`: the schedules that have not mailed their last closed period."""

    name = "report_schedules"

    def __init__(
        self,
        engine: AsyncEngine,
        maker: ReportMaker,
        mailer: Mailer,
        staff: StaffDirectory,
        *,
        grace: timedelta,
        interval_s: float = 60.0,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(engine, interval_s=interval_s, batch_size=10)
        self._maker = maker
        self._mailer = mailer
        self._staff = staff
        self._grace = grace
        self._clock = clock

    async def run_batch(self, now: datetime | None = None) -> int:
        return await super().run_batch(now or self._clock())

    async def batch(self, session: AsyncSession, now: datetime) -> int:
        """Up to `batch_size` due schedules, each in a savepoint: one that fails (its mail,
        its recipients' lookup) is rolled back alone, logged, and tried again next time."""
        claimed: list[tuple[Any, date, date]] = []
        for cadence in Cadence:
            start, end = last_closed_period(cadence, now, self._grace)
            left = self.batch_size - len(claimed)
            for schedule in await store.claim_unsent(session, cadence.value, start, left):
                claimed.append((schedule, start, end))
        sent = 0
        for schedule, start, end in claimed:
            try:
                async with session.begin_nested():
                    await self._send(session, schedule, start, end, now)
            except Exception as error:
                log.warning("report_schedule_failed", schedule_id=schedule.id, error=repr(error))
            else:
                sent += 1
        return sent

    async def _send(
        self, session: AsyncSession, schedule: Any, start: date, end: date, now: datetime
    ) -> None:
        addresses = await self._staff.addresses(list(schedule.recipient_ids))
        await store.record_send(
            session,
            {
                "schedule_id": schedule.id,
                "period_start": start,
                "period_end": end,
                "recipients": len(addresses),
                "sent_at": now,
            },
        )
        if not addresses:
            log.warning("report_schedule_without_recipients", schedule_id=schedule.id)
            return
        request = self._maker.request_for(schedule.kind, start, end, schedule.currency)
        prepared = await self._maker.prepare(request)
        attachments = []
        for text in schedule.formats:
            fmt = ExportFormat(text)
            data = await self._maker.file(prepared, fmt)
            attachments.append(
                Attachment(prepared.file_name(fmt), MEDIA_TYPES[fmt].split(";")[0], data)
            )
        preview = await self._maker.preview(prepared, 0)
        spec = SPECS[request.kind]
        totals = display_cells(spec, preview.totals, request.query.currency)
        summary = "\n".join(
            f"  {c.label}: {t}" for c, t in zip(spec.columns, totals, strict=True) if c.summed
        )
        await self._mailer.send(
            Mail(
                ", ".join(addresses),
                f"{spec.title}, {start.isoformat()} to {end.isoformat()}",
                f"{spec.title} from {start.isoformat()} to {end.isoformat()} "
                f"({request.query.currency}), final.\n\nTotals:\n{summary}\n\n"
                f"{preview.row_count} rows; checksum {preview.checksum}.\n",
                tuple(attachments),
            )
        )
        log.info("report_schedule_sent", schedule_id=schedule.id, period=start.isoformat())
