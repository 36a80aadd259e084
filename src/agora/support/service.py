"""The support service's gRPC servicer: proto -> domain (via `translation.py`), the answer,
domain -> proto. Domain errors propagate to the platform's interceptor, which maps them to
gRPC status once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.errors import PermissionDenied
from agora.platform.kernel.checks import canonical_id
from agora.platform.security.principal import current_principal
from agora.support import recommendations
from agora.support.recommending import product_question, recommendation_limit
from agora.support.translation import method_of, recommendations_pb


class SupportService(support_pb2_grpc.SupportServiceServicer):
    """SupportService over the support schema reached through `engine`."""

    def __init__(self, engine: AsyncEngine) -> None:
        # Reads need no transaction: autocommit saves the BEGIN/ROLLBACK round trips.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def GetRecommendations(
        self, request: pb.GetRecommendationsRequest, context: object
    ) -> pb.Recommendations:
        question = product_question(method_of(request.kind), request.product_id, request.limit)
        async with self._reads.connect() as conn:
            return recommendations_pb(await recommendations.for_product(conn, question))

    async def GetMyRecommendations(
        self, request: pb.GetMyRecommendationsRequest, context: object
    ) -> pb.Recommendations:
        principal = current_principal()
        # The caller's own purchases, and only a person has some: a service's token is refused.
        customer_id = canonical_id(principal.subject) if principal.kind == "user" else None
        if customer_id is None:
            raise PermissionDenied("recommendations for you are a signed-in customer's own")
        limit = recommendation_limit(request.limit)
        async with self._reads.connect() as conn:
            answer = await recommendations.for_customer(conn, customer_id, limit)
        return recommendations_pb(answer)
