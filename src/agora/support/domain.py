"""The support service's rules: who may open, resume, take over and speak in a conversation,
how it moves between the assistant, the queue, a person and closed, and when a sender is rate
limited. The recommendations' rules are in `recommending.py`; the assistant's in `assistant.py`.

Pure: the standard library, `agora.platform.kernel` and `agora.platform.errors` only (the import
contract forbids grpc, sqlalchemy, asyncpg, nats and the generated protos, even indirectly).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from agora.platform.errors import FailedPrecondition
from agora.support.conversation import (
    ConversationState,
    Handover,
    PendingAction,
    PendingKind,
    Speaker,
    Turn,
)
from agora.support.understanding import Intent

# The latest messages a `started` shows.
HISTORY_SHOWN = 50


class Status(StrEnum):
    """Who has the conversation: the assistant's `Handover`, plus closed."""

    ASSISTANT = "assistant"
    QUEUED = "queued"
    STAFF = "staff"
    CLOSED = "closed"


# Hand-over reasons beyond the assistant's own (`conversation.HandoverReason`).
TAKEN_OVER = "taken_over"
MODEL_UNAVAILABLE = "model_unavailable"


class Party(StrEnum):
    CUSTOMER = "customer"  # a signed-in customer
    GUEST = "guest"  # holds one order's access token
    STAFF = "staff"  # took the conversation over


@dataclass(frozen=True)
class Participant:
    """Who is on a stream: `subject` is the customer's or staff member's id (empty for a
    guest); `order_id` the guest's order."""

    party: Party
    subject: str = ""
    order_id: str = ""

    @property
    def speaker(self) -> Speaker:
        return Speaker.STAFF if self.party is Party.STAFF else Speaker.CUSTOMER


@dataclass(frozen=True)
class ChatLimits:
    """Messages a conversation, and a sender over all their conversations, may send per
    `window_s`; an answer unfinished after `answer_stale_s` (its replica died) no longer
    blocks the next."""

    max_chars: int = 2000
    per_conversation: int = 12
    per_sender: int = 30
    window_s: float = 60.0
    answer_stale_s: float = 300.0


@dataclass(frozen=True)
class Conversation:
    id: str
    customer_id: str | None
    order_id: str | None
    status: Status
    reason: str | None
    handover_at: datetime
    handed_over: bool
    staff_id: str | None
    state: ConversationState
    tokens_in: int
    tokens_out: int
    answering_since: datetime | None
    created_at: datetime
    updated_at: datetime
    first_answer_at: datetime | None = None
    closed_at: datetime | None = None

    def answering(self, now: datetime, limits: ChatLimits) -> bool:
        """An answer is being written (and its writer has not vanished)."""
        since = self.answering_since
        return since is not None and now - since < timedelta(seconds=limits.answer_stale_s)


@dataclass(frozen=True)
class StoredMessage:
    id: str
    conversation_id: str
    speaker: Speaker
    text: str
    client_message_id: str | None
    created_at: datetime
    cancelled: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    model: str = ""


def new_conversation(id: str, participant: Participant, now: datetime) -> Conversation:
    """A conversation the assistant answers, the customer's or bound to the guest's order."""
    return Conversation(
        id=id,
        customer_id=participant.subject if participant.party is Party.CUSTOMER else None,
        order_id=participant.order_id if participant.party is Party.GUEST else None,
        status=Status.ASSISTANT,
        reason=None,
        handover_at=now,
        handed_over=False,
        staff_id=None,
        state=ConversationState(),
        tokens_in=0,
        tokens_out=0,
        answering_since=None,
        created_at=now,
        updated_at=now,
    )


def belongs_to(conversation: Conversation, participant: Participant) -> bool:
    """A customer's own conversation, or the guest's about their order; anything else looks
    like no conversation at all."""
    match participant.party:
        case Party.CUSTOMER:
            return conversation.customer_id == participant.subject
        case Party.GUEST:
            guests = conversation.customer_id is None
            return guests and conversation.order_id == participant.order_id
        case Party.STAFF:
            return conversation.staff_id == participant.subject
    return False


def take_over(conversation: Conversation, staff_id: str, now: datetime) -> Conversation:
    """QUEUED -> STAFF for `staff_id`; the same person taking it again changes nothing.
    FAILED_PRECONDITION in any other state: the assistant's conversation is not in the queue,
    another person has it, or it is closed."""
    if conversation.status is Status.STAFF and conversation.staff_id == staff_id:
        return conversation
    if conversation.status is not Status.QUEUED:
        raise FailedPrecondition(
            f"conversation {conversation.id} is {conversation.status.value}, not queued"
        )
    return replace(
        conversation,
        status=Status.STAFF,
        reason=TAKEN_OVER,
        handover_at=now,
        handed_over=True,
        staff_id=staff_id,
        state=replace(conversation.state, handover=Handover.STAFF, pending=None),
        updated_at=now,
    )


def check_may_say(conversation: Conversation, participant: Participant) -> None:
    """Nothing is said in a closed conversation; staff speak only in one they took over."""
    if conversation.status is Status.CLOSED:
        raise FailedPrecondition(f"conversation {conversation.id} is closed")
    if participant.party is Party.STAFF and not _taken_over_by(conversation, participant):
        raise FailedPrecondition(f"conversation {conversation.id} is not taken over by you")


def _taken_over_by(conversation: Conversation, participant: Participant) -> bool:
    return conversation.status is Status.STAFF and conversation.staff_id == participant.subject


def assistant_answers(conversation: Conversation, participant: Participant) -> bool:
    """The assistant answers a customer's message only while it has the conversation."""
    return participant.party is not Party.STAFF and conversation.status is Status.ASSISTANT


def rate_limited(in_conversation: int, by_sender: int, limits: ChatLimits) -> bool:
    """True when one more message in the window would exceed either limit."""
    return in_conversation >= limits.per_conversation or by_sender >= limits.per_sender


def after_answer(
    conversation: Conversation,
    state: ConversationState,
    *,
    tokens_in: int,
    tokens_out: int,
    reason: str | None,
    now: datetime,
) -> Conversation:
    """The conversation once an answer is stored: the assistant's new state, its hand-over
    (to the queue) if it made one, the tokens spent, and no answer in progress."""
    status = Status(state.handover.value)
    moved = status is not conversation.status
    return replace(
        conversation,
        state=state,
        status=status,
        reason=reason if moved else conversation.reason,
        handover_at=now if moved else conversation.handover_at,
        handed_over=conversation.handed_over or status is Status.QUEUED,
        tokens_in=conversation.tokens_in + tokens_in,
        tokens_out=conversation.tokens_out + tokens_out,
        answering_since=None,
        first_answer_at=conversation.first_answer_at or now,
        updated_at=now,
    )


def offering_handover(state: ConversationState) -> ConversationState:
    """The state after the service itself offered a person (an answer that timed out): a yes
    in the next message hands over."""
    return replace(state, pending=PendingAction(PendingKind.HANDOVER))


def close_by(conversation: Conversation, participant: Participant, now: datetime) -> Conversation:
    """The conversation closed by someone on its stream: its customer (or guest) at any time,
    staff only one they took over. Closing a closed conversation returns it unchanged (once:
    one ConversationClosed)."""
    if conversation.status is Status.CLOSED:
        return conversation
    if participant.party is Party.STAFF and not _taken_over_by(conversation, participant):
        raise FailedPrecondition(f"conversation {conversation.id} is not taken over by you")
    return close(conversation, now)


def close(conversation: Conversation, now: datetime) -> Conversation:
    return replace(
        conversation,
        status=Status.CLOSED,
        closed_at=now,
        answering_since=None,
        updated_at=now,
        handover_at=now,
    )


def resolved_by_assistant(conversation: Conversation) -> bool:
    """The assistant answered and nobody had to take over."""
    return conversation.first_answer_at is not None and not conversation.handed_over


# --- the assistant's state, stored as JSON ---------------------------------------------------


def state_json(state: ConversationState) -> dict[str, Any]:
    pending = state.pending
    return {
        "history": [[t.speaker.value, t.text] for t in state.history],
        "pending": None
        if pending is None
        else {"kind": pending.kind.value, "order_id": pending.order_id, "summary": pending.summary},
        "handover": state.handover.value,
        "tokens_used": state.tokens_used,
        "low_confidence_streak": state.low_confidence_streak,
        "known_order_ids": list(state.known_order_ids),
        "known_product_ids": list(state.known_product_ids),
        "focus_order_id": state.focus_order_id,
        "asked_which_order": None
        if state.asked_which_order is None
        else state.asked_which_order.value,
    }


def state_of(data: dict[str, Any]) -> ConversationState:
    pending = data.get("pending")
    return ConversationState(
        history=tuple(Turn(Speaker(s), t) for s, t in data.get("history", ())),
        pending=None
        if pending is None
        else PendingAction(PendingKind(pending["kind"]), pending["order_id"], pending["summary"]),
        handover=Handover(data.get("handover", Handover.ASSISTANT.value)),
        tokens_used=int(data.get("tokens_used", 0)),
        low_confidence_streak=int(data.get("low_confidence_streak", 0)),
        known_order_ids=tuple(data.get("known_order_ids", ())),
        known_product_ids=tuple(data.get("known_product_ids", ())),
        focus_order_id=data.get("focus_order_id"),
        # A state stored before the field existed has none: nothing was asked.
        asked_which_order=Intent(asked) if (asked := data.get("asked_which_order")) else None,
    )
