"""The gateway for the test shop in a real granian process (`granian_testshop.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx

from agora.platform.net import free_port

HERE = Path(__file__).parent


async def wait_until_healthy(base_url: str, process: asyncio.subprocess.Process) -> None:
    # Async: the test shop's gRPC server runs on this event loop and must keep answering.
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=base_url, timeout=0.5) as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, "the gateway process exited"
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{base_url} never became healthy")


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def granian_testshop(
    descriptor_path: Path, backend_address: str, env: Mapping[str, str] | None = None
) -> AsyncIterator[str]:
    """The base URL of a granian gateway for the test shop at `backend_address`, with `env`
    (`AGORA_GATEWAY_*` settings) added to this process's environment."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            str(HERE / "granian_testshop.py"),
            str(descriptor_path),
            backend_address,
            str(port),
        ],
        cwd=HERE,
        env={**os.environ, **(env or {})},
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_healthy(base_url, process)
        yield base_url
    finally:
        await stop(process)
