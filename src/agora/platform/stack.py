"""The whole shop under one supervisor (`agora up`): the embedded PostgreSQL, NATS, mail sink,
EVM node and local model, the migrations, one process per service and the gateway, the
environment they share, and the status file `agora status` reads.

What runs once the stack is healthy (the first-start seed) is given by the caller: the platform
imports no service.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import psutil
import typer
from rich.table import Table
from rich.text import Text

from agora.platform.command_line import console, errors, report_startup_failure
from agora.platform.embedded.llm import (
    LLM_PORT_VARIABLE,
    SUPPORT_LLM_BASE_URL_VARIABLE,
    SUPPORT_LLM_MODEL_VARIABLE,
    EmbeddedModel,
    embedded_model_wanted,
    llm_port,
    serves_model,
)
from agora.platform.net import port_is_free
from agora.platform.security.secret_files import write_private
from agora.platform.services import (
    GATEWAY,
    GRPC_SERVICES,
    grpc_serving,
    postgres_accepts_queries,
    tcp_open,
)
from agora.platform.settings import PlatformSettings, to_libpq_url
from agora.platform.supervisor import (
    ProcessSpec,
    StartupFailed,
    Supervisor,
    cancellation_requested,
)

PAGE_TOKEN_KEY_VARIABLE = "AGORA_PAGE_TOKEN_KEY"
PAGE_TOKEN_KEY_FILENAME = "page-token.key"
CHAIN_RPC_URL_VARIABLE = "AGORA_CHAIN_RPC_URL"
CHAIN_KEYSTORE_FILENAME = "chain-keystore.json"
CHAIN_PASSPHRASE_FILENAME = "chain-keystore.pass"


def status_path(data_dir: Path) -> Path:
    return data_dir / "run" / "status.json"


def running_supervisor(data_dir: Path) -> int | None:
    """The pid of the `agora up` that wrote `data_dir`'s status file, if it still runs."""
    try:
        pid = int(json.loads(status_path(data_dir).read_text())["supervisor_pid"])
    except (OSError, ValueError, KeyError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid if pid != os.getpid() else None


def busy_ports(settings: PlatformSettings) -> list[tuple[str, int, str]]:
    """(label, port, variable) of each port `agora up` needs that something else holds."""
    from agora.platform.doctor import configured_ports
    from agora.platform.embedded.anvil import ANVIL_PORT_VARIABLE, anvil_port

    ports = [(p.label, p.port, p.variable) for p in configured_ports(settings)]
    if embedded_chain(settings):
        ports.append(("EVM node", anvil_port(os.environ), ANVIL_PORT_VARIABLE))
    if embedded_model_wanted(os.environ):
        ports.append(("local model", llm_port(os.environ), LLM_PORT_VARIABLE))
    return [(label, port, variable) for label, port, variable in ports if not port_is_free(port)]


# --- the environment of every child -----------------------------------------------------------


def child_environment(settings: PlatformSettings) -> dict[str, str]:
    """The environment of every service: where the database, NATS and the model are, every
    port, and the keys they share (created in dev and test when missing).

    Raises ServiceKeyError or KekError when a key is missing in prod or unreadable, ValueError
    when a port variable is not a port or the embedded model's file is missing.
    """
    from agora.platform.security.service_identity import ensure_service_key

    env = dict(os.environ)
    env["AGORA_DATA_DIR"] = str(settings.data_dir)
    env["AGORA_SERVICE_KEY_FILE"] = str(ensure_service_key(settings))
    kek = kek_file(settings)
    if kek is not None:
        env["AGORA_KEK_FILE"] = str(kek)
    if PAGE_TOKEN_KEY_VARIABLE not in env:
        env[PAGE_TOKEN_KEY_VARIABLE] = page_token_key(settings.data_dir)
    env["AGORA_DATABASE_URL"] = settings.resolved_database_url
    env["AGORA_NATS_URL"] = settings.resolved_nats_url
    env["PYTHONUNBUFFERED"] = "1"
    for service in GRPC_SERVICES:
        port = service.port(env)
        env[service.port_variable] = str(port)
        env.setdefault(service.address_variable, f"127.0.0.1:{port}")
    env[GATEWAY.port_variable] = str(GATEWAY.port(env))
    if settings.env != "prod":  # prod names its mail server (auth refuses to start without)
        env.setdefault("AGORA_SMTP_URL", f"smtp://127.0.0.1:{mail_sink_port(env)}")
    env.update(chain_environment(settings, env))
    env.update(model_environment(env))
    return env


def model_environment(env: Mapping[str, str]) -> dict[str, str]:
    """Where the support service's model is: the embedded one (its URL and model name) unless
    `AGORA_SUPPORT_LLM_BASE_URL` names another server (then nothing is added)."""
    if not embedded_model_wanted(env):
        return {}
    return EmbeddedModel.from_environment(env).support_environment()


# Outside prod, unless set: invoices in USDT or AGT go to the chain provider, at staff-set rates
# (`db`) or else at development pegs: USDT = 1 USD, AGT = 1 EUR (as the chain's reward rule
# prices it; the dev wallets hold 10,000 AGT), and USD = 0.92 EUR (a fixed reference so that a
# EUR shop prices USDT with no rate set).
DEV_CRYPTO_PAYMENTS: Mapping[str, str] = {
    "AGORA_PAYMENTS_PROVIDERS": '["chain"]',
    "AGORA_PAYMENTS_RATE_PROVIDER": "db,peg",
    "AGORA_PAYMENTS_RATE_PEGS": "USDT=1 USD;AGT=1 EUR;USD=0.92 EUR",
}


def embedded_chain(settings: PlatformSettings) -> bool:
    """Whether `agora up` runs its own EVM node: outside prod, unless `AGORA_CHAIN_RPC_URL`
    names another one."""
    return not os.environ.get(CHAIN_RPC_URL_VARIABLE) and settings.env != "prod"


def chain_environment(settings: PlatformSettings, env: Mapping[str, str]) -> dict[str, str]:
    """The chain service's node and keystore: outside prod, the keystore and its passphrase
    (made once, mode 0600) under `<data_dir>/secrets` unless configured; with the embedded node,
    its URLs and chain id, and `AGORA_CHAIN_DEVNET=true` (deploy and fund the dev contracts)."""
    from agora.platform.embedded.anvil import DEV_CHAIN_ID, anvil_port

    chain: dict[str, str] = {}
    if settings.env == "prod":
        return chain
    secrets_dir = settings.data_dir / "secrets"
    if "AGORA_CHAIN_KEYSTORE_FILE" not in env:
        chain["AGORA_CHAIN_KEYSTORE_FILE"] = str(secrets_dir / CHAIN_KEYSTORE_FILENAME)
    if "AGORA_CHAIN_PASSPHRASE_FILE" not in env:
        passphrase = secrets_dir / CHAIN_PASSPHRASE_FILENAME
        if not passphrase.exists():
            write_private(passphrase, (secrets.token_urlsafe(32) + "\n").encode(), replace=False)
        chain["AGORA_CHAIN_PASSPHRASE_FILE"] = str(passphrase)
    if embedded_chain(settings):
        port = anvil_port(env)
        chain.update(
            AGORA_CHAIN_RPC_URL=f"http://127.0.0.1:{port}",
            AGORA_CHAIN_WS_URL=f"ws://127.0.0.1:{port}",
            AGORA_CHAIN_ID=str(DEV_CHAIN_ID),
            AGORA_CHAIN_DEVNET="true",
        )
        if "AGORA_PAYMENTS_CHAIN_ID" not in env:
            chain["AGORA_PAYMENTS_CHAIN_ID"] = str(DEV_CHAIN_ID)
    # Crypto checkout in development: payments' chain provider and rates for its tokens.
    for variable, value in DEV_CRYPTO_PAYMENTS.items():
        if variable not in env:
            chain[variable] = value
    return chain


def kek_file(settings: PlatformSettings) -> Path | None:
    """The KEK file of secrets at rest, created in dev and test (None when `AGORA_KEK` gives
    the keys); KekError when the keys cannot be read."""
    from agora.platform.security.envelope import ensure_kek_file, keyring_source

    keyring_source(settings).keyring()
    return None if settings.kek else ensure_kek_file(settings)


def page_token_key(data_dir: Path) -> str:
    """The key every service signs and checks page tokens with (hex of 32 random bytes), made
    once in `<data_dir>/secrets` (mode 0600) so that tokens stay valid across restarts."""
    path = data_dir / "secrets" / PAGE_TOKEN_KEY_FILENAME
    if not path.exists():
        write_private(path, (secrets.token_hex(32) + "\n").encode(), replace=False)
    key = path.read_text().strip()
    if not re.fullmatch(r"[0-9a-f]{64}", key):
        raise ValueError(f"{path} is not a page-token key (64 hex digits): remove it for a new one")
    return key


# --- the processes ----------------------------------------------------------------------------


async def infrastructure_specs(settings: PlatformSettings) -> list[ProcessSpec]:
    """The embedded PostgreSQL and NATS, unless their URLs are configured, the mail sink outside
    prod unless `AGORA_SMTP_URL` names a mail server, the EVM node outside prod unless
    `AGORA_CHAIN_RPC_URL` names a node, and the local model unless `AGORA_SUPPORT_LLM_BASE_URL`
    names a model server."""
    specs = []
    if settings.embedded_database:
        specs.append(await postgres_spec(settings))
    if settings.embedded_nats:
        specs.append(nats_spec(settings))
    if not os.environ.get("AGORA_SMTP_URL") and settings.env != "prod":
        specs.append(mail_sink_spec(settings))
    if embedded_chain(settings):
        specs.append(anvil_spec(settings))
    if embedded_model_wanted(os.environ):
        specs.append(llm_spec())
    return specs


async def postgres_spec(settings: PlatformSettings) -> ProcessSpec:
    """The embedded PostgreSQL over `<data_dir>/postgres` (created on first use)."""
    from agora.platform.embedded.postgres import EmbeddedPostgres

    postgres = EmbeddedPostgres(settings.data_dir / "postgres", settings.pg_port)
    await asyncio.to_thread(postgres.initialise)
    return ProcessSpec(
        "postgres",
        postgres.command(),
        health=partial(postgres_accepts_queries, postgres.url),
        popen_kwargs=postgres.popen_kwargs(),
        url=to_libpq_url(settings.resolved_database_url),
        stop_signal=signal.SIGINT,  # "fast" shutdown: do not wait for clients to leave
        ready_timeout_s=60,
    )


def nats_spec(settings: PlatformSettings) -> ProcessSpec:
    """The embedded NATS JetStream server over `<data_dir>/nats`."""
    from agora.platform.embedded.nats import EmbeddedNats

    nats = EmbeddedNats(
        settings.data_dir / "nats", settings.nats_port, sync_interval=settings.nats_sync_interval
    )
    return ProcessSpec("nats", nats.command(), health=partial(tcp_open, nats.port), url=nats.url)


def anvil_spec(settings: PlatformSettings) -> ProcessSpec:
    """The embedded EVM node (anvil) over `<data_dir>/chain`, mining a block a second."""
    from agora.platform.embedded.anvil import EmbeddedAnvil, answers_chain_id, anvil_port

    node = EmbeddedAnvil(settings.data_dir / "chain", anvil_port(os.environ), block_time_s=1)
    return ProcessSpec(
        "anvil",
        node.command(),
        health=partial(answers_chain_id, node.url, node.chain_id),
        url=node.url,
    )


def llm_spec() -> ProcessSpec:
    """The embedded local model (llama.cpp serving SmolLM2-135M-Instruct), healthy once its
    OpenAI-compatible `/v1/models` lists the model."""
    model = EmbeddedModel.from_environment(os.environ)
    return ProcessSpec(
        "llm",
        model.command(),
        health=partial(serves_model, model.base_url, model.name),
        url=model.base_url,
        ready_timeout_s=60,  # the load takes 1-2 s alone, much longer on a busy machine
    )


def mail_sink_port(env: Mapping[str, str]) -> int:
    from agora.platform.embedded.mail_sink import DEFAULT_SMTP_PORT

    return int(env.get("AGORA_SMTP_PORT") or DEFAULT_SMTP_PORT)


def mail_sink_spec(settings: PlatformSettings) -> ProcessSpec:
    """The local SMTP sink keeping mail under `<data_dir>/mail` (`agora mail list`)."""
    from agora.platform.embedded.mail_sink import mail_directory

    port = mail_sink_port(os.environ)
    command = [sys.executable, "-m", "agora.platform.embedded.mail_sink"]
    return ProcessSpec(
        "mail",
        [*command, str(mail_directory(settings.data_dir)), str(port)],
        health=partial(tcp_open, port),
        url=f"smtp://127.0.0.1:{port}",
    )


def service_specs(env: Mapping[str, str], infrastructure: list[str]) -> list[ProcessSpec]:
    """One process per gRPC service (`python -m agora serve <name>`), then the gateway."""
    specs = []
    for service in GRPC_SERVICES:
        address = f"127.0.0.1:{service.port(env)}"
        specs.append(
            ProcessSpec(
                service.name,
                [sys.executable, "-m", "agora", "serve", service.name],
                health=partial(grpc_serving, address),
                env=env,
                depends_on=infrastructure,
                url=f"grpc://{address}",
                ready_timeout_s=60,
            )
        )
    specs.append(
        ProcessSpec(
            GATEWAY.name,
            [sys.executable, "-m", "agora", "serve", GATEWAY.name],
            health=partial(GATEWAY.is_healthy, GATEWAY.url(env)),
            env=env,
            depends_on=infrastructure,
            url=GATEWAY.url(env),
            ready_timeout_s=60,
        )
    )
    return specs


# --- migrations -------------------------------------------------------------------------------


class MigrationFailed(Exception):
    """A service's migrations could not be applied."""


async def migrate_services(names: list[str], database_url: str) -> None:
    """Each service's migrations in turn (Alembic's context is process-global)."""
    # Importing Alembic and SQLAlchemy takes seconds: not on the event loop, which is busy
    # starting and probing the services meanwhile.
    migrations = await asyncio.to_thread(importlib.import_module, "agora.platform.migrations")
    for name in names:
        try:
            await migrations.migrate(name, database_url)
        except Exception as error:  # any failure stops `agora up` with the service named
            raise MigrationFailed(f"migrating {name} failed: {error}") from error
        console.print(f"migrated [bold]{name}[/]")


async def with_database(settings: PlatformSettings, work: Coroutine[Any, Any, Any]) -> Any:
    """Run `work` against the configured database, starting the embedded one meanwhile if it is
    not running."""
    supervisor = Supervisor(settings.data_dir / "logs")
    try:
        if settings.embedded_database and port_is_free(settings.pg_port):
            await supervisor.start([await postgres_spec(settings)])
        return await work
    finally:
        work.close()
        await supervisor.stop()


def on_database(settings: PlatformSettings, work: Coroutine[Any, Any, Any]) -> Any:
    """`with_database` for a command: exit 1 with the log's last lines when PostgreSQL does not
    start."""
    try:
        return asyncio.run(with_database(settings, work))
    except StartupFailed as failure:
        report_startup_failure(failure)
        raise typer.Exit(1) from None


async def migrate_with_database(settings: PlatformSettings, names: list[str]) -> int:
    """`agora migrate`: the exit status."""
    try:
        await with_database(settings, migrate_services(names, settings.resolved_database_url))
    except (StartupFailed, MigrationFailed) as failure:
        return failed_start(failure)
    return 0


def failed_start(failure: StartupFailed | MigrationFailed) -> int:
    """Say why the stack (or the database of a command) did not come up; the exit status."""
    if isinstance(failure, StartupFailed):
        report_startup_failure(failure)
    else:
        errors.print(f"[bold red]error:[/] {failure}")
    return 1


# --- agora up ---------------------------------------------------------------------------------


async def run_stack(
    settings: PlatformSettings,
    env: Mapping[str, str],
    *,
    first_run: Callable[[], Awaitable[str | None]] | None,
    verbose: bool,
) -> int:
    """Bring the stack up, run `first_run` (its line joins the announcement), print where
    everything is, and keep it running until SIGINT/SIGTERM; the exit status."""
    began = psutil.Process().create_time()  # count the interpreter's start and imports too
    data_dir = settings.data_dir
    echo = echo_to_console if verbose else None
    supervisor = Supervisor(data_dir / "logs", status_path(data_dir), echo=echo)
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main.cancel)
    try:
        await start_everything(supervisor, settings, env)
        healthy_after = time.time() - began
        first_run_line = await first_run() if first_run is not None else None
        announce(supervisor, settings, healthy_after, first_run_line)
        await asyncio.Event().wait()  # until a signal cancels this task
    except (StartupFailed, MigrationFailed) as failure:
        return failed_start(failure)
    except asyncio.CancelledError:
        if not cancellation_requested():
            errors.print("[bold red]error:[/] startup was interrupted:")
            errors.print_exception()
            return 1
        console.print("Stopping Agora…")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: None)  # a second Ctrl-C must not abort the stop
        await supervisor.stop()
    console.print("Agora stopped.")
    return 0


def echo_to_console(name: str, line: str) -> None:
    """One line of a process's log, prefixed by the process name (`agora up --verbose`)."""
    console.print(Text.assemble((f"{name:>9} | ", "dim"), line), soft_wrap=True)


async def start_everything(
    supervisor: Supervisor, settings: PlatformSettings, env: Mapping[str, str]
) -> None:
    """PostgreSQL and NATS first; then the migrations here while the services and the gateway
    start (their imports take seconds, and each waits for the migration lock before serving).

    The gateway starts alongside the services but is healthy (`/readyz`) only once they are.
    """
    with console.status("Starting PostgreSQL, NATS, the EVM node and the local model…"):
        await supervisor.start(await infrastructure_specs(settings))
    infrastructure = [row["name"] for row in supervisor.snapshot()]
    names = [service.name for service in GRPC_SERVICES]
    with console.status("Migrating and starting the services…"):
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(supervisor.start(service_specs(env, infrastructure)))
                group.create_task(migrate_services(names, settings.resolved_database_url))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None


def announce(
    supervisor: Supervisor,
    settings: PlatformSettings,
    healthy_after: float,
    first_run_line: str | None,
) -> None:
    """Print the URLs and the status table; mark the status file ready."""
    from sqlalchemy import make_url

    gateway = GATEWAY.url()
    database = make_url(to_libpq_url(settings.resolved_database_url)).render_as_string()
    urls = {
        "Storefront": f"{gateway}/",
        "Admin": f"{gateway}/admin",
        "Storefront API": f"{gateway}/v1/products",
        "API docs": f"{gateway}/api/docs",
        "Support chat": gateway.replace("http", "ws", 1) + "/v1/support/chat",
        "Health": f"{gateway}/healthz  {gateway}/readyz",
        "PostgreSQL": database,
        "NATS": settings.resolved_nats_url,
        **({"EVM node": chain_node_url()} if embedded_chain(settings) else {}),
        "Support model": support_model_url(),
        "Data": str(settings.data_dir),
        "Logs": str(settings.data_dir / "logs"),
    }
    supervisor.info.update(ready=True, healthy_after_s=round(healthy_after, 2), urls=urls)
    console.print(status_table(supervisor.snapshot()))
    table = Table(show_header=False, box=None)
    for label, url in urls.items():
        table.add_row(f"[bold]{label}[/]", url)
    console.print(table)
    if embedded_chain(settings):
        console.print(dev_wallets_table())
    if first_run_line is not None:
        console.print(first_run_line)
    console.print(
        f"[bold green]Agora is ready[/]: all processes healthy in {healthy_after:.1f} s. "
        "Ctrl-C stops it."
    )
    supervisor.write_status()  # ready once everything above is printed


def support_model_url() -> str:
    """The support service's model: its OpenAI-compatible base URL and model name."""
    if embedded_model_wanted(os.environ):
        model = EmbeddedModel.from_environment(os.environ)
        return f"{model.base_url} ({model.name}, embedded)"
    url = os.environ[SUPPORT_LLM_BASE_URL_VARIABLE]
    name = os.environ.get(SUPPORT_LLM_MODEL_VARIABLE)
    return f"{url} ({name})" if name else url


def chain_node_url() -> str:
    from agora.platform.embedded.anvil import DEV_CHAIN_ID, anvil_port

    return f"http://127.0.0.1:{anvil_port(os.environ)} (chain id {DEV_CHAIN_ID})"


def dev_wallets_table() -> Table:
    """The development wallets of the embedded chain (funded by the chain service at start)."""
    from agora.platform.embedded.anvil import DEV_TREASURY_INDEX, DEV_WALLETS, dev_account

    table = Table(
        "wallet",
        "address",
        title="Development wallets (public test keys; balances: agora chain wallets)",
    )
    for name, index in DEV_WALLETS.items():
        table.add_row(name, dev_account(index).address)
    table.add_row("treasury", dev_account(DEV_TREASURY_INDEX).address)
    return table


def status_table(rows: list[dict[str, Any]]) -> Table:
    """Name, pid, state, restarts, how it last exited and why it was last restarted, and URL
    of each supervised process."""
    colours = {"healthy": "green", "unhealthy": "red", "backoff": "yellow", "starting": "yellow"}
    table = Table("name", "pid", "state", "restarts", "last exit", "last restart", "url")
    for row in rows:
        colour = colours.get(row["state"], "white")
        table.add_row(
            row["name"],
            str(row["pid"] or "-"),
            f"[{colour}]{row['state']}[/]",
            str(row["restarts"]),
            _last_exit(row),
            row.get("restart_reason") or "-",
            row["url"],
        )
    return table


def _last_exit(row: dict[str, Any]) -> str:
    if row.get("exit_signal"):
        return str(row["exit_signal"])
    code = row.get("exit_code")
    return "-" if code is None else f"code {code}"
