"""The support service's gRPC servicer: proto -> domain (via `translation.py`), the answer,
domain -> proto. Domain errors propagate to the platform's interceptor, which maps them to
gRPC status once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.errors import NotFound, PermissionDenied
from agora.platform.kernel.checks import canonical_id, require_id
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.security.permissions import SUPPORT_READ_OWN
from agora.platform.security.principal import current_principal
from agora.support import chat_store, recommendations
from agora.support.chat import SupportChat
from agora.support.domain import Conversation
from agora.support.recommending import product_question, recommendation_limit
from agora.support.translation import (
    chat_message_pb,
    method_of,
    recommendations_pb,
    status_of,
    summary_pb,
)

READ_ANY = "support:conversations:read"
MESSAGES_SHOWN = 500


class SupportService(support_pb2_grpc.SupportServiceServicer):
    """SupportService over the support schema reached through `engine`."""

    def __init__(self, engine: AsyncEngine, chat: SupportChat) -> None:
        # Reads need no transaction: autocommit saves the BEGIN/ROLLBACK round trips.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.chat = chat

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

    async def Chat(
        self,
        request_iterator: AsyncIterator[pb.ChatClientMessage],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[pb.ChatServerMessage]:
        # The caller's own credentials, as sent, are what the assistant's tools act with.
        metadata = context.invocation_metadata() or ()
        authorization = next((str(v) for k, v in metadata if k == "authorization"), "")
        async for message in self.chat.stream(request_iterator, authorization):
            yield message

    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: object
    ) -> pb.ListConversationsResponse:
        status = status_of(request.handover)
        size = page_size(request.page_size)
        query = f"conversations:{status.value if status else 'all'}"
        after = decode_page_token(request.page_token, query)
        async with self._reads.connect() as conn:
            rows = await chat_store.list_conversations(conn, status, after, size + 1)
        page, more = rows[:size], len(rows) > size
        token = ""
        if more:
            last = page[-1][0]
            moment = last.handover_at if status is not None else last.created_at
            token = encode_page_token([_microseconds(moment), last.id], query)
        return pb.ListConversationsResponse(
            conversations=[summary_pb(c, count) for c, count in page], next_page_token=token
        )

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: object
    ) -> pb.Conversation:
        conversation_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            found = await chat_store.conversation(conn, conversation_id)
            if found is None or not _may_read(found):
                raise NotFound("conversation", conversation_id)
            messages = await chat_store.latest_messages(conn, conversation_id, MESSAGES_SHOWN)
            count = await chat_store.message_count(conn, conversation_id)
        return pb.Conversation(
            summary=summary_pb(found, count), messages=[chat_message_pb(m) for m in messages]
        )


def _may_read(conversation: Conversation) -> bool:
    """Staff read any conversation; a customer their own (a guest reads theirs in the chat)."""
    principal = current_principal()
    if principal.can(READ_ANY):
        return True
    return (
        conversation.customer_id is not None
        and principal.owns(conversation.customer_id)
        and principal.can(SUPPORT_READ_OWN)
    )


def _microseconds(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond
