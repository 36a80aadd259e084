"""The assistant in guided mode with a model behind the OpenAI-compatible protocol (the scripted
server): the understanding layer picks the tools, the model words the answer from their
results, and a template answers whenever the model is down, slow, empty, spent or unfaithful."""

from __future__ import annotations

import asyncio

import pytest
from assistant_shop import ShopTools, dialogue, order, say
from llm_scripted_server import Fail, Reply, ScriptedLLM, Stall
from support_dialogue_support import (
    scripted_llm_fixture,
    scripted_model_config,
    scripted_model_fixture,
)

from agora.platform.net import free_port
from agora.support import answers
from agora.support.assistant import (
    Assistant,
    AssistantPolicy,
    GuidedAnswers,
    TextDelta,
    ToolCalling,
)
from agora.support.conversation import ConversationState, HandoverReason, PendingKind
from agora.support.llm import ChatModel, Failure, chat_model
from agora.support.tools import OrderState

SHIPPED = order(OrderState.SHIPPED, carrier="DHL", tracking_number="JD0001")
REF = SHIPPED.id[:8]


llm = scripted_llm_fixture()
model = scripted_model_fixture()
model_config = scripted_model_config


def guided(model: ChatModel, **policy: object) -> Assistant:
    return Assistant(model, AssistantPolicy(tool_calling=ToolCalling.GUIDED, **policy))  # type: ignore[arg-type]


def streaming(model: ChatModel, **policy: object) -> Assistant:
    return guided(model, guided_answers=GuidedAnswers.STREAMED, **policy)


@pytest.mark.parametrize("answers_are", list(GuidedAnswers))
async def test_the_model_words_the_status_from_the_tools_facts(
    llm: ScriptedLLM, model: ChatModel, answers_are: GuidedAnswers
) -> None:
    answer = f"Good news: order {REF} has shipped with DHL, tracking number JD0001."
    llm.script(Reply(answer, prompt_tokens=120, completion_tokens=18))
    shop = ShopTools(orders=[SHIPPED])
    turn = await say(guided(model, guided_answers=answers_are), shop, f"where is my order {REF}?")
    assert shop.calls == [("order_status", (REF,))]
    deltas = [o for o in turn.outputs if isinstance(o, TextDelta)]
    assert len(deltas) > 1  # in the model's pieces, checked first or not
    assert turn.text == answer
    record = turn.record
    assert (record.model_used, record.degraded, record.unfaithful) == (True, False, False)
    assert record.model == "scripted-model"
    assert (record.usage.prompt_tokens, record.usage.completion_tokens) == (120, 18)
    assert turn.state.tokens_used == 138
    [request] = llm.requests
    system = request["messages"][0]
    assert system["role"] == "system"
    for fact in (REF, "shipped", "DHL", "JD0001"):
        assert fact in system["content"]
    assert "tools" not in request  # guided: the model is never offered a tool
    assert request["max_tokens"] == 120  # a few sentences from facts, no rambling
    assert request["messages"][-1] == {"role": "user", "content": f"where is my order {REF}?"}


@pytest.mark.parametrize(
    "unfaithful",
    [
        "Your order is on its way!",  # no order number, no tracking number
        f"Order {REF} and order 0badc0de both shipped, tracking JD0001.",  # an invented order
        "I'm unable to help with your order.",
    ],
)
async def test_a_checked_answer_that_misses_or_invents_facts_is_never_shown(
    llm: ScriptedLLM, model: ChatModel, unfaithful: str
) -> None:
    llm.script(Reply(unfaithful))
    turn = await say(guided(model), ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    assert turn.text == answers.order_status(SHIPPED).template
    assert turn.record.unfaithful
    assert turn.record.confidence < 0.9


async def test_a_streamed_answer_that_drops_a_fact_gets_the_facts_added(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Reply("Your order is on its way!"))
    turn = await say(streaming(model), ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    assert turn.text == f"Your order is on its way!\n\n{answers.order_status(SHIPPED).template}"
    assert turn.record.unfaithful


async def test_a_model_that_is_down_gives_the_facts_and_the_offer(llm: ScriptedLLM) -> None:
    down = chat_model(model_config(f"http://127.0.0.1:{free_port()}/v1"))
    try:
        turn = await say(guided(down), ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    finally:
        await down.aclose()
    assert answers.order_status(SHIPPED).template in turn.text
    assert answers.HANDOVER_OFFER in turn.text
    record = turn.record
    assert (record.degraded, record.failure, record.handover_offered) == (
        True,
        Failure.CONNECTION,
        True,
    )
    assert turn.state.pending is not None
    assert turn.state.pending.kind is PendingKind.HANDOVER


async def test_an_overloaded_model_is_retried_then_the_template_answers(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Fail(503), Fail(503))
    turn = await say(guided(model), ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    assert len(llm.requests) == 2  # one try and one retry, no more
    assert turn.record.failure is Failure.SERVER_ERROR
    assert answers.order_status(SHIPPED).template in turn.text


async def test_a_slow_model_times_out_into_the_template_and_the_offer_then_a_person(
    llm: ScriptedLLM,
) -> None:
    llm.script(Stall(), Stall())
    slow = chat_model(model_config(llm.base_url, first_token_timeout_s=0.3))
    try:
        stalled, accepted = await dialogue(
            guided(slow), ShopTools(orders=[SHIPPED]), f"where is {REF}?", "yes"
        )
    finally:
        await slow.aclose()
    assert stalled.record.failure is Failure.TIMEOUT
    assert answers.order_status(SHIPPED).template in stalled.text
    assert answers.HANDOVER_OFFER in stalled.text
    assert [h.reason for h in accepted.handovers] == [HandoverReason.REQUESTED]
    assert len(llm.requests) == 2  # the "yes" needed no model


@pytest.mark.parametrize("answers_are", list(GuidedAnswers))
async def test_a_model_that_stops_mid_answer_is_followed_by_the_facts(
    llm: ScriptedLLM, answers_are: GuidedAnswers
) -> None:
    llm.script(Reply(f"Order {REF} is shi" + "x" * 30, stall_after=2))
    slow = chat_model(model_config(llm.base_url, idle_timeout_s=0.3))
    try:
        assistant = guided(slow, guided_answers=answers_are)
        turn = await say(assistant, ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    finally:
        await slow.aclose()
    facts = answers.order_status(SHIPPED).template
    # Checked: nothing unchecked was shown. Streamed: what was shown stays, marked as cut.
    shown = "" if answers_are is GuidedAnswers.CHECKED else f"Order {REF} i…\n\n"
    assert turn.text == f"{shown}{facts}\n\n{answers.MODEL_TROUBLE}"
    assert turn.record.degraded
    assert len(llm.requests) == 1


async def test_after_a_failure_the_model_rests_and_every_conversation_gets_templates_at_once(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Fail(503), Fail(503), Reply("never asked"))
    assistant = guided(model, model_cooldown_s=600)
    failed = await say(assistant, ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    resting = await say(assistant, ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    assert failed.record.failure is Failure.SERVER_ERROR
    assert (resting.record.failure, resting.record.degraded) == (Failure.COOLDOWN, True)
    assert answers.order_status(SHIPPED).template in resting.text
    assert answers.HANDOVER_OFFER in resting.text
    assert len(llm.requests) == 2  # the resting turn asked nothing


async def test_without_a_cool_down_the_next_turn_asks_the_model_again(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Fail(503), Fail(503), Reply(f"Order {REF} has shipped, tracking JD0001."))
    assistant = guided(model, model_cooldown_s=0)
    await say(assistant, ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    again = await say(assistant, ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    assert again.record.model_used
    assert not again.record.degraded


async def test_a_customer_who_goes_away_mid_answer_stops_the_model(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Reply("x" * 200, stall_after=1))
    stream = streaming(model).respond(
        ConversationState(), f"where is {REF}?", ShopTools(orders=[SHIPPED])
    )
    async for output in stream:
        if isinstance(output, TextDelta):
            break  # the customer closed the chat
    await stream.aclose()
    for _ in range(400):  # the server notices the hang-up (bounded wait, not a timing check)
        if llm.disconnects:
            break
        await asyncio.sleep(0.05)
    assert llm.disconnects == 1


async def test_an_empty_answer_is_replaced_by_the_template(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Reply(""))
    turn = await say(guided(model), ShopTools(orders=[SHIPPED]), f"where is {REF}?")
    assert turn.text.startswith(answers.order_status(SHIPPED).template)
    assert turn.record.failure is Failure.EMPTY


async def test_a_spent_token_budget_answers_from_templates_without_calling_the_model(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    spent = ConversationState(tokens_used=19_990)
    turn = await say(guided(model), ShopTools(orders=[SHIPPED]), f"where is {REF}?", spent)
    assert llm.requests == []
    assert turn.text == answers.order_status(SHIPPED).template
    assert (turn.record.failure, turn.record.degraded) == (Failure.BUDGET, False)


async def test_a_confirmation_question_is_never_left_to_the_model(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    placed = order(OrderState.PLACED)
    shop = ShopTools(orders=[placed])
    asked, done = await dialogue(guided(model), shop, f"cancel order {placed.id[:8]}", "yes")
    assert llm.requests == []
    assert asked.text == answers.confirm_cancel(placed)
    assert [args[0] for args in shop.called("cancel_order")] == [placed.id]
    assert "cancelled" in done.text


async def test_the_model_sees_recent_history_only(llm: ScriptedLLM, model: ChatModel) -> None:
    llm.script(*(Reply(f"Order {REF} is shipped, tracking JD0001.") for _ in range(3)))
    assistant = guided(model, history_turns=2)
    shop = ShopTools(orders=[SHIPPED])
    await dialogue(assistant, shop, f"where is {REF}?", f"and {REF}?", f"once more {REF}?")
    sent = llm.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == f"and {REF}?"
