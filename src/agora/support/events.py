"""The support service's events: their subjects, and recording them in the outbox of the
caller's transaction (the relay publishes them to the SUPPORT stream after commit). None
carries message text: the analytics need counts and times.

The recommendations publish none: they only consume (consumers.py).
"""

from __future__ import annotations

from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.support.v1 import events_pb2 as events
from agora.platform.bus.outbox import Producer
from agora.support.domain import Conversation, resolved_by_assistant
from agora.support.translation import handover_reason_pb, handover_state_pb

PRODUCER = "support"

CONVERSATION_STARTED = "support.conversation.started"
CONVERSATION_ANSWERED = "support.conversation.answered"
CONVERSATION_HANDED_OVER = "support.conversation.handed_over"
CONVERSATION_CLOSED = "support.conversation.closed"

record = Producer(PRODUCER).record


async def record_started(session: AsyncSession, conversation: Conversation) -> None:
    event = events.ConversationStarted(
        conversation_id=conversation.id,
        customer_id=conversation.customer_id or "",
        order_id=conversation.order_id or "",
    )
    await record(session, CONVERSATION_STARTED, event, aggregate_id=conversation.id)


async def record_answered(
    session: AsyncSession, conversation: Conversation, time_to_first_answer: timedelta
) -> None:
    duration = Duration()
    duration.FromTimedelta(max(time_to_first_answer, timedelta(0)))
    event = events.ConversationAnswered(
        conversation_id=conversation.id, time_to_first_answer=duration
    )
    await record(session, CONVERSATION_ANSWERED, event, aggregate_id=conversation.id)


async def record_handed_over(session: AsyncSession, conversation: Conversation) -> None:
    event = events.ConversationHandedOver(
        conversation_id=conversation.id,
        state=handover_state_pb(conversation.status),
        reason=handover_reason_pb(conversation.reason),
        staff_id=conversation.staff_id or "",
    )
    await record(session, CONVERSATION_HANDED_OVER, event, aggregate_id=conversation.id)


async def record_closed(
    session: AsyncSession, conversation: Conversation, message_count: int
) -> None:
    event = events.ConversationClosed(
        conversation_id=conversation.id,
        resolved_by_assistant=resolved_by_assistant(conversation),
        handed_over=conversation.handed_over,
        message_count=message_count,
        tokens_in=conversation.tokens_in,
        tokens_out=conversation.tokens_out,
    )
    await record(session, CONVERSATION_CLOSED, event, aggregate_id=conversation.id)
