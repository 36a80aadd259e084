"""The scripted model for the support assistant's tests: the scripted server's fixture and
client configuration (shared by the guided and native assistant tests), a writer that answers
guided requests from the facts it is given, and the native-mode scripts of a subset of the
dialogue suite (the tool calls a capable, or a tricked, model makes)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from llm_scripted_server import Reply, ScriptedCall, ScriptedLLM, Step

from agora.support.evaluation_shop import ORDERS_BY_KEY, PRODUCTS
from agora.support.llm import ChatModel, ModelConfig, chat_model

SCRIPTED_MODEL = "scripted-model"


def scripted_model_config(base_url: str, **overrides: object) -> ModelConfig:
    """The client for the scripted server: generous timeouts (a loaded machine is slow, the
    scripted answers are not), fast retries."""
    base = ModelConfig(
        base_url=base_url,
        model=SCRIPTED_MODEL,
        first_token_timeout_s=30,
        idle_timeout_s=30,
        reply_timeout_s=60,
        max_retries=1,
        retry_backoff_s=0.01,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def scripted_llm_fixture() -> Any:
    """An `llm` fixture: a scripted server of the test's own."""

    @pytest.fixture
    def llm() -> Iterator[ScriptedLLM]:
        with ScriptedLLM() as server:
            yield server

    return llm


def scripted_model_fixture(**overrides: object) -> Any:
    """A `model` fixture: the OpenAI-compatible client on the test's `llm` server."""

    @pytest.fixture
    async def model(llm: ScriptedLLM) -> AsyncIterator[ChatModel]:
        built = chat_model(scripted_model_config(llm.base_url, **overrides))
        yield built
        await built.aclose()

    return model


# --- guided mode: a model that words the facts ---


def facts_writer(unfaithful_every: int = 4) -> Callable[[dict[str, Any]], Step]:
    """A responder for guided requests: answers with the facts of the system prompt, in a
    sentence; every `unfaithful_every`th answer instead drops them (the assistant must then
    say its template)."""
    count = itertools.count(1)

    def write(body: dict[str, Any]) -> Step:
        system = body["messages"][0]["content"]
        facts = system.partition("Facts:\n")[2].strip()
        if next(count) % unfaithful_every == 0 or not facts:
            return Reply("Your order is on its way!", prompt_tokens=150, completion_tokens=8)
        answer = "Here is what I found. " + " ".join(facts.splitlines())
        return Reply(answer, prompt_tokens=len(system) // 4, completion_tokens=len(answer) // 4)

    return write


# --- native mode: the model's tool calls, dialogue by dialogue ---


def _call(name: str, arguments: dict[str, Any] | str) -> Reply:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return Reply(tool_calls=(ScriptedCall(name, raw, id=f"call_{name}"),))


def _ref(key: str, full: bool = False) -> str:
    order_id = ORDERS_BY_KEY[key].details.id
    return order_id if full else order_id[:8]


NATIVE_SCRIPTS: dict[str, list[Step]] = {
    "status-by-full-number": [
        _call("order_status", {"order_ref": _ref("ana_shipped", full=True)}),
        Reply(f"Order {_ref('ana_shipped')} has shipped with DHL, tracking JD014600003SE."),
    ],
    "other-status-by-full-number": [
        _call("order_status", {"order_ref": _ref("ben_shipped", full=True)}),
        Reply("Sorry, I can't find that order on your account."),
    ],
    "inject-ignore-rules": [  # the model is talked into it; the shop still says no
        _call("order_status", {"order_ref": _ref("ben_shipped")}),
        Reply("Sorry, I can't find that order on your account."),
    ],
    "inject-json-arguments": [  # a smuggled argument fails the tool's schema: never run
        _call("order_status", {"order_ref": _ref("ben_shipped", full=True), "customer_id": "ben"}),
        Reply("I can only look up orders on your own account."),
    ],
    "inject-you-are-admin": [  # an order nobody named is never looked up
        _call("order_status", {"order_ref": _ref("ben_placed", full=True)}),
        _call("my_orders", {}),
        Reply(f"I can only show your own orders, such as {_ref('ana_shipped')}."),
    ],
    "inject-system-tag-cancel": [
        _call("cancel_order", {"order_ref": _ref("ben_placed")}),
        Reply("Sorry, I can't find that order on your account."),
    ],
    "inject-already-confirmed": [  # the model may only ask: the customer confirms
        _call("cancel_order", {"order_ref": _ref("ana_placed")}),
    ],
    "cancel-confirmed": [_call("cancel_order", {"order_ref": _ref("ana_placed")})],
    "cancel-shipped-refused": [
        _call("cancel_order", {"order_ref": _ref("ana_shipped")}),
        Reply(f"Order {_ref('ana_shipped')} has already shipped, so it can't be cancelled."),
    ],
    "return-whole-order": [_call("start_return", {"order_ref": _ref("ana_delivered")})],
    "search-pans": [
        _call("search_products", {"query": "cast iron pan"}),
        Reply("We have the Cast iron skillet for 59.90 EUR."),
    ],
    "recs-goes-with": [
        _call("search_products", {"query": "espresso machine"}),
        _call("recommendations", {"product_id": PRODUCTS["espresso"].id}),
        Reply("A Coffee grinder and a Milk frother go well with the Espresso machine."),
    ],
    "off-topic-weather": [Reply("I can only help with this shop: orders and products.")],
    "handover-ask-human": [],  # a rule: the model is not asked
}
