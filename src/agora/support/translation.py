"""Protobuf <-> domain mapping of the support service, and nothing else."""

from __future__ import annotations

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora.support.recommending import Method, Recommended

KIND_BY_METHOD: dict[Method, pb.RecommendationKind] = {
    Method.ALSO_BOUGHT: pb.RECOMMENDATION_KIND_ALSO_BOUGHT,
    Method.SIMILAR: pb.RECOMMENDATION_KIND_SIMILAR,
    Method.FOR_YOU: pb.RECOMMENDATION_KIND_FOR_YOU,
    Method.POPULAR: pb.RECOMMENDATION_KIND_POPULAR,
}
METHOD_BY_KIND: dict[int, Method] = {int(kind): method for method, kind in KIND_BY_METHOD.items()}


def method_of(kind: int) -> Method | None:
    """The method a request's kind names (None for UNSPECIFIED or a number not known here)."""
    return METHOD_BY_KIND.get(int(kind))


def recommendations_pb(recommended: Recommended) -> pb.Recommendations:
    return pb.Recommendations(
        kind=KIND_BY_METHOD[recommended.kind],
        method=KIND_BY_METHOD[recommended.method],
        items=[
            pb.Recommendation(
                product_id=item.product_id, score=item.score, source=KIND_BY_METHOD[item.source]
            )
            for item in recommended.items
        ],
    )
