"""Protobuf <-> domain mapping of the support service, and nothing else."""

from __future__ import annotations

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora.platform.rpc.timestamps import timestamp
from agora.support.domain import NewSupport, Support


def support_pb(support: Support) -> pb.Support:
    return pb.Support(
        id=support.id,
        name=support.name,
        version=support.version,
        created_at=timestamp(support.created_at),
    )


def new_support(message: pb.CreateSupportRequest) -> NewSupport:
    return NewSupport(name=message.name)
