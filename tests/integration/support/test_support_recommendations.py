"""The recommendation RPCs over gRPC, as `compose` builds them, on models the consumers built
from real events: also bought, similar, popular, for you, the cold-start fallback, who may ask
for what, and bad requests."""

from __future__ import annotations

import grpc
import pytest
from nats.js import JetStreamContext
from recs_support import bought, drain_all, new_id, product_archived, published_products
from security_support import customer_token, service_identity, with_token

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora._proto.agora.support.v1.support_pb2_grpc import SupportServiceStub
from agora.platform.bus.consumer import EventConsumer
from agora.platform.rpc.server import GrpcServer
from agora.platform.services import grpc_serving

TIMEOUT_S = 10
ALSO = pb.RECOMMENDATION_KIND_ALSO_BOUGHT
SIMILAR = pb.RECOMMENDATION_KIND_SIMILAR
POPULAR = pb.RECOMMENDATION_KIND_POPULAR
FOR_YOU = pb.RECOMMENDATION_KIND_FOR_YOU


def ids(answer: pb.Recommendations) -> list[str]:
    return [item.product_id for item in answer.items]


async def ask(
    support: SupportServiceStub, kind: int, product_id: str = "", limit: int = 50
) -> pb.Recommendations:
    request = pb.GetRecommendationsRequest(
        kind=kind,  # type: ignore[arg-type]
        product_id=product_id,
        limit=limit,
    )
    return await support.GetRecommendations(request, timeout=TIMEOUT_S)


async def test_the_service_reports_serving_on_the_health_protocol(
    support_server: GrpcServer,
) -> None:
    assert await grpc_serving(support_server.address)


async def test_products_bought_together_come_first_for_anyone(
    anonymous_support: SupportServiceStub,
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
) -> None:
    desk, lamp, chair, rug = await published_products(
        support_js, support_consumers, ["Oak desk", "Desk lamp", "Office chair", "Wool rug"]
    )
    for basket in ([desk, lamp], [desk, lamp], [desk, lamp, chair], [rug]):
        await bought(support_js, basket)
    await drain_all(support_consumers)

    answer = await ask(anonymous_support, ALSO, desk)

    assert (answer.kind, answer.method) == (ALSO, ALSO)
    found = ids(answer)
    assert desk not in found
    assert found.index(lamp) < found.index(chair)
    by_id = {item.product_id: item for item in answer.items}
    assert (by_id[lamp].source, by_id[chair].source) == (ALSO, ALSO)
    assert by_id[lamp].score > by_id[chair].score
    # Never bought with the desk: only the popularity prior could put the rug in the answer.
    if rug in by_id:
        assert by_id[rug].source == POPULAR
        assert found.index(chair) < found.index(rug)


async def test_a_product_nobody_bought_falls_back_to_popular_products(
    support: SupportServiceStub,
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
) -> None:
    (best_seller, new_product) = await published_products(
        support_js, support_consumers, ["Best seller", "Brand new thing"]
    )
    for _ in range(30):
        await bought(support_js, [best_seller])
    await drain_all(support_consumers)

    answer = await ask(support, ALSO, new_product, limit=5)
    most_bought = await ask(support, POPULAR, new_product, limit=5)

    assert (answer.kind, answer.method) == (ALSO, POPULAR)
    assert ids(answer) == ids(most_bought)
    assert best_seller in ids(answer)
    assert {item.source for item in answer.items} == {POPULAR}


async def test_popular_products_are_the_most_bought_published_ones(
    support: SupportServiceStub,
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
) -> None:
    top, archived_top = await published_products(
        support_js, support_consumers, ["Top seller", "Archived seller"]
    )
    unknown = new_id()  # sold, but the catalog never announced it here
    for _ in range(60):
        await bought(support_js, [top, archived_top, unknown])
    await product_archived(support_js, archived_top, version=3)
    await drain_all(support_consumers)

    answer = await ask(support, POPULAR, limit=3)

    assert answer.method == POPULAR
    assert ids(answer)[0] == top
    assert archived_top not in ids(answer)
    assert unknown not in ids(answer)


async def test_similar_products_are_the_nearest_by_their_text(
    support: SupportServiceStub,
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
) -> None:
    tag = new_id()[:8]
    rose, tulip, laptop = await published_products(
        support_js,
        support_consumers,
        [
            f"Rose seeds {tag} for the garden",
            f"Tulip bulbs {tag} for the garden",
            f"Laptop computer {tag} with keyboard",
        ],
    )

    answer = await ask(support, SIMILAR, rose)

    assert (answer.kind, answer.method) == (SIMILAR, SIMILAR)
    found = ids(answer)
    assert rose not in found
    assert tulip in found
    assert laptop not in found or found.index(tulip) < found.index(laptop)
    assert answer.items[0].score >= answer.items[-1].score


async def test_similar_products_of_a_product_without_text_are_popular_ones(
    support: SupportServiceStub,
) -> None:
    answer = await ask(support, SIMILAR, new_id(), limit=3)
    assert (answer.kind, answer.method) == (SIMILAR, POPULAR)


async def test_for_you_follows_the_callers_own_purchases(
    support_channel: grpc.aio.Channel,
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
) -> None:
    support = SupportServiceStub(support_channel)
    camera, lens, tripod = await published_products(
        support_js, support_consumers, ["Camera", "Camera lens", "Tripod"]
    )
    for basket in ([camera, lens], [camera, lens], [camera, tripod]):
        await bought(support_js, basket)
    me, someone_else = new_id(), new_id()
    await bought(support_js, [camera], customer_id=me)
    await drain_all(support_consumers)

    mine = await support.GetMyRecommendations(
        pb.GetMyRecommendationsRequest(limit=50),
        metadata=with_token(customer_token(me)),
        timeout=TIMEOUT_S,
    )
    theirs = await support.GetMyRecommendations(
        pb.GetMyRecommendationsRequest(limit=50),
        metadata=with_token(customer_token(someone_else)),
        timeout=TIMEOUT_S,
    )

    assert (mine.kind, mine.method) == (FOR_YOU, FOR_YOU)
    assert ids(mine).index(lens) < ids(mine).index(tripod)
    assert (theirs.kind, theirs.method) == (FOR_YOU, POPULAR)


async def test_for_you_needs_a_signed_in_person(
    anonymous_support: SupportServiceStub, support: SupportServiceStub
) -> None:
    request = pb.GetMyRecommendationsRequest()
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await anonymous_support.GetMyRecommendations(request, timeout=TIMEOUT_S)
    service_token = service_identity("orders").token()
    with pytest.raises(grpc.aio.AioRpcError) as a_service:
        await support.GetMyRecommendations(
            request, metadata=with_token(service_token), timeout=TIMEOUT_S
        )
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert a_service.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("kind", "product_id", "limit", "field"),
    [
        (pb.RECOMMENDATION_KIND_UNSPECIFIED, "", 0, "kind"),
        (FOR_YOU, "", 0, "kind"),
        (ALSO, "", 0, "productId"),
        (SIMILAR, "not-a-uuid", 0, "productId"),
        (POPULAR, "", 51, "limit"),
        (POPULAR, "", -1, "limit"),
        (99, "", 0, "kind"),
    ],
)
async def test_a_bad_request_is_refused_naming_the_field(
    anonymous_support: SupportServiceStub, kind: int, product_id: str, limit: int, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ask(anonymous_support, kind, product_id, limit)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (refused.value.details() or "")
