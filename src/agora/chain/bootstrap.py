"""The chain service's composition root: `compose` builds its parts, `run` serves them."""

from __future__ import annotations

import asyncio
import os

from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora.chain.devnet import dev_treasury, prepare_devnet_at
from agora.chain.service import ChainService
from agora.chain.settings import ChainSettings
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "chain"


def compose(backends: Backends, settings: ChainSettings) -> ServiceParts:
    """Every part of the service (servicers, consumers, jobs), built but not serving: `run`
    installs them on the host, integration tests on their own server."""
    add = chain_pb2_grpc.add_ChainServiceServicer_to_server
    return ServiceParts(servicers=[Servicer(add, ChainService(backends.engine))])


async def run(platform: PlatformSettings, settings: ChainSettings | None = None) -> None:
    """Serve the chain service until cancelled."""
    settings = settings or ChainSettings()
    if os.environ.get("AGORA_CHAIN_DEVNET") == "true":  # `agora up`'s embedded node
        # The treasury stands in as the operator until the service's own signing wallet exists.
        await asyncio.to_thread(
            prepare_devnet_at,
            os.environ["AGORA_CHAIN_RPC_URL"],
            treasury=dev_treasury(),
            operator=dev_treasury(),
        )
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()
