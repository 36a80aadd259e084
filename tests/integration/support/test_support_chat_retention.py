"""Retention: a conversation silent for the idle time is closed (and announced), a closed one
past the retention is deleted with its messages."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from assistant_shop import ShopTools
from chat_support import Chat, ShopDesk, chat_server, customer, is_kind, of_kind
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from test_support_chat_stream import outbox_subjects

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora.platform.kernel.clock import utcnow
from agora.platform.runtime import Backends
from agora.support.chat_signals import ConversationSignals
from agora.support.embeddings import TextEmbedder
from agora.support.jobs import ConversationRetention


async def test_idle_conversations_close_and_closed_ones_go_after_the_retention(
    support_backends: Backends,
    support_embedder: TextEmbedder,
    security_files: SecurityFiles,
    support_engine: AsyncEngine,
) -> None:
    desk = ShopDesk()
    async with chat_server(support_backends, support_embedder, security_files, desk) as server:
        customer_id, authorization = customer()
        desk.customers[customer_id] = ShopTools()
        chat = Chat(server.address, authorization)
        started = await chat.start()
        await chat.say("hello")
        assert of_kind(await chat.answer(), "message")
        await chat.close()

    job = ConversationRetention(
        support_engine, retention=timedelta(days=30), idle_close=timedelta(hours=24)
    )
    later = utcnow() + timedelta(hours=25)
    while await job.run_batch(later):  # other tests' conversations close too
        pass
    query = sa.text("SELECT handover FROM support.conversations WHERE id = :id")
    async with support_engine.connect() as conn:
        assert await conn.scalar(query, {"id": started.conversation_id}) == "closed"
    subjects = await outbox_subjects(support_engine, started.conversation_id)
    assert subjects[-1] == "support.conversation.closed"

    while await job.run_batch(later + timedelta(days=31)):
        pass
    async with support_engine.connect() as conn:
        assert await conn.scalar(query, {"id": started.conversation_id}) is None
        left = await conn.scalar(
            sa.text("SELECT count(*) FROM support.messages WHERE conversation_id = :id"),
            {"id": started.conversation_id},
        )
    assert left == 0


async def test_a_stream_still_open_on_a_conversation_closed_for_idleness_sees_the_close(
    support_backends: Backends,
    support_embedder: TextEmbedder,
    security_files: SecurityFiles,
    support_engine: AsyncEngine,
) -> None:
    desk = ShopDesk()
    async with chat_server(support_backends, support_embedder, security_files, desk) as server:
        customer_id, authorization = customer()
        desk.customers[customer_id] = ShopTools()
        chat = Chat(server.address, authorization)
        await chat.start()
        await chat.say("hello")
        assert of_kind(await chat.answer(), "message")

        # The job of another replica (signals of its own) closes it.
        job = ConversationRetention(
            support_engine,
            retention=timedelta(days=30),
            idle_close=timedelta(hours=24),
            signals=ConversationSignals(support_engine),
        )
        while await job.run_batch(utcnow() + timedelta(hours=25)):
            pass
        change = (await chat.until(is_kind("handover")))[-1].handover
        await chat.close()

    assert change.state == pb.HANDOVER_STATE_CLOSED
