"""The support service over gRPC, as `compose` builds it: health, one round trip, its event."""

from __future__ import annotations

import uuid

import grpc
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.support.v1 import support_pb2 as pb
from agora._proto.agora.support.v1.support_pb2_grpc import SupportServiceStub
from agora.platform.rpc.server import GrpcServer
from agora.platform.services import grpc_serving
from agora.support.events import SUPPORT_CREATED

TIMEOUT_S = 10


async def test_the_service_reports_serving_on_the_health_protocol(
    support_server: GrpcServer,
) -> None:
    assert await grpc_serving(support_server.address)


async def test_a_created_support_is_read_back_by_its_id(support: SupportServiceStub) -> None:
    request = pb.CreateSupportRequest(idempotency_key=str(uuid.uuid4()), name="  Round trip ")
    created = await support.CreateSupport(request, timeout=TIMEOUT_S)
    found = await support.GetSupport(pb.GetSupportRequest(id=created.id), timeout=TIMEOUT_S)
    assert found == created
    assert (found.name, found.version) == ("Round trip", 1)


async def test_a_retried_create_answers_the_first_support_again(
    support: SupportServiceStub,
) -> None:
    request = pb.CreateSupportRequest(idempotency_key=str(uuid.uuid4()), name="Once")
    first = await support.CreateSupport(request, timeout=TIMEOUT_S)
    again = await support.CreateSupport(request, timeout=TIMEOUT_S)
    assert again.id == first.id


async def test_creating_a_support_records_its_event_in_the_outbox(
    support: SupportServiceStub, support_engine: AsyncEngine
) -> None:
    request = pb.CreateSupportRequest(idempotency_key=str(uuid.uuid4()), name="Announced")
    created = await support.CreateSupport(request, timeout=TIMEOUT_S)
    async with support_engine.connect() as conn:
        payloads = await conn.scalars(
            sa.text("SELECT payload FROM support.outbox WHERE subject = :subject"),
            {"subject": SUPPORT_CREATED},
        )
        envelopes = [EventEnvelope.FromString(payload) for payload in payloads]
    assert [e.aggregate_id for e in envelopes].count(created.id) == 1


async def test_an_unknown_support_is_not_found(support: SupportServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await support.GetSupport(pb.GetSupportRequest(id=str(uuid.uuid4())), timeout=TIMEOUT_S)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
