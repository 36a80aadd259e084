"""`agora doctor`: is this machine and the configured infrastructure fit to run Agora?

Each check gives a verdict (OK, WARN, FAIL) and one line saying why; any FAIL makes the command
exit non-zero.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import psutil

from agora.platform.net import port_is_free
from agora.platform.services import GATEWAY, GRPC_SERVICES
from agora.platform.settings import PlatformSettings, to_libpq_url

MIN_PYTHON = (3, 11)
GIB = 1024**3
DISK_FAIL_BELOW = GIB // 2
DISK_WARN_BELOW = 2 * GIB


class Verdict(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    subject: str
    verdict: Verdict
    detail: str


@dataclass(frozen=True)
class ConfiguredPort:
    """A port Agora will listen on, and the variable that moves it."""

    label: str
    port: int
    variable: str


async def run_checks(
    settings: PlatformSettings, environ: Mapping[str, str] = os.environ
) -> list[Check]:
    """Every check, in the order `agora doctor` prints them."""
    ours = agora_pids(settings.data_dir)
    ports = configured_ports(settings, environ)
    checks = [python_check(), *(port_check(p, ours) for p in ports), disk_check(settings.data_dir)]
    checks += binary_checks(settings)
    checks += await asyncio.gather(
        postgres_check(settings), nats_check(settings), model_check(environ)
    )
    return checks


def python_check() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] >= MIN_PYTHON:
        return Check("Python", Verdict.OK, f"{version} at {sys.executable}")
    return Check("Python", Verdict.FAIL, f"{version}: Agora needs Python 3.11 or newer")


def configured_ports(
    settings: PlatformSettings, environ: Mapping[str, str] = os.environ
) -> list[ConfiguredPort]:
    """The ports `agora up` listens on (embedded servers only when they are not replaced)."""
    ports = []
    if settings.embedded_database:
        ports.append(ConfiguredPort("PostgreSQL", settings.pg_port, "AGORA_PG_PORT"))
    if settings.embedded_nats:
        ports.append(ConfiguredPort("NATS", settings.nats_port, "AGORA_NATS_PORT"))
    for service in GRPC_SERVICES:
        ports.append(ConfiguredPort(service.name, service.port(environ), service.port_variable))
    ports.append(ConfiguredPort(GATEWAY.name, GATEWAY.port(environ), GATEWAY.port_variable))
    return ports


def port_check(port: ConfiguredPort, ours: set[int]) -> Check:
    subject = f"port {port.port} ({port.label})"
    if port_is_free(port.port):
        return Check(subject, Verdict.OK, "free")
    owner = listener_pid(port.port)
    if owner is not None and owner in ours:
        return Check(subject, Verdict.OK, f"in use by this Agora (pid {owner})")
    by = f" by pid {owner} ({_process_name(owner)})" if owner is not None else ""
    return Check(subject, Verdict.FAIL, f"in use{by}: set {port.variable} to another port")


def agora_pids(data_dir: Path) -> set[int]:
    """The running `agora up` over `data_dir` and all its descendants (empty when none runs)."""
    try:
        status = json.loads((data_dir / "run" / "status.json").read_text())
        supervisor = psutil.Process(int(status["supervisor_pid"]))
        return {supervisor.pid, *(child.pid for child in supervisor.children(recursive=True))}
    except (OSError, ValueError, KeyError, psutil.Error):
        return set()


def listener_pid(port: int) -> int | None:
    """The pid listening on TCP `port`, when the OS lets us see it."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None
    for connection in connections:
        address = connection.laddr
        if connection.status == psutil.CONN_LISTEN and address and address[1] == port:
            return connection.pid
    return None


def _process_name(pid: int) -> str:
    try:
        return psutil.Process(pid).name()
    except psutil.Error:
        return "unknown"


def disk_check(data_dir: Path) -> Check:
    existing = data_dir.resolve()
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    detail = f"{free / GIB:.1f} GiB free under {existing}"
    if free < DISK_FAIL_BELOW:
        return Check("disk", Verdict.FAIL, detail + ": PostgreSQL and NATS need at least 0.5 GiB")
    if free < DISK_WARN_BELOW:
        return Check("disk", Verdict.WARN, detail + ": less than 2 GiB")
    return Check("disk", Verdict.OK, detail)


def binary_checks(settings: PlatformSettings) -> list[Check]:
    """The embedded servers' binaries: required unless their URL is configured."""
    return [
        _binary_check("PostgreSQL binary", _postgres_binary, settings.embedded_database),
        _binary_check("nats-server binary", _nats_binary, settings.embedded_nats),
    ]


def _postgres_binary() -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    binary = Path(POSTGRES_BIN_PATH) / "postgres"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing: reinstall the `pgserver` package")
    return str(binary)


def _nats_binary() -> str:
    from agora.platform.embedded.nats import nats_server_binary

    return nats_server_binary()


def _binary_check(subject: str, locate: Callable[[], str], needed: bool) -> Check:
    missing = Verdict.FAIL if needed else Verdict.WARN
    try:
        binary = locate()
        found = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (ImportError, OSError, subprocess.SubprocessError) as error:
        return Check(subject, missing, str(error))
    version = (found.stdout or found.stderr).strip().splitlines()
    detail = f"{version[0] if version else 'unknown version'} ({binary})"
    return Check(subject, Verdict.OK, detail if needed else detail + "; not used: URL configured")


async def postgres_check(settings: PlatformSettings) -> Check:
    """Connect and ask `SELECT version()`: external URL, or the embedded server if running."""
    import asyncpg
    from sqlalchemy import make_url

    subject = "PostgreSQL"
    url = make_url(settings.resolved_database_url)
    if settings.embedded_database:
        if port_is_free(settings.pg_port):
            return Check(subject, Verdict.OK, "embedded, not running (`agora up` starts it)")
        url = url.set(database="postgres")  # the embedded cluster's database always exists
    where = to_libpq_url(url.render_as_string(hide_password=True))
    try:
        conn = await asyncpg.connect(
            to_libpq_url(url.render_as_string(hide_password=False)), timeout=5
        )
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        return Check(subject, Verdict.FAIL, f"unreachable at {where}: {error}")
    try:
        version = str(await conn.fetchval("SELECT version()"))
    finally:
        await conn.close()
    return Check(subject, Verdict.OK, f"{version.split(' on ')[0]} at {where}")


async def nats_check(settings: PlatformSettings) -> Check:
    """Connect, read the server version and whether JetStream answers."""
    import nats
    from nats.errors import Error as NatsError

    subject = "NATS"
    url = settings.resolved_nats_url
    if settings.embedded_nats and port_is_free(settings.nats_port):
        return Check(subject, Verdict.OK, "embedded, not running (`agora up` starts it)")

    async def quiet(_: Exception) -> None:
        return None  # the check reports the failure itself

    try:
        # max_reconnect_attempts=0 makes nats-py retry forever; 1 means "one more try".
        client = await asyncio.wait_for(
            nats.connect(
                url,
                connect_timeout=3,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.2,
                error_cb=quiet,
            ),
            timeout=10,
        )
    except (OSError, TimeoutError, NatsError) as error:
        return Check(
            subject, Verdict.FAIL, f"unreachable at {url}: {error or type(error).__name__}"
        )
    try:
        server = client.connected_server_version
        version = f"{server.major}.{server.minor}.{server.patch}"
        try:
            await client.jetstream().account_info()
        except (TimeoutError, NatsError) as error:
            return Check(
                subject,
                Verdict.FAIL,
                f"nats-server v{version} at {url}: JetStream unavailable ({error})",
            )
    finally:
        await client.close()
    return Check(subject, Verdict.OK, f"nats-server v{version} at {url}, JetStream enabled")


async def model_check(environ: Mapping[str, str] = os.environ) -> Check:
    """The support assistant's model: the embedded one (its GGUF and llama.cpp installed; when its
    port is held, that it serves the model), or the configured server answers HTTP."""
    from importlib.util import find_spec

    from agora.platform.embedded.llm import (
        LLM_PORT_VARIABLE,
        SUPPORT_LLM_BASE_URL_VARIABLE,
        EmbeddedModel,
        embedded_model_wanted,
        serves_model,
    )

    subject = "support model"
    if not embedded_model_wanted(environ):
        return await _model_server_check(subject, environ[SUPPORT_LLM_BASE_URL_VARIABLE])
    try:
        model = EmbeddedModel.from_environment(environ)
    except ValueError as error:
        return Check(subject, Verdict.FAIL, str(error))
    if find_spec("xllamacpp") is None:
        return Check(subject, Verdict.FAIL, "xllamacpp is not installed: run `make install`")
    size = f"{model.model_file.stat().st_size / 2**20:.0f} MB"
    if port_is_free(model.port):
        detail = f"embedded {model.name} ({size}), not running (`agora up` starts it)"
        return Check(subject, Verdict.OK, detail)
    if await serves_model(model.base_url, model.name, timeout_s=5):
        return Check(subject, Verdict.OK, f"embedded {model.name} ({size}) at {model.base_url}")
    owner = listener_pid(model.port)
    by = f" by pid {owner} ({_process_name(owner)})" if owner is not None else ""
    return Check(
        subject,
        Verdict.FAIL,
        f"port {model.port} is in use{by} but does not serve {model.name}: "
        f"set {LLM_PORT_VARIABLE} to another port",
    )


async def _model_server_check(subject: str, base_url: str) -> Check:
    """Any HTTP answer from `<base_url>/models` (a hosted API without its key answers 401)."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.get(base_url.rstrip("/") + "/models")
    except httpx.HTTPError as error:
        detail = f"unreachable at {base_url}: {error or type(error).__name__}"
        return Check(subject, Verdict.WARN, detail + " (the assistant offers a hand-over)")
    return Check(subject, Verdict.OK, f"{base_url} answers (HTTP {reply.status_code})")
