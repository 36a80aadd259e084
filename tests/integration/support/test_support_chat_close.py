"""Closing a conversation: the customer (or the staff member who took it over) sends `close`,
gets the CLOSED hand-over frame and the stream ends; the other side's streams, on any replica,
get the same frame; the closing is announced once, and nothing more can be said."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
import sqlalchemy as sa
from chat_support import (
    WAIT_S,
    Chat,
    ChatServer,
    ShopDesk,
    chat_server,
    customer,
    eventually,
    is_kind,
    is_message,
    staff,
)
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.support.v1 import events_pb2 as events
from agora._proto.agora.support.v1 import support_pb2 as pb
from agora.platform.runtime import Backends
from agora.support.embeddings import TextEmbedder

CLOSED = "support.conversation.closed"


@pytest.fixture(scope="module")
async def replicas(
    support_backends: Backends, support_embedder: TextEmbedder, security_files: SecurityFiles
) -> AsyncIterator[tuple[ChatServer, ChatServer]]:
    desk = ShopDesk()
    async with (
        chat_server(support_backends, support_embedder, security_files, desk) as one,
        chat_server(support_backends, support_embedder, security_files, desk) as two,
    ):
        yield one, two


async def closings(engine: AsyncEngine, conversation_id: str) -> list[events.ConversationClosed]:
    """The conversation's ConversationClosed events in the outbox, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT payload FROM support.outbox ORDER BY seq"))
        envelopes = [EventEnvelope.FromString(bytes(row.payload)) for row in rows]
    return [
        events.ConversationClosed.FromString(e.payload)
        for e in envelopes
        if e.aggregate_id == conversation_id and e.subject == CLOSED
    ]


async def close(chat: Chat) -> pb.ChatHandover:
    """Send `close`: the answer is the CLOSED frame, then the stream ends normally."""
    await chat.call.write(pb.ChatClientMessage(close=pb.ChatClose()))
    frame = (await chat.until(is_kind("handover")))[-1].handover
    await ended(chat)
    return frame


async def ended(chat: Chat) -> None:
    """The server ended the stream normally (EOF, status OK)."""
    assert await asyncio.wait_for(chat.call.read(), WAIT_S) is grpc.aio.EOF
    assert await chat.call.code() == grpc.StatusCode.OK


async def test_the_customer_closes_an_answered_conversation_once_and_says_nothing_more(
    replicas: tuple[ChatServer, ChatServer], support_engine: AsyncEngine
) -> None:
    one, two = replicas
    _, authorization = customer()
    shopper = Chat(one.address, authorization)
    started = await shopper.start()
    await shopper.say("hello")
    await shopper.answer()
    # The customer's second device, on the other replica, follows the conversation.
    other_device = Chat(two.address, authorization)
    await other_device.start(conversation_id=started.conversation_id)

    assert (await close(shopper)).state == pb.HANDOVER_STATE_CLOSED
    seen = (await other_device.until(is_kind("handover")))[-1].handover
    assert seen.state == pb.HANDOVER_STATE_CLOSED
    await ended(other_device)

    again = Chat(two.address, authorization)
    resumed = await again.start(conversation_id=started.conversation_id)
    assert resumed.handover == pb.HANDOVER_STATE_CLOSED
    assert resumed.history[0].text == "hello"
    assert (await close(again)).state == pb.HANDOVER_STATE_CLOSED  # closing twice: no change

    late = Chat(one.address, authorization)
    await late.start(conversation_id=started.conversation_id)
    await late.say("one more thing")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await late.next()
    for chat in (shopper, other_device, again, late):
        await chat.close()
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    closed = await closings(support_engine, started.conversation_id)
    assert len(closed) == 1
    assert closed[0].resolved_by_assistant
    assert not closed[0].handed_over
    assert closed[0].message_count == 2


async def test_staff_close_a_conversation_they_took_over_and_the_customer_sees_it_closed(
    replicas: tuple[ChatServer, ChatServer], support_engine: AsyncEngine
) -> None:
    one, two = replicas
    _, authorization = customer()
    _, staff_authorization = staff()
    shopper = Chat(one.address, authorization)
    started = await shopper.start()
    await shopper.say("I want to talk to a person")
    await shopper.until(is_kind("handover"))
    desk = Chat(two.address, staff_authorization)
    await desk.start(conversation_id=started.conversation_id, take_over=True)
    await desk.say("Anything else I can do?")
    await shopper.until(is_message(pb.SPEAKER_STAFF))

    assert (await close(desk)).state == pb.HANDOVER_STATE_CLOSED
    frames = await shopper.until(
        lambda m: (
            m.WhichOneof("kind") == "handover" and m.handover.state == pb.HANDOVER_STATE_CLOSED
        )
    )
    await ended(shopper)
    await shopper.close()
    await desk.close()
    assert frames[-1].handover.reason == pb.HANDOVER_REASON_TAKEN_OVER

    closed = await closings(support_engine, started.conversation_id)
    assert len(closed) == 1
    assert not closed[0].resolved_by_assistant
    assert closed[0].handed_over


async def test_the_customer_closes_while_a_person_has_it_and_the_staff_stream_sees_it(
    replicas: tuple[ChatServer, ChatServer], support_engine: AsyncEngine
) -> None:
    one, two = replicas
    _, authorization = customer()
    _, staff_authorization = staff()
    shopper = Chat(one.address, authorization)
    started = await shopper.start()
    await shopper.say("I want to talk to a person")
    await shopper.until(is_kind("handover"))
    desk = Chat(two.address, staff_authorization)
    await desk.start(conversation_id=started.conversation_id, take_over=True)
    await shopper.until(is_kind("handover"))  # STAFF

    assert (await close(shopper)).state == pb.HANDOVER_STATE_CLOSED
    seen = (await desk.until(is_kind("handover")))[-1].handover
    await ended(desk)
    await shopper.close()
    await desk.close()
    assert seen.state == pb.HANDOVER_STATE_CLOSED
    closed = await closings(support_engine, started.conversation_id)
    assert [c.resolved_by_assistant for c in closed] == [False]
    await eventually(
        lambda: one.service.chat.streams == two.service.chat.streams == 0, "streams ended"
    )
