"""gRPC between Agora's services: server, client channels, error mapping, discovery."""

from agora.platform.rpc.client import (
    DEFAULT_TIMEOUT_S,
    AddressSource,
    ServiceChannels,
    channel_target,
    service_config,
)
from agora.platform.rpc.discovery import (
    INSTANCES_BUCKET,
    Instance,
    Registration,
    Resolver,
    instance_bucket,
)
from agora.platform.rpc.interceptors import (
    REQUEST_ID_HEADER,
    RequestIdChannel,
    ServerInterceptor,
    new_request_id,
    send_response_headers,
)
from agora.platform.rpc.server import GrpcServer
from agora.platform.rpc.status import (
    GRPC_CODE_BY_CLASS,
    ErrorInfo,
    RpcFailure,
    domain_error_from_rpc_error,
    error_info,
    error_info_from_rpc_error,
    grpc_code,
    raise_for_rpc_error,
    rpc_status_from_rpc_error,
    to_grpc_status,
    to_rpc_status,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "GRPC_CODE_BY_CLASS",
    "INSTANCES_BUCKET",
    "REQUEST_ID_HEADER",
    "AddressSource",
    "ErrorInfo",
    "GrpcServer",
    "Instance",
    "Registration",
    "RequestIdChannel",
    "Resolver",
    "RpcFailure",
    "ServerInterceptor",
    "ServiceChannels",
    "channel_target",
    "domain_error_from_rpc_error",
    "error_info",
    "error_info_from_rpc_error",
    "grpc_code",
    "instance_bucket",
    "new_request_id",
    "raise_for_rpc_error",
    "rpc_status_from_rpc_error",
    "send_response_headers",
    "service_config",
    "to_grpc_status",
    "to_rpc_status",
]
