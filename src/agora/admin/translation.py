"""Protobuf <-> domain mapping of the admin service, and nothing else."""

from __future__ import annotations

from agora._proto.agora.admin.v1 import admin_pb2 as pb
from agora.admin.domain import NewPage, Page
from agora.platform.rpc.timestamps import timestamp


def page_pb(page: Page) -> pb.Page:
    return pb.Page(
        id=page.id,
        name=page.name,
        version=page.version,
        created_at=timestamp(page.created_at),
    )


def new_page(message: pb.CreatePageRequest) -> NewPage:
    return NewPage(name=message.name)
