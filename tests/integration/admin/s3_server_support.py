"""A local S3-compatible server for the media store's tests: moto's server in a subprocess,
speaking the S3 REST protocol on a loopback port (importable by name)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import boto3
import httpx

from agora.platform.net import free_port

STARTUP_TIMEOUT_S = 30.0
ACCESS_KEY_ID = "agora-test-key"
SECRET_ACCESS_KEY = "agora-test-secret"
REGION = "us-east-1"


@contextlib.asynccontextmanager
async def s3_server() -> AsyncIterator[str]:
    """The endpoint URL of a fresh S3-compatible server, stopped on exit."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "moto.server",
        "-H",
        "127.0.0.1",
        "-p",
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        await _ready(endpoint, process)
        yield endpoint
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _ready(endpoint: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(timeout=1) as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, "the S3 server exited"
            with contextlib.suppress(httpx.TransportError):
                await http.get(f"{endpoint}/moto-api/")
                return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"no S3 server at {endpoint}")


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client of the server: an independent look at what the store wrote."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name=REGION,
    )
