"""The chat when things go wrong: the model is down or slow (the customer gets a clear message
and the offer of a person, never a hang), the customer stops an answer, or the client goes
away mid-answer (everything it started ends: the answer, the model request, the stream)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from assistant_shop import ShopTools, order
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
    of_kind,
)
from llm_scripted_server import Fail, Reply, ScriptedLLM, Stall
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora.platform.runtime import Backends
from agora.support.answers import MODEL_TROUBLE
from agora.support.embeddings import TextEmbedder
from agora.support.tools import OrderState

SHIPPED = order(OrderState.SHIPPED, carrier="DHL", tracking_number="JD0001")
ASK = f"where is my order {SHIPPED.id[:8]}?"

Served = Callable[..., contextlib.AbstractAsyncContextManager[tuple[ChatServer, ScriptedLLM]]]


@pytest.fixture
def served(
    support_backends: Backends, support_embedder: TextEmbedder, security_files: SecurityFiles
) -> Served:
    """A replica answering with a scripted model, configured by the test."""

    @contextlib.asynccontextmanager
    async def serve(**settings: Any) -> AsyncIterator[tuple[ChatServer, ScriptedLLM]]:
        with ScriptedLLM() as llm:
            async with chat_server(
                support_backends,
                support_embedder,
                security_files,
                ShopDesk(),
                llm_base_url=llm.base_url,
                llm_model=llm.model,
                llm_max_retries=0,
                llm_retry_backoff_s=0,
                **settings,
            ) as server:
                yield server, llm

    return serve


async def shopper(server: ChatServer) -> Chat:
    customer_id, authorization = customer()
    server.desk.customers[customer_id] = ShopTools(orders=[SHIPPED])
    chat = Chat(server.address, authorization)
    await chat.start()
    return chat


async def test_the_model_words_the_answer_and_its_usage_is_stored(
    served: Served, support_engine: AsyncEngine
) -> None:
    async with served() as (server, llm):
        words = f"Order {SHIPPED.id[:8]} has shipped with DHL, tracking number JD0001."
        llm.script(Reply(words, prompt_tokens=120, completion_tokens=18))
        chat = await shopper(server)
        await chat.say(ASK)
        answer = of_kind(await chat.answer(), "message")[-1]
        await chat.close()
    assert answer.text == words  # type: ignore[attr-defined]
    async with support_engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT tokens_in, tokens_out, model FROM support.messages WHERE id = :id"),
                {"id": answer.id},  # type: ignore[attr-defined]
            )
        ).one()
    assert tuple(row) == (120, 18, "scripted-model")


@pytest.mark.parametrize(
    ("trouble", "settings"),
    [(Fail(503), {}), (Stall(), {"llm_first_token_timeout_s": 0.5})],
    ids=["down", "slow"],
)
async def test_a_model_down_or_slow_gives_the_facts_and_the_offer_of_a_person(
    served: Served, trouble: Fail | Stall, settings: dict[str, Any]
) -> None:
    async with served(**settings) as (server, llm):
        llm.script(trouble)
        chat = await shopper(server)
        await chat.say(ASK)
        received = await chat.until(is_kind("confirmation"))
        answer = of_kind(received, "message")[-1]
        assert "JD0001" in answer.text  # type: ignore[attr-defined]
        assert MODEL_TROUBLE in answer.text  # type: ignore[attr-defined]
        assert [n.code for n in of_kind(received, "notice")] == ["model_unavailable"]  # type: ignore[attr-defined]
        assert received[-1].confirmation.action == "handover"

        await chat.say("yes please")
        change = (await chat.until(is_kind("handover")))[-1].handover
        await chat.close()
    assert change.state == pb.HANDOVER_STATE_QUEUED


async def test_the_customer_stops_an_answer_and_the_conversation_goes_on(served: Served) -> None:
    async with served(llm_first_token_timeout_s=60) as (server, llm):
        llm.script(Stall())
        chat = await shopper(server)
        await chat.say(ASK)
        await chat.until(is_kind("tool"))
        await eventually(lambda: len(llm.requests) == 1, "the model was asked")

        await chat.cancel()
        stopped = await chat.until(is_kind("notice"))
        assert stopped[-1].notice.code == "cancelled"
        await eventually(lambda: llm.disconnects == 1, "the model request was dropped")

        await chat.say("hello")  # not `busy`: the claim on the conversation was released
        greeting = await chat.until(is_message(pb.SPEAKER_ASSISTANT))
        await chat.close()
    assert of_kind(greeting, "notice") == []


async def test_an_abandoned_stream_leaves_nothing_running(served: Served) -> None:
    async with served(llm_first_token_timeout_s=60) as (server, llm):
        llm.script(Stall())
        chat = await shopper(server)
        await chat.say(ASK)
        await chat.until(is_kind("tool"))
        await eventually(lambda: len(llm.requests) == 1, "the model was asked")
        assert server.service.chat.answers == 1

        await chat.close()  # the client goes away without a word

        chat_of = server.service.chat
        await eventually(lambda: chat_of.answers == 0, "the answer ended")
        await eventually(lambda: chat_of.streams == 0, "the stream ended")
        await eventually(lambda: chat_of.signals.subscribed == 0, "no signal subscription left")
        await eventually(lambda: llm.disconnects == 1, "the model request was dropped")


async def test_a_conversation_over_its_token_budget_gets_the_facts_and_a_budget_notice(
    served: Served,
) -> None:
    async with served(llm_token_budget=600) as (server, llm):
        words = f"Order {SHIPPED.id[:8]} has shipped with DHL, tracking number JD0001."
        llm.script(Reply(words, prompt_tokens=500, completion_tokens=50))
        chat = await shopper(server)
        await chat.say(ASK)
        first = await chat.answer()
        assert of_kind(first, "notice") == []
        assert of_kind(first, "message")[-1].text == words  # type: ignore[attr-defined]

        await chat.say(ASK)  # 550 of 600 tokens spent: no room for another model answer
        second = await chat.until(is_kind("notice"))
        await chat.close()
    assert [n.code for n in of_kind(second, "notice")] == ["budget_exhausted"]  # type: ignore[attr-defined]
    assert "JD0001" in of_kind(second, "message")[-1].text  # type: ignore[attr-defined]
    assert len(llm.requests) == 1  # the template answered: the model was not asked again


async def test_a_stopped_answer_keeps_what_the_customer_read_marked_cancelled(
    served: Served, support_engine: AsyncEngine
) -> None:
    words = f"Order {SHIPPED.id[:8]} has shipped with DHL, tracking number JD0001."
    async with served(llm_guided_answers="streamed", llm_idle_timeout_s=60) as (server, llm):
        llm.script(Reply(words, piece=8, stall_after=2))  # two pieces, then nothing more
        chat = await shopper(server)
        await chat.say(ASK)
        read = ""
        while len(read) < 16:
            read += (await chat.until(is_kind("delta")))[-1].delta.text
        await chat.cancel()
        stopped = await chat.until(is_kind("notice"))
        await chat.close()
    assert read == words[:16]
    kept = of_kind(stopped, "message")[-1]
    assert (kept.speaker, kept.text) == (pb.SPEAKER_ASSISTANT, read)  # type: ignore[attr-defined]
    assert stopped[-1].notice.code == "cancelled"
    async with support_engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT text, cancelled FROM support.messages WHERE id = :id"),
                {"id": kept.id},  # type: ignore[attr-defined]
            )
        ).one()
    assert tuple(row) == (read, True)


async def test_closing_during_an_answer_stops_it_keeps_what_was_read_and_ends_the_stream(
    served: Served, support_engine: AsyncEngine
) -> None:
    words = f"Order {SHIPPED.id[:8]} has shipped with DHL, tracking number JD0001."
    async with served(llm_guided_answers="streamed", llm_idle_timeout_s=60) as (server, llm):
        llm.script(Reply(words, piece=8, stall_after=1))
        chat = await shopper(server)
        await chat.say(ASK)
        read = (await chat.until(is_kind("delta")))[-1].delta.text
        await chat.call.write(pb.ChatClientMessage(close=pb.ChatClose()))
        closing = await chat.until(is_kind("handover"))
        end = await asyncio.wait_for(chat.call.read(), WAIT_S)
        await eventually(lambda: llm.disconnects == 1, "the model request was dropped")
        await chat.close()
    assert end is grpc.aio.EOF
    assert closing[-1].handover.state == pb.HANDOVER_STATE_CLOSED
    kept = of_kind(closing, "message")[-1]
    assert kept.text == read == words[:8]  # type: ignore[attr-defined]
    async with support_engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text(
                    "SELECT m.cancelled, c.handover FROM support.messages m"
                    " JOIN support.conversations c ON c.id = m.conversation_id WHERE m.id = :id"
                ),
                {"id": kept.id},  # type: ignore[attr-defined]
            )
        ).one()
    assert tuple(row) == (True, "closed")
