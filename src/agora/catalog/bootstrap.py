"""The catalog's composition root: `compose` builds the servicer and the reservation-expiry job
from the backends (integration tests call it too); `run` serves them in the platform's host."""

from __future__ import annotations

from agora._proto.agora.catalog.v1 import catalog_pb2_grpc
from agora.catalog.jobs import ReservationExpiry
from agora.catalog.service import CatalogService
from agora.catalog.settings import CatalogSettings
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "catalog"


def compose(backends: Backends, settings: CatalogSettings) -> ServiceParts:
    """Every part of the catalog, built without serving."""
    expiry = ReservationExpiry(
        backends.engine,
        interval_s=settings.expiry_interval_s,
        batch_size=settings.expiry_batch_size,
    )
    return ServiceParts(
        servicers=[
            Servicer(
                catalog_pb2_grpc.add_CatalogServiceServicer_to_server,
                CatalogService(backends.engine),
            )
        ],
        jobs=[expiry],
    )


async def run(platform: PlatformSettings, settings: CatalogSettings | None = None) -> None:
    """Serve the catalog until cancelled."""
    settings = settings or CatalogSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
