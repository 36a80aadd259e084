"""The catalog's composition root: the platform's service host plus the catalog servicer and the
loop that expires stale reservations."""

from __future__ import annotations

from agora._proto.agora.catalog.v1 import catalog_pb2_grpc
from agora.catalog.jobs import ReservationExpiry
from agora.catalog.service import CatalogService
from agora.catalog.settings import CatalogSettings
from agora.platform.runtime import service_host
from agora.platform.settings import PlatformSettings

SERVICE = "catalog"


async def run(platform: PlatformSettings, settings: CatalogSettings | None = None) -> None:
    """Serve the catalog until cancelled."""
    settings = settings or CatalogSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.server.add(
            catalog_pb2_grpc.add_CatalogServiceServicer_to_server, CatalogService(host.engine)
        )
        expiry = ReservationExpiry(
            host.engine,
            interval_s=settings.expiry_interval_s,
            batch_size=settings.expiry_batch_size,
        )
        host.background(expiry.run())
        await host.serve_forever()
