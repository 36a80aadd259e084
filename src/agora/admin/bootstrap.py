"""The admin service's composition root: `compose` builds its parts, `run` serves them."""

from __future__ import annotations

from agora._proto.agora.admin.v1 import admin_pb2_grpc, analytics_pb2_grpc
from agora.admin.analytics_consumers import analytics_consumers
from agora.admin.analytics_service import AnalyticsService
from agora.admin.analytics_signals import AnalyticsSignals
from agora.admin.service import AdminService
from agora.admin.settings import AdminSettings
from agora.platform.db import session_factory
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "admin"


def compose(backends: Backends, settings: AdminSettings) -> ServiceParts:
    """Every part of the service (servicers, consumers, jobs), built but not serving: `run`
    installs them on the host, integration tests on their own server."""
    add = admin_pb2_grpc.add_AdminServiceServicer_to_server
    signals = AnalyticsSignals(backends.engine)
    analytics = AnalyticsService(backends.engine, signals, settings.reporting_currency)
    add_analytics = analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server
    return ServiceParts(
        servicers=[
            Servicer(add, AdminService(backends.engine)),
            Servicer(add_analytics, analytics),
        ],
        consumers=analytics_consumers(backends.js, session_factory(backends.engine)),
        jobs=[signals],
    )


async def run(platform: PlatformSettings, settings: AdminSettings | None = None) -> None:
    """Serve the admin service until cancelled."""
    settings = settings or AdminSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
