"""The assistant's small parts, without I/O: amount limits, answer wording, the token budget,
retry delays, tool-call validation and the support settings."""

from __future__ import annotations

import json

import pytest
from assistant_shop import order

from agora.platform.kernel.money import Money
from agora.platform.settings import PlatformSettings, refuse_development_defaults
from agora.support import answers
from agora.support.assistant import ToolCalling
from agora.support.conversation import AmountLimits, parse_amount_limits
from agora.support.llm import ChatMessage, ModelConfig, TokenBudget, ToolCall, Usage, retry_delay
from agora.support.settings import SupportSettings
from agora.support.tool_calls import (
    NATIVE_TOOL_SPECS,
    OrderArgs,
    RejectedCall,
    SearchArgs,
    parse_call,
)
from agora.support.tools import OrderBrief, OrderState, ProductHit

# --- amount limits ---


@pytest.mark.parametrize(
    ("text", "limits"),
    [
        ("500", AmountLimits(500, {})),
        ("", AmountLimits(500, {})),
        ("250, JPY=40000", AmountLimits(250, {"JPY": 40000})),
        (" jpy = 40000 , krw=500000 ", AmountLimits(500, {"JPY": 40000, "KRW": 500000})),
        ("0", AmountLimits(0, {})),
    ],
)
def test_amount_limits_parse_a_default_and_overrides(text: str, limits: AmountLimits) -> None:
    assert parse_amount_limits(text) == limits


@pytest.mark.parametrize("text", ["lots", "-5", "XXX=5", "EUR=ten", "1.5"])
def test_bad_amount_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a whole amount|negative|unknown currency"):
        parse_amount_limits(text)


@pytest.mark.parametrize(
    ("amount", "exceeded"),
    [
        (Money(50_000, "EUR"), False),  # exactly 500.00 EUR: not above
        (Money(50_001, "EUR"), True),
        (Money(500, "JPY"), False),  # JPY has no minor unit: 500 yen
        (Money(75_001, "JPY"), True),  # above its own override
        (Money(500_001, "KWD"), True),  # three decimals: 500.001 KWD
    ],
)
def test_the_limit_is_in_major_units_of_each_currency(amount: Money, exceeded: bool) -> None:
    limits = AmountLimits(500, {"JPY": 75_000})
    assert limits.exceeded_by(amount) is exceeded


# --- wording ---


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Money(123_450, "EUR"), "1,234.50 EUR"),
        (Money(5, "USD"), "0.05 USD"),
        (Money(1500, "JPY"), "1,500 JPY"),
        (Money(1_234_567, "KWD"), "1,234.567 KWD"),
        (Money(-250, "EUR"), "-2.50 EUR"),
    ],
)
def test_money_is_written_with_the_currencys_decimals(amount: Money, text: str) -> None:
    assert answers.money_text(amount) == text


def test_every_status_has_words_and_a_keyword_the_words_contain() -> None:
    for status in OrderState:
        assert answers.STATUS_KEYWORDS[status] in answers.STATUS_WORDS[status]


@pytest.mark.parametrize("status", list(OrderState))
def test_a_status_template_mentions_everything_a_model_must_mention(status: OrderState) -> None:
    draft = answers.order_status(order(status, carrier="UPS", tracking_number="1Z999"))
    assert draft.faithful(draft.template)


def test_a_faithful_answer_mentions_every_fact_word_in_any_case() -> None:
    draft = answers.Draft(
        "t", facts="Order 1a2b3c4d: shipped", must_mention=("1a2b3c4d", "Shipped")
    )
    assert draft.faithful("Order 1A2B3C4D is shipped.")
    assert not draft.faithful("Your order is shipped.")
    assert not draft.faithful("   ")


def test_an_answer_naming_an_order_the_facts_do_not_is_unfaithful() -> None:
    draft = answers.Draft("t", facts="Order 1a2b3c4d: shipped", must_mention=("1a2b3c4d",))
    assert not draft.faithful("Orders 1a2b3c4d and 9f8e7d6c are shipped.")


def test_a_list_of_orders_names_at_most_five_and_counts_the_rest() -> None:
    orders = [order(OrderState.DELIVERED, days_ago=i) for i in range(7)]
    briefs = [OrderBrief(o.id, o.status, o.total, 2, o.placed_at) for o in orders]
    text = answers.my_orders(briefs).template
    assert sum(o.id[:8] in text for o in orders) == 5
    assert "and 2 older" in text


# --- the model's budget and retries ---


def test_the_token_budget_counts_what_was_spent_and_what_a_call_may_cost() -> None:
    budget = TokenBudget(limit=1000).spent(Usage(300, 200))
    assert (budget.used, budget.remaining) == (500, 500)
    short = [ChatMessage("user", "x" * 400)]  # ~100 tokens + framing
    assert budget.allows(short, reply_tokens=300)
    assert not budget.allows(short, reply_tokens=450)
    assert TokenBudget(limit=10, used=50).remaining == 0


def test_usage_adds_up_and_stays_estimated_once_estimated() -> None:
    total = Usage(10, 5) + Usage(1, 1, estimated=True)
    assert (total.prompt_tokens, total.completion_tokens, total.total, total.estimated) == (
        11,
        6,
        17,
        True,
    )


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 10])
def test_retry_delays_grow_exponentially_and_stay_capped(attempt: int) -> None:
    config = ModelConfig("http://x/v1", "m", retry_backoff_s=0.5, retry_backoff_max_s=4.0)
    ceiling = min(0.5 * 2 ** (attempt - 1), 4.0)
    delays = [retry_delay(attempt, config) for _ in range(50)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)


def test_a_servers_retry_after_is_honoured_up_to_the_cap() -> None:
    config = ModelConfig("http://x/v1", "m", retry_backoff_max_s=4.0)
    assert retry_delay(1, config, retry_after_s=2.0) == 2.0
    assert retry_delay(1, config, retry_after_s=3600.0) == 4.0


# --- tool calls from a model ---


def test_every_offered_tool_has_a_strict_object_schema() -> None:
    for spec in NATIVE_TOOL_SPECS:
        schema = spec.parameters
        assert schema["type"] == "object"
        assert schema.get("additionalProperties") is False
        json.dumps(schema)  # serialisable as sent


def test_a_valid_call_parses_into_its_arguments() -> None:
    assert parse_call(ToolCall("c", "order_status", '{"order_ref": "1a2b3c4d"}')) == OrderArgs(
        order_ref="1a2b3c4d"
    )
    assert parse_call(ToolCall("c", "search_products", '{"query": "mug"}')) == SearchArgs(
        query="mug"
    )


@pytest.mark.parametrize(
    ("name", "arguments", "problem"),
    [
        ("order_status", '{"order_ref": "1a2b3c4d", "as_user": "x"}', "Extra inputs"),
        ("order_status", '{"order_ref": 12345678}', "should be a valid string"),
        ("order_status", "{", "Invalid JSON"),
        ("search_products", '{"query": "mug", "limit": "5"}', "Extra inputs"),
        ("nope", "{}", "unknown tool 'nope'"),
    ],
)
def test_a_malformed_call_is_rejected_with_a_reason(
    name: str, arguments: str, problem: str
) -> None:
    with pytest.raises(RejectedCall, match=problem):
        parse_call(ToolCall("c", name, arguments))


# --- settings ---


def test_without_a_base_url_there_is_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGORA_SUPPORT_LLM_BASE_URL", raising=False)
    assert SupportSettings().llm_config() is None


def test_llm_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AGORA_SUPPORT_LLM_BASE_URL": "http://127.0.0.1:8720/v1",
        "AGORA_SUPPORT_LLM_MODEL": "smollm2",
        "AGORA_SUPPORT_LLM_API_KEY": "sk-local",
        "AGORA_SUPPORT_LLM_TOOL_CALLING": "native",
        "AGORA_SUPPORT_LLM_FIRST_TOKEN_TIMEOUT_S": "3",
        "AGORA_SUPPORT_LLM_TOKEN_BUDGET": "5000",
        "AGORA_SUPPORT_HANDOVER_AMOUNT_LIMIT": "200, JPY=30000",
    }.items():
        monkeypatch.setenv(name, value)
    settings = SupportSettings()
    config = settings.llm_config()
    assert config is not None
    assert (config.base_url, config.model, config.api_key, config.first_token_timeout_s) == (
        "http://127.0.0.1:8720/v1",
        "smollm2",
        "sk-local",
        3.0,
    )
    policy = settings.assistant_policy()
    assert policy.tool_calling is ToolCalling.NATIVE
    assert policy.token_budget == 5000
    assert policy.amount_limits == AmountLimits(200, {"JPY": 30000})
    assert "sk-local" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AGORA_SUPPORT_LLM_TOOL_CALLING", "sometimes"),
        ("AGORA_SUPPORT_HANDOVER_AMOUNT_LIMIT", "a lot"),
        ("AGORA_SUPPORT_LLM_MAX_RETRIES", "50"),
        ("AGORA_SUPPORT_LLM_FIRST_TOKEN_TIMEOUT_S", "0"),
    ],
)
def test_bad_llm_settings_fail_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name.removeprefix("AGORA_SUPPORT_").lower()):
        SupportSettings()


def test_production_refuses_an_api_key_sent_in_clear_text(monkeypatch: pytest.MonkeyPatch) -> None:
    exposed = SupportSettings(llm_base_url="http://llm.example.com/v1", llm_api_key="sk-x")  # type: ignore[arg-type]
    local = SupportSettings(llm_base_url="http://127.0.0.1:8720/v1", llm_api_key="sk-x")  # type: ignore[arg-type]
    platform = PlatformSettings(env="prod", database_url="postgresql://x/y", nats_url="nats://x")
    with pytest.raises(ValueError, match="unencrypted"):
        refuse_development_defaults(platform, exposed)
    refuse_development_defaults(platform, local)


def test_an_answer_about_a_product_must_give_its_price_and_that_it_is_out_of_stock() -> None:
    # Found by the dialogue suite: the embedded model named the teapot but dropped its price
    # ("how much is the ceramic teapot?") and the kettle's stock, and the answer passed.
    kettle = ProductHit("p1", "Gooseneck kettle", Money(4900, "EUR"), in_stock=False)
    draft = answers.products([kettle], "kettle")
    assert draft.faithful(draft.template)
    assert draft.faithful("The Gooseneck kettle costs €49.00 but is out of stock right now.")
    assert not draft.faithful("Yes, we have the Gooseneck kettle for 49.00 EUR.")
    assert not draft.faithful("The Gooseneck kettle is out of stock.")
    teapot = ProductHit("p2", "Ceramic teapot", None)
    assert answers.products([teapot], "teapot").faithful("We sell the Ceramic teapot.")
