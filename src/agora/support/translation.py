"""Protobuf <-> domain mapping of the support service, and nothing else."""

from __future__ import annotations

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora.platform.rpc.timestamps import timestamp
from agora.support.conversation import HandoverReason, Speaker
from agora.support.domain import MODEL_UNAVAILABLE, TAKEN_OVER, Conversation, Status, StoredMessage
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


# --- the support chat ---

HANDOVER_STATE_PB: dict[Status, pb.HandoverState] = {
    Status.ASSISTANT: pb.HANDOVER_STATE_ASSISTANT,
    Status.QUEUED: pb.HANDOVER_STATE_QUEUED,
    Status.STAFF: pb.HANDOVER_STATE_STAFF,
    Status.CLOSED: pb.HANDOVER_STATE_CLOSED,
}
STATUS_BY_PB: dict[int, Status] = {int(v): k for k, v in HANDOVER_STATE_PB.items()}
HANDOVER_REASON_PB: dict[str, pb.HandoverReason] = {
    HandoverReason.REQUESTED.value: pb.HANDOVER_REASON_REQUESTED,
    HandoverReason.ANGRY.value: pb.HANDOVER_REASON_ANGRY,
    HandoverReason.LOW_CONFIDENCE.value: pb.HANDOVER_REASON_LOW_CONFIDENCE,
    HandoverReason.AMOUNT_LIMIT.value: pb.HANDOVER_REASON_AMOUNT_LIMIT,
    MODEL_UNAVAILABLE: pb.HANDOVER_REASON_MODEL_UNAVAILABLE,
    TAKEN_OVER: pb.HANDOVER_REASON_TAKEN_OVER,
}
SPEAKER_PB: dict[Speaker, pb.Speaker] = {
    Speaker.CUSTOMER: pb.SPEAKER_CUSTOMER,
    Speaker.ASSISTANT: pb.SPEAKER_ASSISTANT,
    Speaker.STAFF: pb.SPEAKER_STAFF,
}


def handover_state_pb(status: Status) -> pb.HandoverState:
    return HANDOVER_STATE_PB[status]


def handover_reason_pb(reason: str | None) -> pb.HandoverReason:
    return HANDOVER_REASON_PB.get(reason or "", pb.HANDOVER_REASON_UNSPECIFIED)


def status_of(state: int) -> Status | None:
    """The state a request names (None for UNSPECIFIED or a number not known here)."""
    return STATUS_BY_PB.get(int(state))


def chat_message_pb(message: StoredMessage) -> pb.ChatMessage:
    return pb.ChatMessage(
        id=message.id,
        speaker=SPEAKER_PB[message.speaker],
        text=message.text,
        created_at=timestamp(message.created_at),
        client_message_id=message.client_message_id or "",
    )


def handover_pb(conversation: Conversation) -> pb.ChatHandover:
    return pb.ChatHandover(
        state=handover_state_pb(conversation.status),
        reason=handover_reason_pb(conversation.reason),
    )


def summary_pb(conversation: Conversation, message_count: int) -> pb.ConversationSummary:
    return pb.ConversationSummary(
        id=conversation.id,
        customer_id=conversation.customer_id or "",
        order_id=conversation.order_id or "",
        handover=handover_state_pb(conversation.status),
        handover_reason=handover_reason_pb(conversation.reason),
        message_count=message_count,
        created_at=timestamp(conversation.created_at),
        updated_at=timestamp(conversation.updated_at),
        staff_id=conversation.staff_id or "",
    )
