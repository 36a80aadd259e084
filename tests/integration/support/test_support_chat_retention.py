"""Retention: a conversation silent for the idle time is closed (and announced), a closed one
past the retention is deleted with its messages."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from assistant_shop import ShopTools
from chat_support import Chat, ShopDesk, chat_server, customer, of_kind
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from test_support_chat_stream import outbox_subjects

from agora.platform.kernel.clock import utcnow
from agora.platform.runtime import Backends
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
