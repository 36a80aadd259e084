"""The admin service over gRPC, as `compose` builds it: health, one round trip, its event."""

from __future__ import annotations

import uuid

import grpc
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import admin_pb2 as pb
from agora._proto.agora.admin.v1.admin_pb2_grpc import AdminServiceStub
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.admin.events import PAGE_CREATED
from agora.platform.rpc.server import GrpcServer
from agora.platform.services import grpc_serving

TIMEOUT_S = 10


async def test_the_service_reports_serving_on_the_health_protocol(
    admin_server: GrpcServer,
) -> None:
    assert await grpc_serving(admin_server.address)


async def test_a_created_page_is_read_back_by_its_id(admin: AdminServiceStub) -> None:
    request = pb.CreatePageRequest(idempotency_key=str(uuid.uuid4()), name="  Round trip ")
    created = await admin.CreatePage(request, timeout=TIMEOUT_S)
    found = await admin.GetPage(pb.GetPageRequest(id=created.id), timeout=TIMEOUT_S)
    assert found == created
    assert (found.name, found.version) == ("Round trip", 1)


async def test_a_retried_create_answers_the_first_page_again(
    admin: AdminServiceStub,
) -> None:
    request = pb.CreatePageRequest(idempotency_key=str(uuid.uuid4()), name="Once")
    first = await admin.CreatePage(request, timeout=TIMEOUT_S)
    again = await admin.CreatePage(request, timeout=TIMEOUT_S)
    assert again.id == first.id


async def test_creating_a_page_records_its_event_in_the_outbox(
    admin: AdminServiceStub, admin_engine: AsyncEngine
) -> None:
    request = pb.CreatePageRequest(idempotency_key=str(uuid.uuid4()), name="Announced")
    created = await admin.CreatePage(request, timeout=TIMEOUT_S)
    async with admin_engine.connect() as conn:
        payloads = await conn.scalars(
            sa.text("SELECT payload FROM admin.outbox WHERE subject = :subject"),
            {"subject": PAGE_CREATED},
        )
        envelopes = [EventEnvelope.FromString(payload) for payload in payloads]
    assert [e.aggregate_id for e in envelopes].count(created.id) == 1


async def test_an_unknown_page_is_not_found(admin: AdminServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await admin.GetPage(pb.GetPageRequest(id=str(uuid.uuid4())), timeout=TIMEOUT_S)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
