"""The chain service's gRPC servicer: proto -> domain (via `translation.py`), one unit of
work per call, domain -> proto. Domain errors propagate to the platform's interceptor, which
maps them to gRPC status once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora.platform.db import session_factory


class ChainService(chain_pb2_grpc.ChainServiceServicer):
    """ChainService over the chain schema reached through `engine`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)
        # Reads need no transaction: autocommit saves the BEGIN/ROLLBACK round trips.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
