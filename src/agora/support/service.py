"""The support service's gRPC servicer: proto -> domain (via `translation.py`), one unit of
work per call, domain -> proto. Domain errors propagate to the platform's interceptor, which
maps them to gRPC status once."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.db import session_factory
from agora.platform.idempotency import idempotent_mutation
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.clock import utcnow
from agora.support import store
from agora.support.domain import create_support
from agora.support.events import record_support_created
from agora.support.translation import new_support, support_pb


class SupportService(support_pb2_grpc.SupportServiceServicer):
    """SupportService over the support schema reached through `engine`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)
        # Reads need no transaction: autocommit saves the BEGIN/ROLLBACK round trips.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def CreateSupport(self, request: pb.CreateSupportRequest, context: object) -> pb.Support:
        async def change(session: AsyncSession) -> pb.Support:
            support = create_support(
                new_support(request), support_id=str(uuid.uuid4()), now=utcnow()
            )
            await store.add_support(session, support)
            await record_support_created(session, support)
            return support_pb(support)

        # One transaction: the idempotency record, the change and its outbox event.
        return await idempotent_mutation(
            self._sessions,
            operation="support.CreateSupport",
            request=request,
            response_type=pb.Support,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )

    async def GetSupport(self, request: pb.GetSupportRequest, context: object) -> pb.Support:
        support_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            return support_pb(await store.support_by_id(conn, support_id))
