"""Settings of the support service (`AGORA_SUPPORT_*`)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from agora.platform.settings import ServiceSettings, is_loopback_url, service_settings_config
from agora.support.assistant import AssistantPolicy, GuidedAnswers, ToolCalling
from agora.support.conversation import parse_amount_limits
from agora.support.domain import ChatLimits
from agora.support.llm import OPENAI_COMPATIBLE, ModelConfig
from agora.support.understanding import MAX_MESSAGE_CHARS


class SupportSettings(ServiceSettings):
    """`AGORA_SUPPORT_PORT`, `AGORA_SUPPORT_DB_POOL_SIZE`, `AGORA_SUPPORT_LLM_BASE_URL`, …"""

    model_config = service_settings_config("support")

    llm_provider: str = Field(
        default=OPENAI_COMPATIBLE, description="an `agora.llm_providers` entry point"
    )
    llm_base_url: str | None = Field(
        default=None,
        description="the OpenAI-compatible API's base URL (…/v1); unset: template answers only",
    )
    llm_model: str = Field(default="SmolLM2-135M-Instruct", max_length=200)
    llm_api_key: SecretStr | None = Field(
        default=None, description="bearer key, if the API needs one"
    )
    llm_tool_calling: Literal["native", "guided"] = Field(
        default="guided",
        description="native: the model calls the tools; guided: the understanding layer picks "
        "them and the model only words the answer (for models that cannot call tools)",
    )
    llm_guided_answers: Literal["checked", "streamed"] = Field(
        default="checked",
        description="guided mode: hold the model's answer until it is checked against the facts "
        "(checked), or stream it as written and add the facts when it missed some (streamed)",
    )
    llm_connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    llm_first_token_timeout_s: float = Field(default=20.0, gt=0, le=600)
    llm_idle_timeout_s: float = Field(default=15.0, gt=0, le=600)
    llm_reply_timeout_s: float = Field(default=60.0, gt=0, le=1800)
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    llm_retry_backoff_s: float = Field(default=0.5, ge=0, le=30)
    llm_max_reply_tokens: int = Field(default=300, ge=16, le=8192)
    llm_guided_reply_tokens: int = Field(default=120, ge=16, le=8192)
    llm_temperature: float = Field(default=0.2, ge=0, le=2)
    llm_cooldown_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="after a model failure, templates only for this long",
    )
    llm_token_budget: int = Field(
        default=20_000, ge=0, description="model tokens one conversation may spend in all"
    )
    assistant_min_confidence: float = Field(default=0.5, ge=0, le=1)
    assistant_low_confidence_turns: int = Field(default=2, ge=1, le=10)
    assistant_history_turns: int = Field(default=8, ge=0, le=40)
    handover_amount_limit: str = Field(
        default="500",
        description="cancels and refunds above this go to a person: major units of any "
        "currency, with overrides ('500, JPY=75000')",
    )

    chat_max_message_chars: int = Field(
        default=MAX_MESSAGE_CHARS,
        ge=1,
        le=MAX_MESSAGE_CHARS,
        description="a longer `say` gets a too_long notice (the assistant reads no more)",
    )
    chat_rate_window_s: float = Field(default=60.0, gt=0, le=3600)
    chat_messages_per_conversation: int = Field(
        default=12, ge=1, le=1000, description="messages one side may send per window, here"
    )
    chat_messages_per_sender: int = Field(
        default=30, ge=1, le=5000, description="messages one sender may send per window, in all"
    )
    chat_answer_timeout_s: float = Field(
        default=120.0,
        gt=0,
        le=1800,
        description="an answer still unfinished after this is stopped and a person offered",
    )
    conversation_retention_days: int = Field(
        default=90, ge=1, le=3650, description="closed conversations are deleted after this"
    )
    conversation_idle_close_hours: float = Field(
        default=24.0, gt=0, le=24 * 90, description="an open conversation silent this long closes"
    )
    conversation_retention_interval_s: float = Field(default=300.0, gt=0, le=86_400)

    @field_validator("handover_amount_limit")
    @classmethod
    def _limits_parse(cls, value: str) -> str:
        parse_amount_limits(value)
        return value

    def llm_config(self) -> ModelConfig | None:
        """How to reach the model, or None when no model is configured."""
        if not self.llm_base_url:
            return None
        return ModelConfig(
            base_url=self.llm_base_url,
            model=self.llm_model,
            provider=self.llm_provider,
            api_key=self.llm_api_key.get_secret_value() if self.llm_api_key else None,
            connect_timeout_s=self.llm_connect_timeout_s,
            first_token_timeout_s=self.llm_first_token_timeout_s,
            idle_timeout_s=self.llm_idle_timeout_s,
            reply_timeout_s=self.llm_reply_timeout_s,
            max_retries=self.llm_max_retries,
            retry_backoff_s=self.llm_retry_backoff_s,
            max_reply_tokens=self.llm_max_reply_tokens,
            temperature=self.llm_temperature,
        )

    def assistant_policy(self) -> AssistantPolicy:
        return AssistantPolicy(
            tool_calling=ToolCalling(self.llm_tool_calling),
            guided_answers=GuidedAnswers(self.llm_guided_answers),
            min_confidence=self.assistant_min_confidence,
            low_confidence_turns=self.assistant_low_confidence_turns,
            amount_limits=parse_amount_limits(self.handover_amount_limit),
            token_budget=self.llm_token_budget,
            max_reply_tokens=self.llm_max_reply_tokens,
            guided_reply_tokens=self.llm_guided_reply_tokens,
            history_turns=self.assistant_history_turns,
            model_cooldown_s=self.llm_cooldown_s,
        )

    def chat_limits(self) -> ChatLimits:
        return ChatLimits(
            max_chars=self.chat_max_message_chars,
            per_conversation=self.chat_messages_per_conversation,
            per_sender=self.chat_messages_per_sender,
            window_s=self.chat_rate_window_s,
            answer_stale_s=self.chat_answer_timeout_s + 30,
        )

    def development_defaults(self) -> list[str]:
        url = self.llm_base_url or ""
        if self.llm_api_key and urlsplit(url).scheme == "http" and not is_loopback_url(url):
            return [
                f"AGORA_SUPPORT_LLM_BASE_URL={url}: the API key would travel unencrypted; use https"
            ]
        return []
