"""The support chat over real gRPC: a customer's or a guest's conversation, its messages
stored and resumed, said once per client id, bounded, rate limited, and nobody else's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
import sqlalchemy as sa
from assistant_shop import ShopTools, order
from chat_support import (
    Chat,
    ChatServer,
    ShopDesk,
    chat_server,
    customer,
    is_kind,
    is_message,
    of_kind,
    staff,
)
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.support.v1 import support_pb2 as pb
from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.runtime import Backends
from agora.support.embeddings import TextEmbedder
from agora.support.tools import OrderState

SHIPPED = order(OrderState.SHIPPED, carrier="DHL", tracking_number="JD0001")
PLACED = order(OrderState.PLACED)


@pytest.fixture(scope="module")
async def server(
    support_backends: Backends, support_embedder: TextEmbedder, security_files: SecurityFiles
) -> AsyncIterator[ChatServer]:
    """Template answers only (no model), three messages per conversation a minute."""
    desk = ShopDesk()
    async with chat_server(
        support_backends,
        support_embedder,
        security_files,
        desk,
        chat_messages_per_conversation=3,
    ) as running:
        yield running


@pytest.fixture
async def shopper(server: ChatServer) -> AsyncIterator[tuple[str, str, Chat]]:
    """A signed-in customer with a shipped and a placed order, on a stream."""
    customer_id, authorization = customer()
    server.desk.customers[customer_id] = ShopTools(orders=[SHIPPED, PLACED])
    chat = Chat(server.address, authorization)
    yield customer_id, authorization, chat
    await chat.close()


async def outbox_subjects(engine: AsyncEngine, conversation_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT payload FROM support.outbox ORDER BY seq"))
        envelopes = [EventEnvelope.FromString(bytes(row.payload)) for row in rows]
    return [e.subject for e in envelopes if e.aggregate_id == conversation_id]


async def test_a_customer_asks_and_gets_the_answer_streamed_stored_and_announced(
    server: ChatServer, shopper: tuple[str, str, Chat], support_engine: AsyncEngine
) -> None:
    customer_id, authorization, chat = shopper
    started = await chat.start()
    assert started.handover == pb.HANDOVER_STATE_ASSISTANT
    assert started.history == []

    await chat.say(f"where is my order {SHIPPED.id[:8]}?", "m1")
    received = await chat.answer()

    said = of_kind(received, "message")
    assert [m.speaker for m in said] == [pb.SPEAKER_CUSTOMER, pb.SPEAKER_ASSISTANT]  # type: ignore[attr-defined]
    tools = of_kind(received, "tool")
    assert [t.tool for t in tools] == ["order_status"]  # type: ignore[attr-defined]
    deltas = of_kind(received, "delta")
    answer = said[1]
    assert "".join(d.text for d in deltas) == answer.text  # type: ignore[attr-defined]
    assert all(d.message_id == answer.id for d in deltas)  # type: ignore[attr-defined]
    assert "JD0001" in answer.text  # type: ignore[attr-defined]
    assert answer.client_message_id == "m1"  # type: ignore[attr-defined]
    # The tools acted with the customer's own credentials, as sent, and nothing else.
    access = server.desk.accesses[-1]
    assert (access.authorization, access.customer_id) == (authorization, customer_id)
    assert access.guest_access_token is None
    subjects = await outbox_subjects(support_engine, started.conversation_id)
    assert subjects == ["support.conversation.started", "support.conversation.answered"]


async def test_a_resumed_conversation_shows_its_history_and_get_conversation_its_messages(
    server: ChatServer, shopper: tuple[str, str, Chat]
) -> None:
    _, authorization, chat = shopper
    started = await chat.start()
    await chat.say("hello")
    await chat.answer()
    await chat.close()

    again = Chat(server.address, authorization)
    resumed = await again.start(conversation_id=started.conversation_id)
    await again.close()
    assert [m.speaker for m in resumed.history] == [pb.SPEAKER_CUSTOMER, pb.SPEAKER_ASSISTANT]
    assert resumed.history[0].text == "hello"

    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = support_pb2_grpc.SupportServiceStub(channel)
        got = await stub.GetConversation(
            pb.GetConversationRequest(id=started.conversation_id),
            metadata=(("authorization", authorization),),
        )
    assert [m.id for m in got.messages] == [m.id for m in resumed.history]
    assert got.summary.message_count == 2


async def test_another_customers_conversation_is_not_found_in_the_chat_and_by_get(
    server: ChatServer, shopper: tuple[str, str, Chat]
) -> None:
    _, _, chat = shopper
    started = await chat.start()
    _, intruder = customer()

    other = Chat(server.address, intruder)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await other.start(conversation_id=started.conversation_id)
    await other.close()
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND

    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = support_pb2_grpc.SupportServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await stub.GetConversation(
                pb.GetConversationRequest(id=started.conversation_id),
                metadata=(("authorization", intruder),),
            )
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_guest_talks_about_their_order_only_with_its_access_token(
    server: ChatServer,
) -> None:
    guest_order = order(OrderState.SHIPPED, carrier="UPS", tracking_number="1Z999")
    server.desk.guests[guest_order.id] = ("the-token", ShopTools(orders=[guest_order]))

    wrong = Chat(server.address, None)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await wrong.start(order_id=guest_order.id, access_token="a-guess")
    await wrong.close()
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND

    nobody = Chat(server.address, None)
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await nobody.start()
    await nobody.close()
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED

    guest = Chat(server.address, None)
    await guest.start(order_id=guest_order.id, access_token="the-token")
    await guest.say(f"where is my order {guest_order.id[:8]}?")
    answer = of_kind(await guest.answer(), "message")[-1]
    await guest.close()
    assert "1Z999" in answer.text  # type: ignore[attr-defined]
    access = server.desk.accesses[-1]
    assert (access.authorization, access.guest_order_id) == ("", guest_order.id)


async def test_a_retried_say_is_stored_and_answered_once(
    server: ChatServer, shopper: tuple[str, str, Chat], support_engine: AsyncEngine
) -> None:
    _, _, chat = shopper
    started = await chat.start()
    await chat.say("hello", "retry-me")
    first = of_kind(await chat.answer(), "message")

    await chat.say("hello", "retry-me")
    second = of_kind(await chat.answer(), "message")

    assert [m.id for m in second] == [m.id for m in first]  # type: ignore[attr-defined]
    async with support_engine.connect() as conn:
        count = await conn.scalar(
            sa.text("SELECT count(*) FROM support.messages WHERE conversation_id = :id"),
            {"id": started.conversation_id},
        )
    assert count == 2


async def test_a_flood_is_told_to_slow_down_and_the_stream_lives(
    shopper: tuple[str, str, Chat],
) -> None:
    _, _, chat = shopper
    await chat.start()
    for n in range(3):
        await chat.say(f"hello {n}")
        await chat.answer()

    await chat.say("hello again")
    notice = (await chat.until(is_kind("notice")))[-1].notice
    assert notice.code == "rate_limited"

    await chat.say("hello", "the fifth")
    assert (await chat.until(is_kind("notice")))[-1].notice.code == "rate_limited"


async def test_an_overlong_message_gets_a_notice_and_an_empty_one_is_invalid(
    shopper: tuple[str, str, Chat],
) -> None:
    _, _, chat = shopper
    await chat.start()
    await chat.say("x" * 10_000)
    assert (await chat.next()).notice.code == "too_long"

    await chat.say("   ")
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await chat.next()
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "text" in (invalid.value.details() or "")


async def test_the_first_message_must_be_start(server: ChatServer) -> None:
    _, authorization = customer()
    chat = Chat(server.address, authorization)
    await chat.say("hello")
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await chat.next()
    await chat.close()
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_cancel_is_confirmed_in_the_stream_before_it_runs(
    server: ChatServer, shopper: tuple[str, str, Chat]
) -> None:
    customer_id, _, chat = shopper
    await chat.start()
    await chat.say(f"please cancel order {PLACED.id[:8]}")
    received = await chat.answer()
    confirmations = of_kind(received, "confirmation")
    assert [(c.action, c.order_id) for c in confirmations] == [("cancel_order", PLACED.id)]  # type: ignore[attr-defined]
    shop = server.desk.customers[customer_id]
    assert shop.called("cancel_order") == []

    await chat.say("yes")
    await chat.until(is_message(pb.SPEAKER_ASSISTANT))
    assert [args[0] for args in shop.called("cancel_order")] == [PLACED.id]


async def test_the_queue_is_for_staff_only(server: ChatServer) -> None:
    _, authorization = customer()
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = support_pb2_grpc.SupportServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.ListConversations(
                pb.ListConversationsRequest(handover=pb.HANDOVER_STATE_QUEUED),
                metadata=(("authorization", authorization),),
            )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_unknown_conversation_is_not_found(server: ChatServer) -> None:
    _, authorization = customer()
    chat = Chat(server.address, authorization)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await chat.start(conversation_id=str(uuid.uuid4()))
    await chat.close()
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def all_pages(
    stub: support_pb2_grpc.SupportServiceStub, handover: int, metadata: tuple[tuple[str, str], ...]
) -> tuple[list[pb.ConversationSummary], int]:
    """Every conversation ListConversations shows in `handover`, two a page, and the pages."""
    found: list[pb.ConversationSummary] = []
    token, pages = "", 0
    while True:
        request = pb.ListConversationsRequest(handover=handover, page_size=2, page_token=token)  # type: ignore[arg-type]
        page = await stub.ListConversations(request, metadata=metadata)
        found.extend(page.conversations)
        pages += 1
        assert len(page.conversations) <= 2
        if not page.next_page_token:
            return found, pages
        token = page.next_page_token


async def test_the_queue_pages_oldest_first_without_duplicates(server: ChatServer) -> None:
    queued = []
    for _ in range(5):
        _, authorization = customer()
        chat = Chat(server.address, authorization)
        started = await chat.start()
        await chat.say("I want to talk to a person")
        await chat.until(is_kind("handover"))
        await chat.close()
        queued.append(started.conversation_id)
    _, staff_authorization = staff()
    metadata = (("authorization", staff_authorization),)

    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = support_pb2_grpc.SupportServiceStub(channel)
        queue, pages = await all_pages(stub, pb.HANDOVER_STATE_QUEUED, metadata)
        everything, _ = await all_pages(stub, pb.HANDOVER_STATE_UNSPECIFIED, metadata)
        first = await stub.ListConversations(
            pb.ListConversationsRequest(handover=pb.HANDOVER_STATE_QUEUED, page_size=2),
            metadata=metadata,
        )
        with pytest.raises(grpc.aio.AioRpcError) as foreign:
            await stub.ListConversations(  # a queue's token does not page another listing
                pb.ListConversationsRequest(page_size=2, page_token=first.next_page_token),
                metadata=metadata,
            )

    ids = [c.id for c in queue]
    assert pages >= 3
    assert len(ids) == len(set(ids))
    assert {c.handover for c in queue} == {pb.HANDOVER_STATE_QUEUED}
    assert [i for i in ids if i in queued] == queued  # oldest first: in the order they queued
    every = [c.id for c in everything]
    assert len(every) == len(set(every))
    assert [i for i in every if i in queued] == queued[::-1]  # all states: newest first
    assert foreign.value.code() == grpc.StatusCode.INVALID_ARGUMENT
