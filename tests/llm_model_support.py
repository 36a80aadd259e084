"""A real local model for tests: the embedded SmolLM2-135M-Instruct under llama.cpp's
OpenAI-compatible server, started with the same command line `agora up` runs, on a free port.

`running_local_model()` starts one (1-2 s on a quiet machine) and stops it after the block; the
session fixture `local_model` (tests/conftest.py) starts it at most once per test session, or
uses `AGORA_TEST_LLM_BASE_URL` (and `AGORA_TEST_LLM_MODEL`) when set. The model is tiny and weak:
assert on the protocol (streaming, usage, finish reasons), never on what it says.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agora.platform.embedded.llm import (
    LLM_PORT_VARIABLE,
    SUPPORT_LLM_BASE_URL_VARIABLE,
    SUPPORT_LLM_MODEL_VARIABLE,
    EmbeddedModel,
)
from agora.platform.net import free_port
from agora.platform.supervisor import spawn_command

READY_TIMEOUT_S = 120.0  # the load takes 1-2 s alone, far longer on a machine running the suite


@dataclass(frozen=True)
class LocalModel:
    """A running OpenAI-compatible model server: `base_url` ends in `/v1`; ask for `model`."""

    base_url: str
    model: str

    def environment(self) -> dict[str, str]:
        """The variables that point the support service at this model (as `agora up` sets)."""
        return {
            SUPPORT_LLM_BASE_URL_VARIABLE: self.base_url,
            SUPPORT_LLM_MODEL_VARIABLE: self.model,
        }


def model_is_served(base_url: str, model: str) -> bool:
    """True when `GET <base_url>/models` lists `model` (llama.cpp answers 503 while loading)."""
    try:
        reply = httpx.get(f"{base_url}/models", timeout=2)
        return reply.status_code == 200 and model in {m["id"] for m in reply.json()["data"]}
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False


@contextmanager
def running_local_model(log_dir: Path, *, threads: int | None = None) -> Iterator[LocalModel]:
    """The embedded model on a free port until the block exits; its log in `log_dir`."""
    environment = {LLM_PORT_VARIABLE: str(free_port())}
    if threads is not None:
        environment["AGORA_LLM_THREADS"] = str(threads)
    server = EmbeddedModel.from_environment(environment)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"llm-{server.port}.log"
    argv, kwargs = spawn_command(server.command(), {}, signal.SIGTERM)
    with log.open("ab") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, **kwargs)
    try:
        _wait_until_served(process, server, log)
        yield LocalModel(server.base_url, server.name)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_served(process: subprocess.Popen[bytes], server: EmbeddedModel, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not model_is_served(server.base_url, server.name):
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the model server exited with {process.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the model server not ready after {READY_TIMEOUT_S:g}s (log: {log})"
            )
        time.sleep(0.1)
