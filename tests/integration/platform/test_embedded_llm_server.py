"""The embedded local model (llama.cpp serving SmolLM2-135M-Instruct) as `agora up` runs it:
supervised, healthy once it lists the model, answering the OpenAI Chat Completions protocol
(streamed over SSE, with token usage) until it is stopped.

The model is tiny and weak: these tests check the protocol, never the wording of an answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from llm_model_support import LocalModel

from agora.platform.embedded.llm import bundled_model_file
from agora.platform.net import free_port, port_is_free
from agora.platform.stack import llm_spec
from agora.platform.supervisor import Supervisor

SUPPORT_PROMPT = (
    "You are the customer support assistant of Agora, an online shop. Answer in one or two "
    "short sentences. Order 1042 was shipped yesterday with tracking number TR-88812."
)


def chat_request(question: str, *, max_tokens: int, stream: bool) -> dict[str, Any]:
    request: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": SUPPORT_PROMPT},
            {"role": "user", "content": question},
        ],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
    }
    if stream:
        request["stream_options"] = {"include_usage": True}
    return request


async def streamed_chat(base_url: str, model: str, request: dict[str, Any]) -> list[str]:
    """The `data:` payloads of a streamed chat completion, in order (the last is `[DONE]`)."""
    payloads = []
    async with (
        httpx.AsyncClient(timeout=120) as client,
        client.stream(
            "POST", f"{base_url}/chat/completions", json={**request, "model": model}
        ) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                payloads.append(line.removeprefix("data: "))
    return payloads


async def test_agora_ups_model_process_streams_a_chat_answer_with_its_token_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGORA_SUPPORT_LLM_BASE_URL", raising=False)
    monkeypatch.setenv("AGORA_LLM_PORT", str(free_port()))
    spec = llm_spec()
    supervisor = Supervisor(tmp_path / "logs")
    await supervisor.start([spec])
    try:
        (row,) = supervisor.snapshot()
        assert row["state"] == "healthy"
        payloads = await streamed_chat(
            spec.url,
            "smollm2-135m-instruct",
            chat_request("Where is my order?", max_tokens=48, stream=True),
        )
    finally:
        await supervisor.stop()

    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    deltas = [c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]]
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    (usage,) = [c["usage"] for c in chunks if c.get("usage")]
    assert "".join(deltas).strip(), "a non-empty answer, streamed in pieces"
    assert sum(1 for d in deltas if d) >= 2
    assert finish[-1] in {"stop", "length"}
    assert all(c["model"] == "smollm2-135m-instruct" for c in chunks)
    assert usage["prompt_tokens"] >= 40, "the system prompt and the question were counted"
    assert 1 <= usage["completion_tokens"] <= 48
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert not psutil.pid_exists(row["pid"]), "stopped with the supervisor"
    assert port_is_free(urlsplit(spec.url).port or 0)


def test_the_session_model_answers_a_chat_with_usage(local_model: LocalModel) -> None:
    reply = httpx.post(
        f"{local_model.base_url}/chat/completions",
        json={
            **chat_request("Can I cancel it?", max_tokens=24, stream=False),
            "model": local_model.model,
        },
        timeout=120,
    )

    assert reply.status_code == 200, reply.text
    body = reply.json()
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].strip()
    assert choice["finish_reason"] in {"stop", "length"}
    assert 1 <= body["usage"]["completion_tokens"] <= 24


def test_an_answer_longer_than_max_tokens_is_cut_and_says_so(local_model: LocalModel) -> None:
    request = chat_request("List twenty things I can buy in your shop.", max_tokens=5, stream=False)

    body = httpx.post(
        f"{local_model.base_url}/chat/completions",
        json={**request, "model": local_model.model},
        timeout=120,
    ).json()

    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 5


def test_the_model_server_refuses_a_held_port_with_a_clear_error(held_port: int) -> None:
    command = [sys.executable, "-m", "agora.platform.embedded.llm", str(bundled_model_file())]

    result = subprocess.run(
        [*command, "--name", "m", "--port", str(held_port)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert f"the model server did not start on port {held_port}" in result.stderr
    assert "couldn't bind HTTP server socket" in result.stderr
