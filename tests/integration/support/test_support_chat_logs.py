"""Logs name conversations, never what was said: a whole conversation (the model answering,
the model failing, a hand-over, a person talking, the close) leaves none of its sentences in
any log record, structlog's or the standard library's."""

from __future__ import annotations

import logging

import pytest
from assistant_shop import ShopTools, order
from chat_support import Chat, ShopDesk, chat_server, customer, is_kind, is_message, staff
from llm_scripted_server import Fail, Reply, ScriptedLLM
from security_support import SecurityFiles
from structlog.testing import capture_logs

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora.platform.runtime import Backends
from agora.support.embeddings import TextEmbedder
from agora.support.tools import OrderState

SHIPPED = order(OrderState.SHIPPED, carrier="DHL", tracking_number="JD0001")
CUSTOMER_SAYS = f"Where is my order {SHIPPED.id[:8]}? My purple giraffe waits for it."
MODEL_SAYS = f"Your order {SHIPPED.id[:8]} travels with DHL, tracking JD0001, beside the giraffe."
AGAIN = f"Where is my order {SHIPPED.id[:8]} now? The giraffe parcel is late."
STAFF_SAYS = "Quartz-lemon desk here: the giraffe parcel is on its way."
SECRETS = ("purple giraffe", "giraffe parcel", "beside the giraffe", "Quartz-lemon")


async def test_no_log_record_carries_what_was_said(
    support_backends: Backends,
    support_embedder: TextEmbedder,
    security_files: SecurityFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    desk = ShopDesk()
    with capture_logs() as records, ScriptedLLM() as llm:
        llm.script(Reply(MODEL_SAYS), Fail(503))
        async with chat_server(
            support_backends,
            support_embedder,
            security_files,
            desk,
            llm_base_url=llm.base_url,
            llm_model=llm.model,
            llm_max_retries=0,
            llm_guided_answers="streamed",
        ) as server:
            customer_id, authorization = customer()
            desk.customers[customer_id] = ShopTools(orders=[SHIPPED])
            shopper = Chat(server.address, authorization)
            started = await shopper.start()
            await shopper.say(CUSTOMER_SAYS)
            await shopper.answer()
            await shopper.say(AGAIN)  # the model fails: a warning is logged
            await shopper.until(is_kind("confirmation"))
            await shopper.say("yes")  # to the queue
            await shopper.until(is_kind("handover"))
            _, staff_authorization = staff()
            person = Chat(server.address, staff_authorization)
            await person.start(conversation_id=started.conversation_id, take_over=True)
            await person.say(STAFF_SAYS)
            await shopper.until(is_message(pb.SPEAKER_STAFF))
            await shopper.call.write(pb.ChatClientMessage(close=pb.ChatClose()))
            await person.until(is_kind("handover"))
            await shopper.close()
            await person.close()

    events = [str(r.get("event")) for r in records]
    assert "support_conversation_started" in events
    assert "support.model_unavailable" in events
    assert "support_conversation_closed" in events
    told = [repr(r) for r in records] + [f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records]
    leaked = [line for line in told if any(secret in line for secret in SECRETS)]
    assert leaked == []
