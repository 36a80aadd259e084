"""The support service's composition root: `compose` builds its parts, `run` serves them."""

from __future__ import annotations

from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.db import session_factory
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings
from agora.support.consumers import support_consumers
from agora.support.embeddings import TextEmbedder
from agora.support.service import SupportService
from agora.support.settings import SupportSettings

SERVICE = "support"


def compose(
    backends: Backends, settings: SupportSettings, embedder: TextEmbedder | None = None
) -> ServiceParts:
    """Every part of the service (servicers, consumers, jobs), built but not serving: `run`
    installs them on the host, integration tests on their own server."""
    add = support_pb2_grpc.add_SupportServiceServicer_to_server
    sessions = session_factory(backends.engine)
    return ServiceParts(
        servicers=[Servicer(add, SupportService(backends.engine))],
        consumers=support_consumers(backends.js, sessions, embedder or TextEmbedder()),
    )


async def run(platform: PlatformSettings, settings: SupportSettings | None = None) -> None:
    """Serve the support service until cancelled."""
    settings = settings or SupportSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
