"""The admin service's gRPC servicer: proto -> domain (via `translation.py`), one unit of
work per call, domain -> proto. Domain errors propagate to the platform's interceptor, which
maps them to gRPC status once."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.admin.v1 import admin_pb2 as pb
from agora._proto.agora.admin.v1 import admin_pb2_grpc
from agora.admin import store
from agora.admin.domain import create_page
from agora.admin.events import record_page_created
from agora.admin.translation import new_page, page_pb
from agora.platform.db import session_factory
from agora.platform.idempotency import idempotent_mutation
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.clock import utcnow


class AdminService(admin_pb2_grpc.AdminServiceServicer):
    """AdminService over the admin schema reached through `engine`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)
        # Reads need no transaction: autocommit saves the BEGIN/ROLLBACK round trips.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def CreatePage(self, request: pb.CreatePageRequest, context: object) -> pb.Page:
        async def change(session: AsyncSession) -> pb.Page:
            page = create_page(new_page(request), page_id=str(uuid.uuid4()), now=utcnow())
            await store.add_page(session, page)
            await record_page_created(session, page)
            return page_pb(page)

        # One transaction: the idempotency record, the change and its outbox event.
        return await idempotent_mutation(
            self._sessions,
            operation="admin.CreatePage",
            request=request,
            response_type=pb.Page,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )

    async def GetPage(self, request: pb.GetPageRequest, context: object) -> pb.Page:
        page_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            return page_pb(await store.page_by_id(conn, page_id))
