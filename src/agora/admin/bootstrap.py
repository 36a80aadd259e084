"""The admin service's composition root: `compose` builds its parts, `run` serves them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from agora._proto.agora.admin.v1 import admin_pb2_grpc, users_pb2_grpc
from agora.admin.service import AdminService
from agora.admin.settings import AdminSettings
from agora.admin.users_clients import StaffCalls
from agora.admin.users_service import UserAdminService
from agora.platform.kernel.clock import utcnow
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "admin"


def compose(
    backends: Backends, settings: AdminSettings, *, clock: Callable[[], datetime] = utcnow
) -> ServiceParts:
    """Every part of the service (servicers, consumers, jobs), built but not serving: `run`
    installs them on the host, integration tests on their own server."""
    add = admin_pb2_grpc.add_AdminServiceServicer_to_server
    users = UserAdminService(
        backends.engine,
        StaffCalls(backends.channels, settings.users_call_timeout_s),
        approval_ttl_s=settings.totp_reset_approval_ttl_s,
        clock=clock,
    )
    return ServiceParts(
        servicers=[
            Servicer(add, AdminService(backends.engine)),
            Servicer(users_pb2_grpc.add_UserAdminServiceServicer_to_server, users),
        ]
    )


async def run(platform: PlatformSettings, settings: AdminSettings | None = None) -> None:
    """Serve the admin service until cancelled."""
    settings = settings or AdminSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
