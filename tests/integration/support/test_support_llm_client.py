"""The OpenAI-compatible model client against a scripted server over real HTTP: streaming,
tool-call deltas, usage, timeouts, bounded retries, and which failures are retried."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest
from llm_scripted_server import Fail, Reply, ScriptedCall, ScriptedLLM, Stall

from agora.platform.net import free_port
from agora.support.llm import (
    ChatMessage,
    ChatModel,
    Failure,
    ModelConfig,
    ModelDelta,
    ModelEvent,
    ModelReply,
    ModelUnavailable,
    OpenAICompatibleModel,
    ToolSpec,
    chat_model,
)

HELLO = [ChatMessage("system", "Be brief."), ChatMessage("user", "Where is my order?")]
LOOKUP = ToolSpec(
    "order_status",
    "One order.",
    {"type": "object", "properties": {"order_ref": {"type": "string"}}, "required": ["order_ref"]},
)


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def config(llm: ScriptedLLM, **overrides: object) -> ModelConfig:
    # Generous waits for answers that come; short ones only where a test stalls on purpose.
    base = ModelConfig(
        base_url=llm.base_url,
        model="scripted-model",
        first_token_timeout_s=30,
        idle_timeout_s=30,
        reply_timeout_s=60,
        max_retries=2,
        retry_backoff_s=0.01,
        retry_backoff_max_s=0.05,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def model(llm: ScriptedLLM) -> AsyncIterator[ChatModel]:
    built = chat_model(config(llm))
    yield built
    await built.aclose()


async def events(model: ChatModel, **kwargs: object) -> list[ModelEvent]:
    return [e async for e in model.stream(HELLO, **kwargs)]  # type: ignore[arg-type]


async def read_into(model: ChatModel, seen: list[str]) -> None:
    async for event in model.stream(HELLO):
        if isinstance(event, ModelDelta):
            seen.append(event.text)


async def test_an_answer_streams_in_deltas_then_ends_with_text_and_usage(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Reply("Your order shipped yesterday.", prompt_tokens=31, completion_tokens=7))
    got = await events(model)
    deltas = [e.text for e in got if isinstance(e, ModelDelta)]
    assert len(deltas) > 1
    assert "".join(deltas) == "Your order shipped yesterday."
    reply = got[-1]
    assert isinstance(reply, ModelReply)
    assert (reply.text, reply.tool_calls, reply.finish_reason, reply.attempts) == (
        "Your order shipped yesterday.",
        (),
        "stop",
        1,
    )
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (31, 7)
    assert not reply.usage.estimated


async def test_the_request_is_a_streamed_chat_completion_asking_for_usage(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Reply("ok"))
    await events(model, tools=[LOOKUP], max_tokens=50)
    [body] = llm.requests
    assert body["model"] == "scripted-model"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 50
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where is my order?"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "order_status",
                "description": "One order.",
                "parameters": LOOKUP.parameters,
            },
        }
    ]


async def test_tool_call_deltas_are_assembled_unvalidated(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(
        Reply(
            tool_calls=(
                ScriptedCall("order_status", '{"order_ref": "1a2b3c4d"}', id="call_a"),
                ScriptedCall("search_products", '{"query": ', id="call_b"),  # cut short
            )
        )
    )
    reply = (await events(model, tools=[LOOKUP]))[-1]
    assert isinstance(reply, ModelReply)
    assert reply.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        ("call_a", "order_status", '{"order_ref": "1a2b3c4d"}'),
        ("call_b", "search_products", '{"query": '),
    ]


async def test_a_tool_conversation_is_sent_back_in_the_openai_shape(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    from agora.support.llm import ToolCall

    llm.script(Reply("It shipped."))
    call = ToolCall("call_a", "order_status", '{"order_ref": "1a2b3c4d"}')
    messages = [
        *HELLO,
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", '{"status": "shipped"}', tool_call_id="call_a"),
    ]
    [_ async for _ in model.stream(messages)]
    sent = llm.requests[0]["messages"]
    assert sent[2] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "order_status", "arguments": '{"order_ref": "1a2b3c4d"}'},
            }
        ],
    }
    assert sent[3] == {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "call_a"}


async def test_a_server_without_usage_gets_an_estimate(llm: ScriptedLLM, model: ChatModel) -> None:
    llm.script(Reply("x" * 40, report_usage=False))
    reply = (await events(model))[-1]
    assert isinstance(reply, ModelReply)
    assert reply.usage.estimated
    assert reply.usage.completion_tokens == 11
    assert reply.usage.prompt_tokens > 0


async def test_an_overloaded_server_is_retried_until_it_answers(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Fail(503), Fail(502), Reply("third time lucky"))
    reply = (await events(model))[-1]
    assert isinstance(reply, ModelReply)
    assert (reply.text, reply.attempts) == ("third time lucky", 3)
    assert len(llm.requests) == 3


async def test_retries_are_bounded(llm: ScriptedLLM, model: ChatModel) -> None:
    llm.script(Fail(503), Fail(503), Fail(503), Reply("never reached"))
    with pytest.raises(ModelUnavailable) as failed:
        await events(model)
    assert (failed.value.failure, failed.value.attempts, failed.value.partial) == (
        Failure.SERVER_ERROR,
        3,
        False,
    )
    assert len(llm.requests) == 3
    assert llm.pending_steps == 1


async def test_rate_limiting_is_retried_after_the_servers_delay(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Fail(429, retry_after="0"), Reply("ok"))
    reply = (await events(model))[-1]
    assert isinstance(reply, ModelReply)
    assert reply.attempts == 2


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_a_refused_request_is_not_retried(
    llm: ScriptedLLM, model: ChatModel, status: int
) -> None:
    llm.script(Fail(status, message="bad request"), Reply("never reached"))
    with pytest.raises(ModelUnavailable) as failed:
        await events(model)
    assert failed.value.failure is Failure.REJECTED
    assert len(llm.requests) == 1


async def test_a_stalled_server_times_out_and_is_retried_a_bounded_number_of_times(
    llm: ScriptedLLM,
) -> None:
    llm.script(Stall(), Stall())
    impatient = chat_model(config(llm, first_token_timeout_s=0.3, max_retries=1))
    try:
        with pytest.raises(ModelUnavailable) as failed:
            await events(impatient)
    finally:
        await impatient.aclose()
    assert (failed.value.failure, failed.value.attempts) == (Failure.TIMEOUT, 2)
    assert len(llm.requests) == 2


async def test_a_stall_after_text_was_streamed_fails_without_a_retry(llm: ScriptedLLM) -> None:
    llm.script(Reply("a long answer that stops half way", stall_after=2), Reply("never"))
    impatient = chat_model(config(llm, idle_timeout_s=0.3))
    seen: list[str] = []
    try:
        with pytest.raises(ModelUnavailable) as failed:
            await read_into(impatient, seen)
    finally:
        await impatient.aclose()
    assert "".join(seen) == "a long answer th"
    assert (failed.value.failure, failed.value.partial) == (Failure.TIMEOUT, True)
    assert len(llm.requests) == 1  # a retry would repeat what the customer already read


async def test_a_dropped_connection_mid_answer_is_a_partial_failure(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Reply("x" * 40, drop_after=2), Reply("never"))
    with pytest.raises(ModelUnavailable) as failed:
        await events(model)
    assert failed.value.partial
    assert failed.value.failure is Failure.CONNECTION
    assert len(llm.requests) == 1


async def test_an_error_event_mid_answer_is_a_partial_failure(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Reply("x" * 40, error_after=1), Reply("never"))
    with pytest.raises(ModelUnavailable) as failed:
        await events(model)
    assert (failed.value.failure, failed.value.partial) == (Failure.SERVER_ERROR, True)


async def test_an_error_event_before_any_text_is_retried(
    llm: ScriptedLLM, model: ChatModel
) -> None:
    llm.script(Reply("x" * 40, error_after=0), Reply("fine"))
    reply = (await events(model))[-1]
    assert isinstance(reply, ModelReply)
    assert (reply.text, reply.attempts) == ("fine", 2)


async def test_no_server_at_all_is_a_connection_failure_after_the_retries() -> None:
    down = chat_model(
        ModelConfig(
            base_url=f"http://127.0.0.1:{free_port()}/v1",
            model="m",
            max_retries=1,
            retry_backoff_s=0.01,
        )
    )
    try:
        with pytest.raises(ModelUnavailable) as failed:
            await events(down)
    finally:
        await down.aclose()
    assert (failed.value.failure, failed.value.attempts) == (Failure.CONNECTION, 2)


async def test_the_api_key_is_sent_as_a_bearer_token(llm: ScriptedLLM) -> None:
    llm.script(Reply("ok"), Reply("ok"))
    keyed = chat_model(config(llm, api_key="sk-test-123"))
    keyless = chat_model(config(llm))
    try:
        await events(keyed)
        await events(keyless)
    finally:
        await keyed.aclose()
        await keyless.aclose()
    assert llm.headers[0]["authorization"] == "Bearer sk-test-123"
    assert "sk-test-123" not in json.dumps(llm.headers[1])


async def test_the_api_key_stays_out_of_the_configs_repr() -> None:
    assert "sk-secret" not in repr(ModelConfig("http://x/v1", "m", api_key="sk-secret"))


def test_providers_are_found_by_entry_point_name() -> None:
    built = chat_model(ModelConfig("http://127.0.0.1:9/v1", "m", provider="openai"))
    assert isinstance(built, OpenAICompatibleModel)
    with pytest.raises(ValueError, match=r"unknown LLM provider 'nope' \(known: .*openai"):
        chat_model(ModelConfig("http://127.0.0.1:9/v1", "m", provider="nope"))
