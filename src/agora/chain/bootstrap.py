"""The chain service's composition root: `compose` builds its parts, `run` serves them."""

from __future__ import annotations

from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora.chain.configuration import ChainConfig, chain_config
from agora.chain.service import ChainService
from agora.chain.settings import ChainSettings
from agora.chain.watcher import Watcher
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "chain"


def configure(backends: Backends, settings: ChainSettings) -> ChainConfig:
    """The network, tokens and wallet of `settings` (a missing keystore is created outside
    production)."""
    platform = backends.platform
    return chain_config(settings, data_dir=platform.data_dir, production=platform.env == "prod")


def compose(
    backends: Backends, settings: ChainSettings, config: ChainConfig | None = None
) -> ServiceParts:
    """Every part of the service (servicers, consumers, jobs), built but not serving: `run`
    installs them on the host, integration tests on their own server."""
    config = config or configure(backends, settings)
    add = chain_pb2_grpc.add_ChainServiceServicer_to_server
    return ServiceParts(
        servicers=[Servicer(add, ChainService(backends.engine, config))],
        jobs=[Watcher(backends.engine, config)],
    )


async def run(platform: PlatformSettings, settings: ChainSettings | None = None) -> None:
    """Serve the chain service until cancelled."""
    settings = settings or ChainSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
