"""The admin service over gRPC, as `compose` builds it: health and the services it serves."""

from __future__ import annotations

from agora.platform.rpc.server import GrpcServer
from agora.platform.services import grpc_serving


async def test_the_service_reports_serving_on_the_health_protocol(
    admin_server: GrpcServer,
) -> None:
    assert await grpc_serving(admin_server.address)
