"""Staff's decision stays on the return request: its reason and time (`decision_reason`,
`decided_at`) are listed to whoever may read the order, the deciding staff member's id is kept
server-side only; a retried decision answers the same, a different one on a decided request is
refused and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from orders_support import TIMEOUT_S, Metadata, customer, error_of, key
from security_support import mint_token, with_token
from sqlalchemy.ext.asyncio import AsyncEngine
from test_order_return_listing import every_request
from test_order_returns import ask, shipped_order

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.orders import store

DECIDER_ID = str(uuid.uuid4())
DECIDER = with_token(mint_token(DECIDER_ID, roles=["staff"], permissions=["orders:returns:write"]))


def decide(
    orders: OrdersServiceStub,
    asked: pb.ReturnRequest,
    *,
    approve: bool,
    reason: str,
    idempotency_key: str | None = None,
) -> Any:
    fields = {
        "idempotency_key": idempotency_key or key(),
        "id": asked.order_id,
        "return_id": asked.id,
        "reason": reason,
    }
    if approve:
        return orders.ApproveReturn(
            pb.ApproveReturnRequest(**fields), metadata=DECIDER, timeout=TIMEOUT_S
        )
    return orders.RejectReturn(
        pb.RejectReturnRequest(**fields), metadata=DECIDER, timeout=TIMEOUT_S
    )


async def listed(
    orders: OrdersServiceStub, order_id: str, metadata: Metadata
) -> dict[str, pb.ReturnRequest]:
    answer = await orders.ListOrderReturnRequests(
        pb.ListOrderReturnRequestsRequest(id=order_id), metadata=metadata, timeout=TIMEOUT_S
    )
    return {r.id: r for r in answer.return_requests}


async def test_the_customer_sees_why_and_when_their_return_was_rejected_and_no_one_else_does(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    _, as_other = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner)
    asked = await ask(anonymous, order.id, as_owner, reason="too dim")

    rejected = await decide(
        anonymous, asked, approve=False, reason=" Worn items cannot be returned "
    )

    mine = (await listed(anonymous, order.id, as_owner))[asked.id]
    stranger, _ = await error_of(
        anonymous.ListOrderReturnRequests(
            pb.ListOrderReturnRequestsRequest(id=order.id), metadata=as_other, timeout=TIMEOUT_S
        )
    )
    assert (mine.status, mine.reason, mine.decision_reason) == (
        pb.RETURN_STATUS_REJECTED,
        "too dim",
        "Worn items cannot be returned",
    )
    assert mine.decided_at.ToDatetime() >= mine.requested_at.ToDatetime()
    assert mine == rejected.return_request
    assert rejected.reason == mine.decision_reason
    assert stranger == grpc.StatusCode.NOT_FOUND
    staff_listed = await every_request(anonymous, pb.RETURN_STATUS_REJECTED)
    assert [r for r in staff_listed if r.id == asked.id] == [mine]
    # Who decided is kept, but no field of the message names them.
    async with orders_engine.connect() as conn:
        row = await store.return_request(conn, order.id, asked.id)
    assert row["decided_by"] == DECIDER_ID
    assert DECIDER_ID not in str(mine)


async def test_an_approval_keeps_its_note_or_none_and_a_request_not_decided_has_neither(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    shipped = [await shipped_order(anonymous, orders_engine, lamp, as_owner) for _ in range(3)]
    noted, silent, waiting = [await ask(anonymous, o.id, as_owner) for o in shipped]

    await decide(anonymous, noted, approve=True, reason="Send it to the Berlin warehouse")
    await decide(anonymous, silent, approve=True, reason="")

    shown = {}
    for o in shipped:
        shown.update(await listed(anonymous, o.id, as_owner))
    assert [(shown[r.id].status, shown[r.id].decision_reason) for r in (noted, silent)] == [
        (pb.RETURN_STATUS_APPROVED, "Send it to the Berlin warehouse"),
        (pb.RETURN_STATUS_APPROVED, ""),
    ]
    assert [shown[r.id].HasField("decided_at") for r in (noted, silent, waiting)] == [
        True,
        True,
        False,
    ]
    assert shown[waiting.id].status == pb.RETURN_STATUS_REQUESTED
    assert shown[waiting.id].decision_reason == ""


async def test_a_retried_rejection_answers_the_same_and_another_decision_changes_nothing(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    order = await shipped_order(anonymous, orders_engine, lamp, as_owner)
    asked = await ask(anonymous, order.id, as_owner)
    same = key()

    first = await decide(anonymous, asked, approve=False, reason="worn", idempotency_key=same)
    again = await decide(anonymous, asked, approve=False, reason="worn", idempotency_key=same)
    approval, approval_info = await error_of(
        decide(anonymous, asked, approve=True, reason="changed our mind")
    )
    rejection, _ = await error_of(decide(anonymous, asked, approve=False, reason="stained"))

    assert again == first
    assert (first.return_request.decision_reason, first.reason) == ("worn", "worn")
    assert approval == rejection == grpc.StatusCode.FAILED_PRECONDITION
    assert approval_info.metadata["returnStatus"] == "RETURN_STATUS_REJECTED"
    assert (await listed(anonymous, order.id, as_owner))[asked.id] == first.return_request
