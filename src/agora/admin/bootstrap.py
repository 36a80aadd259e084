"""The admin service's composition root: `compose` builds its parts, `run` serves them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from agora._proto.agora.admin.v1 import (
    analytics_pb2_grpc,
    content_pb2_grpc,
    reports_pb2_grpc,
    users_pb2_grpc,
)
from agora.admin.analytics_consumers import analytics_consumers
from agora.admin.analytics_service import AnalyticsService
from agora.admin.analytics_signals import AnalyticsSignals
from agora.admin.content import Clock
from agora.admin.content_jobs import ContentSchedule
from agora.admin.content_media import DiskMediaStore, MediaStore
from agora.admin.content_media_s3 import S3MediaStore
from agora.admin.content_service import ContentService
from agora.admin.reports_consumers import reports_consumers
from agora.admin.reports_files import ReportMaker
from agora.admin.reports_schedules import ReportMailing, StaffDirectory
from agora.admin.reports_service import ReportsService
from agora.admin.settings import AdminSettings
from agora.admin.users_clients import StaffCalls
from agora.admin.users_service import UserAdminService
from agora.platform.db import session_factory
from agora.platform.kernel.clock import utcnow
from agora.platform.mail import Mailer
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "admin"


def compose(backends: Backends, settings: AdminSettings, *, clock: Clock = utcnow) -> ServiceParts:
    """Every part of the service (servicers, consumers, jobs), built but not serving: `run`
    installs them on the host, integration tests on their own server (`clock`: what "now" is
    to content schedules and approvals)."""
    content = ContentService(
        backends.engine,
        media=media_store(settings, backends.platform.data_dir),
        locales=settings.content_locales,
        media_max_bytes=settings.media_max_bytes,
        clock=clock,
    )
    schedule = ContentSchedule(
        backends.engine, interval_s=settings.content_schedule_interval_s, clock=clock
    )
    users = UserAdminService(
        backends.engine,
        StaffCalls(backends.channels, settings.users_call_timeout_s),
        approval_ttl_s=settings.totp_reset_approval_ttl_s,
        clock=clock,
    )
    signals = AnalyticsSignals(backends.engine)
    analytics = AnalyticsService(backends.engine, signals, settings.reporting_currency)
    grace = timedelta(seconds=settings.report_close_grace_s)
    maker = ReportMaker(
        backends.engine, reporting=settings.reporting_currency, grace=grace, clock=clock
    )
    reports = ReportsService(
        backends.engine,
        maker,
        StaffCalls(backends.channels, settings.users_call_timeout_s),
        clock=clock,
    )
    mailing = ReportMailing(
        backends.engine,
        maker,
        Mailer(settings.resolved_smtp_url, settings.mail_from),
        StaffDirectory(backends.channels, settings.users_call_timeout_s),
        grace=grace,
        interval_s=settings.report_schedule_interval_s,
        clock=clock,
    )
    sessions = session_factory(backends.engine)
    return ServiceParts(
        servicers=[
            Servicer(analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server, analytics),
            Servicer(content_pb2_grpc.add_ContentServiceServicer_to_server, content),
            Servicer(users_pb2_grpc.add_UserAdminServiceServicer_to_server, users),
            Servicer(reports_pb2_grpc.add_ReportsServiceServicer_to_server, reports),
        ],
        consumers=analytics_consumers(backends.js, sessions)
        + reports_consumers(backends.js, sessions),
        jobs=[signals, schedule, mailing],
    )


def media_store(settings: AdminSettings, data_dir: Path) -> MediaStore:
    """The media store the settings choose: a directory (default), or an S3-compatible bucket."""
    if settings.media_store == "s3":
        assert settings.media_s3_bucket is not None  # the settings refuse s3 without one
        return S3MediaStore(
            settings.media_s3_bucket,
            endpoint=settings.media_s3_endpoint,
            region=settings.media_s3_region,
            prefix=settings.media_s3_prefix,
            access_key_id=settings.media_s3_access_key_id,
            secret_access_key=settings.media_s3_secret_key(),
        )
    return DiskMediaStore(settings.media_dir or data_dir / "media")


async def run(platform: PlatformSettings, settings: AdminSettings | None = None) -> None:
    """Serve the admin service until cancelled."""
    settings = settings or AdminSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
