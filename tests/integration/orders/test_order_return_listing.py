"""Return requests read back: staff list every order's (`ListReturnRequests`, with
`orders:returns:read`: oldest first, by status, page by page), and an order's own are listed to
whoever may read the order (`ListOrderReturnRequests`: its customer, a guest with its access
token, staff), anyone else being told the order does not exist."""

from __future__ import annotations

import uuid

import grpc
from orders_support import TIMEOUT_S, Metadata, customer, error_of, key
from security_support import mint_token, with_token
from sqlalchemy.ext.asyncio import AsyncEngine
from test_order_returns import ask, shipped_order

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub

RETURNS_READER = with_token(mint_token(roles=["support"], permissions=["orders:returns:read"]))
DECIDER = with_token(mint_token(roles=["staff"], permissions=["orders:returns:write"]))


async def every_request(
    orders: OrdersServiceStub, status: int, metadata: Metadata = RETURNS_READER
) -> list[pb.ReturnRequest]:
    """Every page of the staff listing, one request per page."""
    found: list[pb.ReturnRequest] = []
    token = ""
    while True:
        page = await orders.ListReturnRequests(
            pb.ListReturnRequestsRequest(status=status, page_size=1, page_token=token),  # type: ignore[arg-type]
            metadata=metadata,
            timeout=TIMEOUT_S,
        )
        assert len(page.return_requests) <= 1
        found.extend(page.return_requests)
        if not page.next_page_token:
            return found
        token = page.next_page_token


async def test_staff_list_return_requests_oldest_first_by_status_page_by_page(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    asked = []
    for _ in range(3):
        order = await shipped_order(anonymous, orders_engine, lamp, as_owner)
        asked.append(await ask(anonymous, order.id, as_owner, reason="changed my mind"))
    rejected = asked[1]
    await anonymous.RejectReturn(
        pb.RejectReturnRequest(
            idempotency_key=key(), id=rejected.order_id, return_id=rejected.id, reason="worn"
        ),
        metadata=DECIDER,
        timeout=TIMEOUT_S,
    )

    requested = await every_request(anonymous, pb.RETURN_STATUS_REQUESTED)
    rejections = await every_request(anonymous, pb.RETURN_STATUS_REJECTED)
    everything = await every_request(anonymous, pb.RETURN_STATUS_UNSPECIFIED)

    mine = {r.id for r in asked}
    assert [r.id for r in requested if r.id in mine] == [asked[0].id, asked[2].id]
    assert [r.id for r in rejections if r.id in mine] == [rejected.id]
    assert [r.id for r in everything if r.id in mine] == [r.id for r in asked]
    times = [(r.requested_at.ToDatetime(), r.id) for r in everything]
    assert times == sorted(times)
    assert all(r.status == pb.RETURN_STATUS_REQUESTED for r in requested)
    listed = next(r for r in everything if r.id == asked[0].id)
    assert (listed.order_id, listed.reason, listed.lines[0].variant_id) == (
        asked[0].order_id,
        "changed my mind",
        lamp[1],
    )


async def test_the_staff_listing_needs_its_permission_and_refuses_bad_paging(
    anonymous: OrdersServiceStub,
) -> None:
    customer_only = with_token(mint_token(roles=["customer"], permissions=["orders:read:own"]))

    denied, denied_info = await error_of(
        anonymous.ListReturnRequests(
            pb.ListReturnRequestsRequest(), metadata=customer_only, timeout=TIMEOUT_S
        )
    )
    too_big, too_big_info = await error_of(
        anonymous.ListReturnRequests(
            pb.ListReturnRequestsRequest(page_size=101), metadata=RETURNS_READER, timeout=TIMEOUT_S
        )
    )
    forged, forged_info = await error_of(
        anonymous.ListReturnRequests(
            pb.ListReturnRequestsRequest(page_token="not-a-token"),
            metadata=RETURNS_READER,
            timeout=TIMEOUT_S,
        )
    )
    unknown, unknown_info = await error_of(
        anonymous.ListReturnRequests(
            pb.ListReturnRequestsRequest(status=9),  # type: ignore[arg-type]
            metadata=RETURNS_READER,
            timeout=TIMEOUT_S,
        )
    )

    assert (denied, denied_info.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_MISSING")
    assert too_big == forged == unknown == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in too_big_info.violations] == ["pageSize"]
    assert [v.field for v in forged_info.violations] == ["pageToken"]
    assert [v.field for v in unknown_info.violations] == ["status"]


async def test_an_orders_return_requests_are_listed_to_its_owner_and_staff_only(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    _, as_stranger = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner)
    first = await ask(anonymous, order.id, as_owner, reason="too dim")
    request = pb.ListOrderReturnRequestsRequest(id=order.id)
    staff = with_token(mint_token(roles=["staff"], permissions=["orders:read:any"]))

    owned = await anonymous.ListOrderReturnRequests(request, metadata=as_owner, timeout=TIMEOUT_S)
    seen_by_staff = await anonymous.ListOrderReturnRequests(
        request, metadata=staff, timeout=TIMEOUT_S
    )
    stranger, _ = await error_of(
        anonymous.ListOrderReturnRequests(request, metadata=as_stranger, timeout=TIMEOUT_S)
    )
    nobody, _ = await error_of(anonymous.ListOrderReturnRequests(request, timeout=TIMEOUT_S))
    made_up, _ = await error_of(
        anonymous.ListOrderReturnRequests(
            pb.ListOrderReturnRequestsRequest(id=str(uuid.uuid4())),
            metadata=as_owner,
            timeout=TIMEOUT_S,
        )
    )

    assert [(r.id, r.reason, r.status) for r in owned.return_requests] == [
        (first.id, "too dim", pb.RETURN_STATUS_REQUESTED)
    ]
    assert seen_by_staff == owned
    assert stranger == nobody == made_up == grpc.StatusCode.NOT_FOUND


async def test_a_guest_lists_their_orders_returns_with_its_access_token_only(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    order = await shipped_order(anonymous, orders_engine, lamp, None)
    asked = await ask(anonymous, order.id, None, access_token=order.access_token)

    listed = await anonymous.ListOrderReturnRequests(
        pb.ListOrderReturnRequestsRequest(id=order.id, access_token=order.access_token),
        timeout=TIMEOUT_S,
    )
    wrong, _ = await error_of(
        anonymous.ListOrderReturnRequests(
            pb.ListOrderReturnRequestsRequest(id=order.id, access_token="x" * 43),
            timeout=TIMEOUT_S,
        )
    )

    assert [r.id for r in listed.return_requests] == [asked.id]
    assert wrong == grpc.StatusCode.NOT_FOUND
