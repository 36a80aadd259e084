"""Serve the gateway for the test shop on real granian (run as a script by the tests).

python granian_testshop.py DESCRIPTOR_SET BACKEND_ADDRESS PORT

Settings come from `AGORA_GATEWAY_*` like the real gateway's; `AGORA_TEST_CSRF_KEY` (hex) is
the CSRF key, so that a test can make a session's CSRF token.
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from granian import Granian
from granian.constants import Interfaces
from starlette.applications import Starlette

from agora.gateway.app import create_app
from agora.gateway.cache import ResponseCache
from agora.gateway.descriptors import populate_pool
from agora.gateway.settings import GatewaySettings

CSRF_KEY_VARIABLE = "AGORA_TEST_CSRF_KEY"


def testshop_app(descriptor_path: str, backend_address: str) -> Starlette:
    """The worker's app: the gateway for the test shop at `backend_address`."""
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(Path(descriptor_path).read_bytes())
    populate_pool(descriptor_set)
    channels: dict[str, grpc.aio.Channel] = {}

    def channel_for(backend: str) -> grpc.aio.Channel:
        # Created on first use, inside the worker's event loop.
        if backend not in channels:
            channels[backend] = grpc.aio.insecure_channel(backend_address)
        return channels[backend]

    csrf_key = os.environ.get(CSRF_KEY_VARIABLE)
    return create_app(
        descriptor_pool.Default(),
        channel_for,
        settings=GatewaySettings(backend_timeout_s=2.0),
        cache=ResponseCache(),
        descriptor_set=descriptor_set,
        csrf_key=bytes.fromhex(csrf_key) if csrf_key else None,
    )


def main(descriptor_path: str, backend_address: str, port: str) -> None:
    server = Granian(
        "granian_testshop:testshop_app",
        address="127.0.0.1",
        port=int(port),
        interface=Interfaces.ASGI,
        workers=1,
        workers_kill_timeout=GatewaySettings().shutdown_timeout_s,
    )
    loader = partial(testshop_app, descriptor_path, backend_address)
    server.serve(target_loader=loader, wrap_loader=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
