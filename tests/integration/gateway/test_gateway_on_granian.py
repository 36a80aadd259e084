"""The gateway served by real granian processes on free ports."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from granian_process import granian_testshop, stop, wait_until_healthy
from testshop_backend import RunningShop

from agora.gateway.descriptors import default_pool, files_of, read_descriptor_set
from agora.gateway.transcoding import build_routes
from agora.platform.net import free_port


@pytest.fixture
async def granian_gateway(testshop_descriptor_path: Path, shop: RunningShop) -> AsyncIterator[str]:
    async with granian_testshop(testshop_descriptor_path, shop.address) as base_url:
        yield base_url


async def test_transcoding_over_real_http(granian_gateway: str, shop: RunningShop) -> None:
    shop.backend.item("kettle", "Kettle", 2500)
    async with httpx.AsyncClient(base_url=granian_gateway) as http:
        got = await http.get("/v1/items/kettle", headers={"X-Request-Id": "over-http"})
        created = await http.post("/v1/items", json={"item": {"slug": "pan", "title": "Pan"}})
        missing = await http.get("/v1/items/none")
        ready = await http.get("/readyz")

    assert got.status_code == 200
    assert got.json()["price"]["amountMinor"] == "2500"
    assert got.headers["x-request-id"] == "over-http"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert created.json()["slug"] == "pan"
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert ready.status_code == 200


async def test_bootstrap_serves_agora_protos_with_granian_workers(
    shop: RunningShop, nats_url: str, tmp_path: Path
) -> None:
    port = free_port()
    backends = {r.backend for r in build_routes(files_of(read_descriptor_set(), default_pool()))}
    env = {
        **os.environ,
        # Two workers share an embedded Redis for their rate limits, kept under the data dir.
        "AGORA_DATA_DIR": str(tmp_path / "var"),
        "AGORA_NATS_URL": nats_url,
        "AGORA_GATEWAY_PORT": str(port),
        "AGORA_GATEWAY_WORKERS": "2",
        # Every backend answers health checks through the test shop's server.
        **{f"AGORA_{name.upper()}_ADDRESS": shop.address for name in backends},
    }
    code = (
        "from agora.gateway.bootstrap import serve\n"
        "from agora.gateway.settings import GatewaySettings\n"
        "from agora.platform.settings import PlatformSettings\n"
        "serve(PlatformSettings(), GatewaySettings())\n"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_healthy(base_url, process)
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
            spec = (await http.get("/api/openapi.json")).json()
            ready = await http.get("/readyz")
    finally:
        await stop(process)

    assert spec["openapi"] == "3.1.0"
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["backends"]) == backends
