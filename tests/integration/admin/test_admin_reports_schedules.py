"""Scheduled reports against real auth and the project's SMTP sink: only staff who may read
reports can be recipients, a create is idempotent, and each closed period is mailed once (CSV
and PDF attached) however many replicas run the job and however often."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import nats
import pytest
from pypdf import PdfReader
from security_support import (
    SecurityFiles,
    authorization_interceptor,
    bearer,
    mint_token,
    service_identity,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import reports_pb2 as pb
from agora._proto.agora.admin.v1.reports_pb2_grpc import ReportsServiceStub
from agora.admin.bootstrap import compose as compose_admin
from agora.admin.reports_schedules import ReportMailing
from agora.admin.settings import AdminSettings
from agora.auth.bootstrap import compose as compose_auth
from agora.auth.commands import create_user
from agora.auth.settings import AuthSettings
from agora.platform.bus.streams import audit_stream, ensure_stream, producer_stream
from agora.platform.db import create_engine
from agora.platform.embedded.mail_sink import StoredMail, running_mail_sink, stored_mail
from agora.platform.mail import Mailer
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.discovery import Resolver
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends, ServiceParts
from agora.platform.security.envelope import KekFile, SecretBox
from agora.platform.security.interceptor import AuthorizationInterceptor
from agora.platform.security.jwks import JwksChain, StaticJwksSource
from agora.platform.security.tokens import TokenVerifier
from agora.platform.settings import PlatformSettings

PASSWORD = "correct horse battery staple"
STAFF = (
    (
        "authorization",
        bearer(
            mint_token(permissions=["admin:reports:write", "admin:reports:read", "auth:users:read"])
        ),
    ),
)


class Clock:
    """Admin's now, set by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Stack:
    reports: ReportsServiceStub
    mailing: ReportMailing
    replica: ReportMailing
    # A replica whose mail server is down.
    cut_off: ReportMailing
    mail_dir: Path
    clock: Clock
    database_url: str


@contextlib.asynccontextmanager
async def served(name: str, parts: ServiceParts, interceptor: object) -> AsyncIterator[str]:
    server = GrpcServer(name, "127.0.0.1", free_port(), authorization=interceptor)
    for servicer in parts.servicers:
        server.add(servicer.add_to_server, servicer.implementation)
    await server.start()
    try:
        yield server.address
    finally:
        await server.stop(0)


@pytest.fixture(scope="module")
async def stack(
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
    admin_engine: AsyncEngine,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    await migrate("auth", database_url)
    auth_engine = create_engine(database_url, "auth", pool_size=5)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for stream in (producer_stream("auth"), producer_stream("admin"), audit_stream()):
        await ensure_stream(js, stream)
    mail_dir = Path(tmp_path_factory.mktemp("report-mail"))
    smtp_port = free_port()
    # Auth trusts the tests' user tokens and service tokens (admin's own among them).
    auth_verifier = TokenVerifier(
        JwksChain([StaticJwksSource(security_files.jwks_path)]),
        service_identity("tests").verification_keys(),
    )
    auth_parts = compose_auth(
        Backends(platform, auth_engine, js, ServiceChannels(Resolver(static={}))),
        AuthSettings(public_base_url="http://shop.test"),
        secrets=SecretBox(KekFile(security_files.kek_path)),
        mailer=Mailer(f"smtp://127.0.0.1:{free_port()}", "Agora <no-reply@shop.test>"),
        audit_log_durable=f"auth-audit-log-{uuid.uuid4().hex[:8]}",
    )
    clock = Clock()
    async with (
        running_mail_sink(mail_dir, smtp_port),
        served("auth", auth_parts, AuthorizationInterceptor(auth_verifier)) as auth_address,
    ):
        channels = ServiceChannels(
            Resolver(static={"auth": auth_address}),
            authorization=service_identity("admin").authorization,
        )
        settings = AdminSettings(
            media_dir=Path(tmp_path_factory.mktemp("media")),
            smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        )
        backends = Backends(platform, admin_engine, js, channels)
        admin_parts = compose_admin(backends, settings, clock=clock)
        replica_parts = compose_admin(backends, settings, clock=clock)
        cut_off_parts = compose_admin(
            backends,
            settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"}),
            clock=clock,
        )
        mailing, replica, cut_off = (
            next(j for j in parts.jobs if isinstance(j, ReportMailing))
            for parts in (admin_parts, replica_parts, cut_off_parts)
        )
        async with (
            served("admin", admin_parts, authorization_interceptor(security_files)) as address,
            grpc.aio.insecure_channel(address) as channel,
        ):
            yield Stack(
                ReportsServiceStub(channel),
                mailing,
                replica,
                cut_off,
                mail_dir,
                clock,
                database_url,
            )
        await channels.close()
    await nc.close()
    await auth_engine.dispose()


async def a_user(stack: Stack, role: str) -> tuple[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:10]}@shop.test"
    user = await create_user(
        stack.database_url, email=email, password=PASSWORD, roles=[role], name=role.title()
    )
    return user.id, email


def new_mail(stack: Stack, seen: int) -> list[StoredMail]:
    return stored_mail(stack.mail_dir)[seen:]


async def send_due(stack: Stack) -> None:
    """Both replicas at once, then each again: whatever is due goes out once."""
    await asyncio.gather(stack.mailing.run_batch(), stack.replica.run_batch())
    await stack.mailing.run_batch()
    await stack.replica.run_batch()


async def test_only_staff_who_may_read_reports_can_receive_them(stack: Stack) -> None:
    staff_id, _ = await a_user(stack, "staff")
    customer_id, _ = await a_user(stack, "customer")
    request = pb.CreateReportScheduleRequest(
        idempotency_key=str(uuid.uuid4()),
        kind="tax",
        formats=["csv"],
        cadence=pb.REPORT_CADENCE_MONTHLY,
        recipient_ids=[staff_id, customer_id],
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.reports.CreateReportSchedule(request, metadata=STAFF)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "recipientIds[1]" in (raised.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stack.reports.CreateReportSchedule(
            pb.CreateReportScheduleRequest(
                idempotency_key=str(uuid.uuid4()),
                kind="tax",
                formats=["csv"],
                cadence=pb.REPORT_CADENCE_MONTHLY,
                recipient_ids=[str(uuid.uuid4())],
            ),
            metadata=STAFF,
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as reader:
        await stack.reports.CreateReportSchedule(
            request,
            metadata=(("authorization", bearer(mint_token(permissions=["admin:reports:read"]))),),
        )
    assert reader.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_daily_schedule_mails_each_closed_day_once_with_its_files(stack: Stack) -> None:
    (first_id, first_email), (second_id, second_email) = [
        await a_user(stack, "staff") for _ in range(2)
    ]
    request = pb.CreateReportScheduleRequest(
        idempotency_key=str(uuid.uuid4()),
        kind="sales-by-day",
        formats=["csv", "pdf"],
        cadence=pb.REPORT_CADENCE_DAILY,
        currency="EUR",
        recipient_ids=[first_id, second_id],
    )
    created = await stack.reports.CreateReportSchedule(request, metadata=STAFF)
    again = await stack.reports.CreateReportSchedule(request, metadata=STAFF)
    assert again.id == created.id
    listed = await stack.reports.ListReportSchedules(
        pb.ListReportSchedulesRequest(page_size=100), metadata=STAFF
    )
    assert [s.id for s in listed.schedules].count(created.id) == 1

    stack.clock.now = datetime(2026, 12, 3, 9, tzinfo=UTC)  # 12-01 closed (grace: a day)
    seen = len(stored_mail(stack.mail_dir))
    # A replica that cannot reach the mail server records nothing: the period stays due.
    assert await stack.cut_off.run_batch() == 0
    assert new_mail(stack, seen) == []
    await send_due(stack)
    mails = [m for m in new_mail(stack, seen) if first_email in m.to]
    assert len(mails) == 1
    (mail,) = mails
    assert second_email in mail.to
    assert "2026-12-01" in mail.subject
    attachments = {
        part.get_filename(): part.get_content() for part in mail.message().iter_attachments()
    }
    assert set(attachments) == {
        "sales-by-day_2026-12-01_2026-12-01.csv",
        "sales-by-day_2026-12-01_2026-12-01.pdf",
    }
    rows = list(csv.reader(io.StringIO(attachments["sales-by-day_2026-12-01_2026-12-01.csv"])))
    assert rows[0][0] == "date"
    assert rows[1][0] == "2026-12-01"
    assert rows[-1][0] == "Total"
    pdf = PdfReader(io.BytesIO(attachments["sales-by-day_2026-12-01_2026-12-01.pdf"]))
    assert "Sales by day" in pdf.pages[0].extract_text()
    assert "Provisional" not in pdf.pages[0].extract_text()

    listed = await stack.reports.ListReportSchedules(
        pb.ListReportSchedulesRequest(page_size=100), metadata=STAFF
    )
    assert {s.id: s.last_sent_period for s in listed.schedules}[created.id] == "2026-12-01"

    stack.clock.now += timedelta(days=1)
    await send_due(stack)
    mine = [m for m in new_mail(stack, seen) if first_email in m.to]
    assert [m.subject.rsplit(" ", 1)[-1] for m in mine] == ["2026-12-01", "2026-12-02"]

    deleted = await stack.reports.DeleteReportSchedule(
        pb.DeleteReportScheduleRequest(idempotency_key=str(uuid.uuid4()), id=created.id),
        metadata=STAFF,
    )
    assert deleted.deleted
    gone = await stack.reports.DeleteReportSchedule(
        pb.DeleteReportScheduleRequest(idempotency_key=str(uuid.uuid4()), id=created.id),
        metadata=STAFF,
    )
    assert not gone.deleted
    stack.clock.now += timedelta(days=1)
    await send_due(stack)
    assert len([m for m in new_mail(stack, seen) if first_email in m.to]) == 2
