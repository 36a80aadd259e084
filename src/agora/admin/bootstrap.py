"""The admin service's composition root: `compose` builds its parts, `run` serves them."""

from __future__ import annotations

from agora._proto.agora.admin.v1 import analytics_pb2_grpc, content_pb2_grpc, users_pb2_grpc
from agora.admin.analytics_consumers import analytics_consumers
from agora.admin.analytics_service import AnalyticsService
from agora.admin.analytics_signals import AnalyticsSignals
from agora.admin.content import Clock
from agora.admin.content_jobs import ContentSchedule
from agora.admin.content_media import DiskMediaStore
from agora.admin.content_service import ContentService
from agora.admin.settings import AdminSettings
from agora.admin.users_clients import StaffCalls
from agora.admin.users_service import UserAdminService
from agora.platform.db import session_factory
from agora.platform.kernel.clock import utcnow
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "admin"


def compose(backends: Backends, settings: AdminSettings, *, clock: Clock = utcnow) -> ServiceParts:
    """Every part of the service (servicers, consumers, jobs), built but not serving: `run`
    installs them on the host, integration tests on their own server (`clock`: what "now" is
    to content schedules and approvals)."""
    media_dir = settings.media_dir or backends.platform.data_dir / "media"
    content = ContentService(
        backends.engine,
        media=DiskMediaStore(media_dir),
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
    return ServiceParts(
        servicers=[
            Servicer(analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server, analytics),
            Servicer(content_pb2_grpc.add_ContentServiceServicer_to_server, content),
            Servicer(users_pb2_grpc.add_UserAdminServiceServicer_to_server, users),
        ],
        consumers=analytics_consumers(backends.js, session_factory(backends.engine)),
        jobs=[signals, schedule],
    )


async def run(platform: PlatformSettings, settings: AdminSettings | None = None) -> None:
    """Serve the admin service until cancelled."""
    settings = settings or AdminSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
