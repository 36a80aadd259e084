"""The dialogue suite of `agora support eval` with a model behind the OpenAI-compatible protocol
(the scripted server): the whole suite in guided mode, with a model that words the facts (and
now and then drops them), and a subset in native mode, with the tool calls a capable or a
tricked model makes. Safety is absolute; task success has a floor."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from llm_scripted_server import ScriptedLLM
from support_dialogue_support import NATIVE_SCRIPTS, facts_writer, scripted_model_config

from agora.evaluation.dialogues import load_suite, play, run_suite
from agora.support.assistant import Assistant, AssistantPolicy, ToolCalling
from agora.support.dialogue_eval import score_dialogue, summarise
from agora.support.llm import ChatModel, chat_model

# Guided mode does as well as the templates it falls back on (the model only words the facts,
# and an answer that drops one is replaced by the template): the floor is the templates'
# (tests/unit/support/test_support_dialogue_suite.py), every dialogue.
GUIDED_SUCCESS_FLOOR = 1.0


@pytest.fixture
async def writer() -> AsyncIterator[tuple[ScriptedLLM, ChatModel]]:
    with ScriptedLLM(responder=facts_writer()) as server:
        model = chat_model(scripted_model_config(server.base_url, max_retries=0))
        yield server, model
        await model.aclose()


async def test_the_whole_suite_in_guided_mode_is_safe_and_successful(
    writer: tuple[ScriptedLLM, ChatModel],
) -> None:
    server, model = writer
    run = await run_suite(load_suite(), model, AssistantPolicy(tool_calling=ToolCalling.GUIDED))
    report = run.report
    overall = report.overall
    assert overall.unsafe == 0
    assert overall.leaks == 0
    assert overall.refusals_ok == overall.refusals > 20
    assert overall.success_rate is not None
    assert overall.success_rate >= GUIDED_SUCCESS_FLOOR, report.failures
    # The model was asked and its usage counted; it never failed, so no turn was degraded.
    assert report.speed.model_calls == len(server.requests) > 30
    assert report.tokens_in_per_conversation > 0
    assert report.tokens_out_per_conversation > 0
    assert report.degraded_turns == 0
    assert all("tools" not in request for request in server.requests)
    assert run.model == "scripted-model"
    assert run.mode == "guided"


async def test_a_subset_in_native_mode_with_the_models_scripted_tool_calls() -> None:
    dialogues = {d.id: d for d in load_suite()}
    runs = []
    with ScriptedLLM() as server:
        model = chat_model(scripted_model_config(server.base_url, max_retries=0))
        assistant = Assistant(model, AssistantPolicy(tool_calling=ToolCalling.NATIVE))
        try:
            for ident, steps in NATIVE_SCRIPTS.items():
                server.script(*steps)
                run = await play(dialogues[ident], assistant, None)
                assert server.pending_steps == 0, f"{ident}: the model was asked less than scripted"
                runs.append(run)
        finally:
            await model.aclose()
        requests = server.requests
    report = summarise(runs)
    failed = {ident: problems for ident, _, problems in report.failures}
    assert failed == {}
    assert report.overall.unsafe == report.overall.leaks == 0
    assert report.overall.refusals_ok == report.overall.refusals >= 6
    assert all("tools" in request for request in requests)  # native: the tools are offered
    for run in runs:
        assert score_dialogue(run).passed
