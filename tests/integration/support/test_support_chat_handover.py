"""Hand-over and take-over: the customer asks for a person, the conversation waits in the queue,
a staff member on another replica takes it over in their own stream, and from then on what
each says reaches the other (PostgreSQL NOTIFY between the replicas) while the assistant is
silent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from chat_support import (
    Chat,
    ChatServer,
    ShopDesk,
    chat_server,
    customer,
    eventually,
    is_kind,
    is_message,
    of_kind,
    staff,
)
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from test_support_chat_stream import outbox_subjects

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.runtime import Backends
from agora.support.embeddings import TextEmbedder


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


async def test_staff_on_another_replica_take_over_a_queued_conversation_and_both_sides_talk(
    replicas: tuple[ChatServer, ChatServer], support_engine: AsyncEngine
) -> None:
    one, two = replicas
    _, authorization = customer()
    staff_id, staff_authorization = staff()
    shopper = Chat(one.address, authorization)
    started = await shopper.start()
    await shopper.say("I want to talk to a person")
    received = await shopper.until(is_kind("handover"))
    assert received[-1].handover.state == pb.HANDOVER_STATE_QUEUED
    assert received[-1].handover.reason == pb.HANDOVER_REASON_REQUESTED

    async with grpc.aio.insecure_channel(two.address) as channel:
        stub = support_pb2_grpc.SupportServiceStub(channel)
        queue = await stub.ListConversations(
            pb.ListConversationsRequest(handover=pb.HANDOVER_STATE_QUEUED, page_size=100),
            metadata=(("authorization", staff_authorization),),
        )
    assert started.conversation_id in [c.id for c in queue.conversations]

    desk = Chat(two.address, staff_authorization)
    taken = await desk.start(conversation_id=started.conversation_id, take_over=True)
    assert taken.handover == pb.HANDOVER_STATE_STAFF
    assert taken.history[0].text == "I want to talk to a person"
    change = (await shopper.until(is_kind("handover")))[-1].handover
    assert (change.state, change.reason) == (pb.HANDOVER_STATE_STAFF, pb.HANDOVER_REASON_TAKEN_OVER)

    await desk.say("Hello, this is Anna from support.")
    heard = (await shopper.until(is_message(pb.SPEAKER_STAFF)))[-1].message
    assert heard.text == "Hello, this is Anna from support."

    await shopper.say("Where is my parcel?")
    got = (await desk.until(is_message(pb.SPEAKER_CUSTOMER)))[-1].message
    assert got.text == "Where is my parcel?"
    # The assistant stayed silent: the customer's stream saw their own message, no answer.
    mine = await shopper.until(is_message(pb.SPEAKER_CUSTOMER))
    assert of_kind(mine, "delta") == []

    async with grpc.aio.insecure_channel(one.address) as channel:
        stub = support_pb2_grpc.SupportServiceStub(channel)
        seen = await stub.GetConversation(
            pb.GetConversationRequest(id=started.conversation_id),
            metadata=(("authorization", staff_authorization),),
        )
    assert (seen.summary.handover, seen.summary.staff_id) == (pb.HANDOVER_STATE_STAFF, staff_id)
    assert seen.summary.message_count == 4

    await shopper.close()
    await desk.close()
    subjects = await outbox_subjects(support_engine, started.conversation_id)
    assert subjects.count("support.conversation.handed_over") == 2
    await eventually(
        lambda: one.service.chat.streams == two.service.chat.streams == 0, "streams closed"
    )


async def test_a_customer_cannot_take_over(replicas: tuple[ChatServer, ChatServer]) -> None:
    one, _ = replicas
    _, authorization = customer()
    shopper = Chat(one.address, authorization)
    started = await shopper.start()
    await shopper.say("I want to talk to a person")
    await shopper.until(is_kind("handover"))

    _, other = customer()
    intruder = Chat(one.address, other)
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await intruder.start(conversation_id=started.conversation_id, take_over=True)
    await intruder.close()
    await shopper.close()
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_conversation_the_assistant_has_cannot_be_taken_over(
    replicas: tuple[ChatServer, ChatServer],
) -> None:
    one, _ = replicas
    _, authorization = customer()
    shopper = Chat(one.address, authorization)
    started = await shopper.start()
    _, staff_authorization = staff()
    desk = Chat(one.address, staff_authorization)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await desk.start(conversation_id=started.conversation_id, take_over=True)
    await desk.close()
    await shopper.close()
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
