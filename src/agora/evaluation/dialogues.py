"""`agora support eval`: the scripted support dialogues (the TOML files in
`agora/support/dialogues/`) played against the evaluation shop by the real assistant, with the
configured model or templates only, and scored by `agora.support.dialogue_eval`.

Dialogues run one after another (the timings are one conversation's, not a load test), each on
a fresh shop and a fresh conversation. The model is wrapped to time every request: time to its
first token, and its decoding speed after that.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from importlib.resources import files

import structlog

from agora.platform.errors import InvalidArgument
from agora.support.assistant import (
    Assistant,
    AssistantPolicy,
    ConfirmationRequest,
    HandoverChange,
    ReplyRecord,
    TextDelta,
)
from agora.support.conversation import ConversationState
from agora.support.dialogue_eval import (
    DialogueRun,
    DialogueSpec,
    ModelTiming,
    ObservedCall,
    Report,
    SuiteError,
    TurnObservation,
    TurnSpec,
    parse_suite,
    summarise,
)
from agora.support.evaluation_shop import (
    CATALOGUE,
    ORDERS,
    EvaluationShop,
    others_facts,
    placeholders,
)
from agora.support.llm import ChatMessage, ChatModel, ModelDelta, ModelEvent, ModelReply, ToolSpec

log = structlog.get_logger(__name__)
SUITE_DIRECTORY = "dialogues"


def load_suite() -> list[DialogueSpec]:
    """Every dialogue of the packaged suite, file by file in name order; SuiteError when a
    file is malformed or two dialogues share an id."""
    directory = files("agora.support").joinpath(SUITE_DIRECTORY)
    paths = sorted(
        (p for p in directory.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name
    )
    values = placeholders()
    orders = [o.key for o in ORDERS]
    products = [p.key for p in CATALOGUE]
    dialogues: list[DialogueSpec] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        dialogues += parse_suite(text, path.name, values, orders=orders, products=products)
    seen: set[str] = set()
    for d in dialogues:
        if d.id in seen:
            raise SuiteError(f"two dialogues are called {d.id!r}")
        seen.add(d.id)
    return dialogues


class TimedModel(ChatModel):
    """`model`, with each request's time to first token, duration and tokens written kept in
    `timings`."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.name = model.name
        self.timings: list[ModelTiming] = []

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int | None = None,
    ) -> AsyncGenerator[ModelEvent, None]:
        started = time.perf_counter()
        first: float | None = None
        written = 0
        try:
            async for event in self.model.stream(messages, tools=tools, max_tokens=max_tokens):
                if isinstance(event, ModelDelta) and first is None:
                    first = time.perf_counter() - started
                if isinstance(event, ModelReply):
                    written = event.usage.completion_tokens
                yield event
        finally:
            self.timings.append(ModelTiming(first, time.perf_counter() - started, written))

    async def aclose(self) -> None:
        await self.model.aclose()


@dataclass(frozen=True)
class SuiteRun:
    report: Report
    runs: tuple[DialogueRun, ...]
    model: str  # "" for templates only
    mode: str
    seconds: float


async def run_suite(
    dialogues: Sequence[DialogueSpec], model: ChatModel | None, policy: AssistantPolicy
) -> SuiteRun:
    """Play every dialogue with one assistant (as the service has one), then score."""
    timed = TimedModel(model) if model is not None else None
    assistant = Assistant(timed, policy)
    started = time.perf_counter()
    runs = tuple([await play(d, assistant, timed) for d in dialogues])
    return SuiteRun(
        report=summarise(runs),
        runs=runs,
        model=model.name if model is not None else "",
        mode=assistant.mode.value,
        seconds=time.perf_counter() - started,
    )


async def play(spec: DialogueSpec, assistant: Assistant, timed: TimedModel | None) -> DialogueRun:
    """One dialogue on a fresh shop, the conversation's state carried from turn to turn."""
    shop = EvaluationShop.signed_in(spec.customer)
    state = ConversationState()
    observed = []
    for turn in spec.turns:
        seen, state = await _play_turn(turn, assistant, shop, state, timed)
        observed.append(seen)
    return DialogueRun(spec, tuple(observed), others_facts(spec.customer))


async def _play_turn(
    turn: TurnSpec,
    assistant: Assistant,
    shop: EvaluationShop,
    state: ConversationState,
    timed: TimedModel | None,
) -> tuple[TurnObservation, ConversationState]:
    calls_before = len(shop.calls)
    timings_before = len(timed.timings) if timed is not None else 0
    started = time.perf_counter()
    first_text: float | None = None
    confirmation = False
    reason: str | None = None
    record: ReplyRecord | None = None
    invalid = False
    error = ""
    try:
        async for out in assistant.respond(state, turn.say, shop):
            match out:
                case TextDelta() if first_text is None:
                    first_text = time.perf_counter() - started
                case ConfirmationRequest():
                    confirmation = True
                case HandoverChange(reason=why):
                    reason = why.value
                case ReplyRecord():
                    record = out
    except InvalidArgument:
        invalid = True
    except Exception as exc:  # a crash is scored as a failed turn, and the run goes on
        log.exception("support.eval_turn_failed")
        error = type(exc).__name__
    calls = tuple(ObservedCall(c.tool, c.target, c.outcome) for c in shop.calls[calls_before:])
    timings = tuple(timed.timings[timings_before:]) if timed is not None else ()
    seen = TurnObservation(
        text=record.text if record is not None else "",
        calls=calls,
        confirmation=confirmation,
        handover_reason=reason,
        offered=record.handover_offered if record is not None else False,
        answered=record.answered if record is not None else False,
        invalid=invalid,
        tokens_in=record.usage.prompt_tokens if record is not None else 0,
        tokens_out=record.usage.completion_tokens if record is not None else 0,
        first_text_s=first_text,
        model_calls=timings,
        degraded=record.degraded if record is not None else False,
        model_used=record.model_used if record is not None else False,
        unfaithful=record.unfaithful if record is not None else False,
        error=error,
    )
    return seen, record.state if record is not None else state
