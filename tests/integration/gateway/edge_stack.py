"""Agora's services for real behind the real gateway, over HTTP, for the edge tests.

Catalog, orders, payments, auth, chain, support and admin run in this process through their own
composition roots (`agora.<name>.bootstrap.run`: migrations, security interceptor, consumers),
on free ports of the session's PostgreSQL and NATS; the gateway runs on granian in a subprocess,
finding them at static addresses. It trusts loopback as a reverse proxy, so a test chooses the
client address it stands for with `X-Forwarded-For` (rate limits count per address: tests keep
apart that way).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agora.admin.settings import AdminSettings
from agora.auth.settings import AuthSettings
from agora.catalog.settings import CatalogSettings
from agora.chain.settings import ChainSettings
from agora.orders.settings import OrdersSettings
from agora.payments.settings import PaymentsSettings
from agora.platform.net import free_port
from agora.platform.services import grpc_serving
from agora.platform.settings import PlatformSettings, ServiceSettings
from agora.support.settings import SupportSettings

STARTUP_TIMEOUT_S = 120.0
# Auth locks an account and address after two wrong passwords in a row, for a minute.
AUTH_SETTINGS: dict[str, Any] = {
    "require_verified_email": False,
    "lockout_free_attempts": 2,
    "lockout_account_free_attempts": 1000,
    "lockout_base_delay_s": 60.0,
}

ADMIN_MEDIA_MAX_BYTES = 64 * 1024


def _settings(name: str, port: int) -> ServiceSettings:
    match name:
        case "catalog":
            return CatalogSettings(port=port)
        case "orders":
            return OrdersSettings(port=port)
        case "payments":
            return PaymentsSettings(port=port)
        case "auth":
            return AuthSettings(port=port, **AUTH_SETTINGS)
        case "support":
            return SupportSettings(port=port)
        case "admin":
            # Uploads in a directory of their own, under a limit a test can exceed cheaply.
            media = Path(tempfile.mkdtemp(prefix="agora-edge-media-"))
            return AdminSettings(port=port, media_dir=media, media_max_bytes=ADMIN_MEDIA_MAX_BYTES)
        case "chain":
            # No node: the routes are checked, not the chain (the watcher retries in the
            # background). The development keystore is created in a directory of its own.
            secrets = Path(tempfile.mkdtemp(prefix="agora-edge-chain-"))
            return ChainSettings(
                port=port,
                rpc_url=f"http://127.0.0.1:{free_port()}",
                keystore_file=secrets / "keystore.json",
                passphrase_file=secrets / "keystore.passphrase",
            )
    raise ValueError(name)


SERVICES = ("catalog", "orders", "payments", "auth", "chain", "support", "admin")


@dataclass(frozen=True)
class EdgeStack:
    """The running stack: the gateway's base URL, the services' addresses and database."""

    base_url: str
    addresses: Mapping[str, str]
    database_url: str

    def client(self, client_ip: str) -> httpx.AsyncClient:
        """An HTTP client whose requests stand for `client_ip` (the gateway trusts loopback)."""
        return httpx.AsyncClient(
            base_url=self.base_url,
            timeout=15,
            headers={"X-Forwarded-For": client_ip, "User-Agent": "agora-edge-tests/1"},
        )


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@asynccontextmanager
async def edge_stack(database_url: str, nats_url: str) -> AsyncIterator[EdgeStack]:
    """Start the services and the gateway; stop everything on exit."""
    ports = {name: free_port() for name in SERVICES}
    addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    static = {f"AGORA_{name.upper()}_ADDRESS": address for name, address in addresses.items()}
    platform = PlatformSettings(
        env="test", database_url=database_url, nats_url=nats_url, discovery=False
    )
    tasks: list[asyncio.Task[None]] = []
    gateway: asyncio.subprocess.Process | None = None
    try:
        # The services read the static addresses as they start; later tests must not see them.
        with _environment(static):
            # One after the other: Alembic's migration context is global to the process.
            for name in SERVICES:
                runner = importlib.import_module(f"agora.{name}.bootstrap").run
                task = asyncio.create_task(runner(platform, _settings(name, ports[name])))
                tasks.append(task)
                await _serving(name, addresses[name], task)
        gateway_port = free_port()
        gateway = await _start_gateway(gateway_port, nats_url, static)
        base_url = f"http://127.0.0.1:{gateway_port}"
        await _ready(base_url, gateway)
        yield EdgeStack(base_url, addresses, database_url)
    finally:
        if gateway is not None:
            await _stop(gateway)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _serving(name: str, address: str, task: asyncio.Task[None]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not await grpc_serving(address):
        if task.done():
            task.result()  # raises what stopped the service
            raise RuntimeError(f"{name} stopped during startup")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} not serving after {STARTUP_TIMEOUT_S} s")
        await asyncio.sleep(0.2)


async def _start_gateway(
    port: int, nats_url: str, static: Mapping[str, str]
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        **static,
        "AGORA_ENV": "test",
        "AGORA_NATS_URL": nats_url,
        "AGORA_DISCOVERY": "false",
        "AGORA_LOG_LEVEL": "WARNING",
        "AGORA_GATEWAY_PORT": str(port),
        "AGORA_GATEWAY_WORKERS": "1",
        "AGORA_GATEWAY_TRUSTED_PROXIES": "127.0.0.1",
    }
    env.pop("AGORA_REDIS_URL", None)
    code = (
        "from agora.gateway.bootstrap import serve\n"
        "from agora.gateway.settings import GatewaySettings\n"
        "from agora.platform.settings import PlatformSettings\n"
        "serve(PlatformSettings(), GatewaySettings())\n"
    )
    return await asyncio.create_subprocess_exec(sys.executable, "-c", code, env=env)


async def _ready(base_url: str, process: asyncio.subprocess.Process) -> None:
    # Async: the services run on this event loop and must keep answering meanwhile.
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base_url, timeout=1) as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the gateway exited with {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{base_url} never became ready")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        process.kill()
        await process.wait()
