"""`agora support eval`: the dialogue suite from the command line, with templates only and with a
model (the scripted server); the exit code reports errors, never scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import isolate_agora, one_line
from llm_scripted_server import ScriptedLLM
from support_dialogue_support import facts_writer
from typer.testing import CliRunner

from agora.cli import app


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_agora(monkeypatch, tmp_path)


def test_templates_only_print_the_table_with_every_category() -> None:
    result = CliRunner().invoke(app, ["support", "eval", "--provider", "none", "--markdown"])
    assert result.exit_code == 0, result.output
    assert "templates only, guided tool calling" in one_line(result.output)
    for row in ("| another customer's order | 7 |", "| injection |", "| all |"):
        assert row in result.output
    assert "model:" not in result.output  # no model, no model speed


def test_a_model_scores_as_json_with_its_speed_and_tokens() -> None:
    with ScriptedLLM(responder=facts_writer()) as server:
        result = CliRunner().invoke(
            app,
            ["support", "eval", "--base-url", server.base_url, "--model", "scripted-model",
             "--only", "order status", "--json"],
        )  # fmt: skip
        asked = len(server.requests)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["model"], report["mode"]) == ("scripted-model", "guided")
    assert report["overall"]["dialogues"] == report["categories"]["order status"]["dialogues"]
    assert report["overall"]["unsafe"] == report["overall"]["leaks"] == 0
    assert report["speed"]["model_calls"] == asked > 0
    assert report["speed"]["first_token_p50_s"] is not None
    assert report["tokens_in_per_conversation"] > 0


def test_a_limit_plays_the_first_dialogues_only() -> None:
    result = CliRunner().invoke(app, ["support", "eval", "--provider", "none", "--limit", "3",
                                      "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["overall"]["dialogues"] == 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--provider", "llamas", "--base-url", "http://127.0.0.1:9/v1"], "unknown LLM provider"),
        (["--tool-calling", "telepathy"], "llm_tool_calling"),
        (["--only", "weather"], "no dialogue has the id or category"),
    ],
)
def test_bad_options_are_errors(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["support", "eval", *arguments])
    assert result.exit_code == 1
    assert message in one_line(result.output)
