"""Chat models behind one small interface, chosen by configuration, registered by entry point.

`ChatModel.stream` sends a conversation (and, in native mode, the tools it may call) and yields
the answer's text as it is generated (`ModelDelta`), then one `ModelReply` with the whole text,
the tool calls and the tokens used. Failures are one exception, `ModelUnavailable`, raised only
after bounded retries with backoff, and only retried while nothing has reached the customer.

Built in: `openai`, the OpenAI-compatible Chat Completions API through the official SDK, which
llama.cpp's server (the embedded xllamacpp), vLLM, Ollama, OpenAI, Mistral and others speak.
Others register under the `agora.llm_providers` entry-point group as a factory
`(ModelConfig) -> ChatModel`.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import json
import random
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionChunk

ENTRY_POINT_GROUP = "agora.llm_providers"
OPENAI_COMPATIBLE = "openai"

T = TypeVar("T")

# Rough tokens per character of English text, for budgets when a server reports no usage.
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class ModelConfig:
    """How to reach a model. Timeouts: `connect_timeout_s` to open the connection,
    `first_token_timeout_s` from sending the request to the first streamed chunk,
    `idle_timeout_s` between chunks, `reply_timeout_s` for a whole reply."""

    base_url: str
    model: str
    provider: str = OPENAI_COMPATIBLE
    api_key: str | None = field(default=None, repr=False)
    connect_timeout_s: float = 5.0
    first_token_timeout_s: float = 20.0
    idle_timeout_s: float = 15.0
    reply_timeout_s: float = 60.0
    max_retries: int = 1
    retry_backoff_s: float = 0.5
    retry_backoff_max_s: float = 8.0
    max_reply_tokens: int = 400
    temperature: float = 0.2


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call: `parameters` is its arguments' JSON Schema."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for; `arguments` is the model's raw JSON text, unvalidated."""

    id: str
    name: str
    arguments: str


Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""  # the call a `tool` message answers


@dataclass(frozen=True)
class Usage:
    """Tokens of one or more model calls; `estimated` when a server did not report them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.estimated or other.estimated,
        )


@dataclass(frozen=True)
class ModelDelta:
    """A piece of the answer's text, as generated."""

    text: str


@dataclass(frozen=True)
class ModelReply:
    """The end of one reply: its whole text, the tool calls, usage, and how many attempts it
    took (1 without retries)."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str
    attempts: int = 1


ModelEvent = ModelDelta | ModelReply


class Failure(StrEnum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    REJECTED = "rejected"  # the server refused the request (4xx): retrying cannot help
    BUDGET = "budget"  # the conversation's token budget is spent
    EMPTY = "empty"  # the model answered nothing
    COOLDOWN = "cooldown"  # not asked: it failed moments ago


TRANSIENT = frozenset({Failure.TIMEOUT, Failure.CONNECTION, Failure.RATE_LIMITED,
                       Failure.SERVER_ERROR})  # fmt: skip


class ModelUnavailable(Exception):
    """No (complete) answer from the model. `partial` when some text was already streamed."""

    def __init__(
        self, failure: Failure, detail: str = "", *, attempts: int = 1, partial: bool = False
    ) -> None:
        super().__init__(f"model unavailable ({failure.value}): {detail}".rstrip(": "))
        self.failure = failure
        self.detail = detail
        self.attempts = attempts
        self.partial = partial


class ChatModel(ABC):
    """A chat model: one streamed reply per call."""

    name: str

    @abstractmethod
    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int | None = None,
    ) -> AsyncGenerator[ModelEvent, None]:
        """Yield the reply's text deltas then one ModelReply; ModelUnavailable on failure.
        Closing the generator early (`aclose`) ends the request."""

    async def aclose(self) -> None:
        """Release connections (idempotent)."""
        return None


@dataclass(frozen=True)
class TokenBudget:
    """The tokens a conversation may still spend on the model: `limit` in all, `used` so far."""

    limit: int
    used: int = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def allows(self, messages: Sequence[ChatMessage], reply_tokens: int) -> bool:
        """True when a call with `messages` and up to `reply_tokens` fits what is left."""
        return estimate_tokens(messages) + reply_tokens <= self.remaining

    def spent(self, usage: Usage) -> TokenBudget:
        return replace(self, used=self.used + usage.total)


def estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    """An upper-side estimate of the prompt's tokens (a few per message for the framing)."""
    chars = sum(len(m.content) + sum(len(c.arguments) for c in m.tool_calls) for m in messages)
    return chars // CHARS_PER_TOKEN + 4 * len(messages)


def retry_delay(attempt: int, config: ModelConfig, retry_after_s: float | None = None) -> float:
    """Seconds before retry `attempt` (1-based): exponential with full jitter, or the
    server's Retry-After, capped at `retry_backoff_max_s` either way."""
    if retry_after_s is not None and retry_after_s >= 0:
        return min(retry_after_s, config.retry_backoff_max_s)
    ceiling = min(config.retry_backoff_s * 2 ** (attempt - 1), config.retry_backoff_max_s)
    return random.uniform(ceiling / 2, ceiling)


class _Transient(Exception):
    """A failure worth another attempt (if nothing was streamed yet)."""

    def __init__(self, failure: Failure, detail: str, retry_after_s: float | None = None):
        super().__init__(detail)
        self.failure = failure
        self.detail = detail
        self.retry_after_s = retry_after_s


class OpenAICompatibleModel(ChatModel):
    """Chat Completions with streaming (`stream_options.include_usage`) and native tool calls,
    through the `openai` SDK with its own retries off: retries are ours, bounded, and never
    repeat an answer the customer has started to read."""

    def __init__(self, config: ModelConfig) -> None:
        import httpx2  # the SDK's HTTP client
        import openai

        self.config = config
        self.name = config.model
        self._openai = openai
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url,
            # Local servers need no key; the SDK insists on one.
            api_key=config.api_key or "not-needed",
            max_retries=0,
            timeout=httpx2.Timeout(
                config.reply_timeout_s,
                connect=config.connect_timeout_s,
                read=max(config.first_token_timeout_s, config.idle_timeout_s),
            ),
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int | None = None,
    ) -> AsyncGenerator[ModelEvent, None]:
        attempt = 0
        while True:
            attempt += 1
            streamed = False
            try:
                async with aclosing(self._attempt(messages, tools, max_tokens)) as events:
                    async for event in events:
                        if isinstance(event, ModelReply):
                            yield replace(event, attempts=attempt)
                            return
                        streamed = True
                        yield event
                return
            except _Transient as failure:
                if streamed or attempt > self.config.max_retries:
                    raise ModelUnavailable(
                        failure.failure, failure.detail, attempts=attempt, partial=streamed
                    ) from failure
                await asyncio.sleep(retry_delay(attempt, self.config, failure.retry_after_s))

    async def _attempt(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], max_tokens: int | None
    ) -> AsyncGenerator[ModelEvent, None]:
        config = self.config
        now = time.monotonic()
        deadline = now + config.reply_timeout_s
        first_deadline = min(now + config.first_token_timeout_s, deadline)
        request: dict[str, Any] = {
            "model": config.model,
            "messages": [_message_json(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_tokens or config.max_reply_tokens,
            "temperature": config.temperature,
        }
        if tools:
            request["tools"] = [_tool_json(t) for t in tools]
        create: Any = self._client.chat.completions.create
        chunks = await self._guarded(create(**request), first_deadline)
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage: Usage | None = None
        finish = ""
        try:
            while True:
                # Each wait is bounded on its own: a timeout never spans a yield to the caller.
                waited = time.monotonic() + config.idle_timeout_s
                until = first_deadline if not text and not calls else waited
                try:
                    chunk: ChatCompletionChunk = await self._guarded(
                        chunks.__anext__(), min(until, deadline)
                    )
                except StopAsyncIteration:
                    break
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    finish = choice.finish_reason or finish
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        yield ModelDelta(delta.content)
                    for call in delta.tool_calls or ():
                        entry = calls.setdefault(call.index, {"id": "", "name": "", "args": ""})
                        entry["id"] = call.id or entry["id"]
                        if call.function is not None:
                            entry["name"] += call.function.name or ""
                            entry["args"] += call.function.arguments or ""
        finally:
            await chunks.close()
        full = "".join(text)
        tool_calls = tuple(
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["args"])
            for i, c in sorted(calls.items())
        )
        yield ModelReply(full, tool_calls, usage or _estimated(messages, full), finish)

    async def _guarded(self, step: Awaitable[T], until: float) -> T:
        """`step`, given until the monotonic time `until`; SDK and timeout errors turned into
        _Transient or ModelUnavailable(REJECTED)."""
        openai = self._openai
        timeout_s = until - time.monotonic()
        try:
            if timeout_s <= 0:
                raise TimeoutError
            return await asyncio.wait_for(step, timeout=timeout_s)
        except TimeoutError:
            if inspect.iscoroutine(step):
                step.close()  # never awaited: no "coroutine was never awaited" warning
            raise _Transient(Failure.TIMEOUT, "the model did not answer in time") from None
        except openai.APITimeoutError as exc:
            raise _Transient(Failure.TIMEOUT, str(exc)) from exc
        except openai.APIConnectionError as exc:
            raise _Transient(Failure.CONNECTION, str(exc)) from exc
        except openai.APIStatusError as exc:
            raise _status_failure(exc) from exc
        except openai.APIError as exc:
            # An error event inside the stream: the server failed mid-answer.
            raise _Transient(Failure.SERVER_ERROR, exc.message) from exc


def _status_failure(exc: openai.APIStatusError) -> Exception:
    status = exc.status_code
    detail = f"HTTP {status}"
    if status == 429:
        return _Transient(Failure.RATE_LIMITED, detail, _retry_after(exc))
    if status >= 500 or status in (408, 409):
        return _Transient(Failure.SERVER_ERROR, detail, _retry_after(exc))
    return ModelUnavailable(Failure.REJECTED, f"{detail}: {exc.message}"[:300])


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after", "")
    try:
        return float(value)
    except ValueError:
        return None


def _estimated(messages: Sequence[ChatMessage], reply: str) -> Usage:
    return Usage(estimate_tokens(messages), len(reply) // CHARS_PER_TOKEN + 1, estimated=True)


def _message_json(message: ChatMessage) -> dict[str, Any]:
    body: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        body["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]  # fmt: skip
    if message.role == "tool":
        body["tool_call_id"] = message.tool_call_id
    return body


def _tool_json(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": json.loads(json.dumps(tool.parameters)),
        },
    }


ModelFactory = Callable[[ModelConfig], ChatModel]
BUILT_IN: Mapping[str, ModelFactory] = {OPENAI_COMPATIBLE: OpenAICompatibleModel}


def chat_model(config: ModelConfig) -> ChatModel:
    """The model `config.provider` names: an entry point of `agora.llm_providers` first, then
    the built-in ones; ValueError for an unknown name."""
    registered = {e.name: e for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    if config.provider in registered:
        factory: ModelFactory = registered[config.provider].load()
    elif config.provider in BUILT_IN:
        factory = BUILT_IN[config.provider]
    else:
        known = sorted({*registered, *BUILT_IN})
        raise ValueError(f"unknown LLM provider {config.provider!r} (known: {', '.join(known)})")
    return factory(config)
