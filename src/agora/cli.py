"""The `agora` command: run the whole shop (`up`), one service (`serve`), migrations, seeding,
status, health checks of the machine (`doctor`), event replay and benchmarks.

Heavy libraries are imported inside the commands so that `agora --help` stays instant.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import psutil
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agora.platform.net import port_is_free
from agora.platform.services import (
    GATEWAY,
    GRPC_SERVICES,
    grpc_service,
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

T = TypeVar("T")

if TYPE_CHECKING:
    from nats.js import JetStreamContext

    from agora.platform.security.envelope import SecretBox
    from agora.seed.logins import StaffLogins

app = typer.Typer(
    name="agora",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
events_app = typer.Typer(
    help="Event streams: replay a consumer, re-drive dead letters.", no_args_is_help=True
)
dead_letters_app = typer.Typer(
    help="Messages consumers gave up on: list, show, retry once the cause is fixed.",
    no_args_is_help=True,
)
events_app.add_typer(dead_letters_app, name="dead-letters")
bench_app = typer.Typer(
    help="Benchmarks against a running stack. Start it with AGORA_GATEWAY_RATE_LIMIT_ENABLED=false"
    " (`make run-bench`): the gateway's per-IP limit would otherwise throttle the load (429s).",
    no_args_is_help=True,
)
auth_app = typer.Typer(help="Accounts and signing keys, on the auth schema.", no_args_is_help=True)
secrets_app = typer.Typer(
    help="Secrets at rest: the key-encryption key (KEK).", no_args_is_help=True
)
mail_app = typer.Typer(help="Mail kept by the local SMTP sink of `agora up`.", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(bench_app, name="bench")
app.add_typer(auth_app, name="auth")
app.add_typer(secrets_app, name="secrets")
app.add_typer(mail_app, name="mail")


@app.callback()
def agora() -> None:
    """Agora, an open-source commerce platform of Python microservices."""
    # pgserver asks platformdirs for a runtime directory when imported, which warns on hosts
    # without a login session; Agora never uses that directory.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

READY_MESSAGE = "Agora is ready"

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="where data and logs live [env AGORA_DATA_DIR; ./var]"),
]


def fail(message: str) -> typer.Exit:
    """Print `message` on stderr; the caller raises the returned exit."""
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(1)


def platform_settings(data_dir: Path | None = None) -> PlatformSettings:
    """Settings from the environment, `--data-dir` winning; a clear message when invalid."""
    try:
        settings = PlatformSettings()
    except ValidationError as error:
        problems = "; ".join(
            f"AGORA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        raise fail(f"invalid settings: {problems}") from None
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings.model_copy(update={"data_dir": settings.data_dir.resolve()})


def status_path(data_dir: Path) -> Path:
    return data_dir / "run" / "status.json"


# --- agora up -------------------------------------------------------------------------------


@app.command()
def up(
    data_dir: DataDirOption = None,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="do not seed demo data")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="echo process logs")] = False,
) -> None:
    """Start PostgreSQL, NATS and every service under one supervisor, until Ctrl-C."""
    settings = platform_settings(data_dir)
    if not no_seed:
        refuse_seeding_outside_development(settings)
    refuse_second_supervisor(settings.data_dir)
    ensure_service_key(settings)
    ensure_kek(settings)
    try:
        busy = busy_ports(settings)
    except ValueError as error:
        raise fail(str(error)) from None
    if busy:
        for label, port, variable in busy:
            errors.print(
                f"[bold red]error:[/] port {port} ({label}) is already in use: "
                f"set {variable} to a free port"
            )
        raise typer.Exit(1)
    raise typer.Exit(asyncio.run(run_stack(settings, seed=not no_seed, verbose=verbose)))


def ensure_service_key(settings: PlatformSettings) -> Path:
    """The deployment's service key, created in dev and test (every service signs with it)."""
    from agora.platform.security.service_identity import ServiceKeyError
    from agora.platform.security.service_identity import ensure_service_key as ensure

    try:
        return ensure(settings)
    except ServiceKeyError as error:
        raise fail(str(error)) from None


def ensure_kek(settings: PlatformSettings) -> Path | None:
    """The KEK file of secrets at rest, created in dev and test (None when `AGORA_KEK` gives
    the keys)."""
    from agora.platform.security.envelope import KekError, ensure_kek_file, keyring_source

    try:
        keyring_source(settings).keyring()
        return None if settings.kek else ensure_kek_file(settings)
    except KekError as error:
        raise fail(str(error)) from None


def refuse_seeding_outside_development(settings: PlatformSettings) -> None:
    """Exit 1 with `AGORA_ENV=prod`, before anything is started or written."""
    from agora.seed.logins import SeedingRefused, refuse_outside_development

    try:
        refuse_outside_development(settings)
    except SeedingRefused as error:
        raise fail(f"{error} (`agora up --no-seed` starts without demo data)") from None


def refuse_second_supervisor(data_dir: Path) -> None:
    supervisor = running_supervisor(data_dir)
    if supervisor is not None:
        raise fail(f"agora up already runs over {data_dir} (pid {supervisor})")


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

    return [
        (p.label, p.port, p.variable)
        for p in configured_ports(settings)
        if not port_is_free(p.port)
    ]


async def run_stack(settings: PlatformSettings, *, seed: bool, verbose: bool) -> int:
    """Bring the stack up, print where it is, and keep it running until SIGINT/SIGTERM."""
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
        await start_everything(supervisor, settings)
        healthy_after = time.time() - began
        seeding = await seed_first_run(settings) if seed else None
        announce(supervisor, settings, healthy_after, seeding)
        await asyncio.Event().wait()  # until a signal cancels this task
    except StartupFailed as failure:
        report_startup_failure(failure)
        return 1
    except MigrationFailed as failure:
        errors.print(f"[bold red]error:[/] {failure}")
        return 1
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


async def start_everything(supervisor: Supervisor, settings: PlatformSettings) -> None:
    """PostgreSQL and NATS first; then the migrations here while the services and the gateway
    start (their imports take seconds, and each waits for the migration lock before serving).

    The gateway starts alongside the services but is healthy (`/readyz`) only once they are.
    """
    env = child_environment(settings)
    with console.status("Starting PostgreSQL and NATS…"):
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


def child_environment(settings: PlatformSettings) -> dict[str, str]:
    """The environment of every service: where the database and NATS are, every port."""
    env = dict(os.environ)
    env["AGORA_DATA_DIR"] = str(settings.data_dir)
    env["AGORA_SERVICE_KEY_FILE"] = str(ensure_service_key(settings))
    kek_file = ensure_kek(settings)
    if kek_file is not None:
        env["AGORA_KEK_FILE"] = str(kek_file)
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
    return env


async def infrastructure_specs(settings: PlatformSettings) -> list[ProcessSpec]:
    """The embedded PostgreSQL and NATS, unless their URLs are configured."""
    specs = []
    if settings.embedded_database:
        specs.append(await postgres_spec(settings))
    if settings.embedded_nats:
        specs.append(nats_spec(settings))
    if not os.environ.get("AGORA_SMTP_URL") and settings.env != "prod":
        specs.append(mail_sink_spec(settings))
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

    nats = EmbeddedNats(settings.data_dir / "nats", settings.nats_port)
    return ProcessSpec("nats", nats.command(), health=partial(tcp_open, nats.port), url=nats.url)


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


async def seed_first_run(settings: PlatformSettings) -> tuple[str, float] | None:
    """Seed the minimal profile unless this database was ever seeded; (report, seconds)."""
    from agora.platform.security.envelope import secret_box
    from agora.seed import runs
    from agora.seed.runner import seed_database

    began = time.monotonic()
    url = settings.resolved_database_url
    try:
        with console.status("Seeding the minimal profile…"):
            control = await asyncpg_connect(url)
            try:
                seeded_before = await runs.any_run(control)
            finally:
                await control.close()
            if seeded_before:
                return None
            outcome = await seed_database(
                url,
                "minimal",
                seed=1,
                scale=1.0,
                console=Console(quiet=True),
                staff=partial(development_logins, settings),
                secrets=secret_box(settings),
            )
    except asyncio.CancelledError as error:
        if cancellation_requested():
            raise
        seeding_failed(error)
        return None
    except Exception as error:  # the shop still runs; the user can seed again later
        seeding_failed(error)
        return None
    assert outcome.plan is not None
    assert outcome.staff is not None
    print_logins(outcome.staff)
    plan = outcome.plan
    report = f"{len(plan.products)} products, {len(plan.users)} accounts, {len(plan.orders)} orders"
    return report, time.monotonic() - began


def development_logins(settings: PlatformSettings) -> StaffLogins:
    """The data dir's staff logins, made on first use."""
    from agora.seed.generate import STAFF_ACCOUNTS
    from agora.seed.logins import logins_path, staff_logins

    return staff_logins(logins_path(settings), [email for email, _ in STAFF_ACCOUNTS])


def print_logins(staff: StaffLogins) -> None:
    """The staff logins in full when just made; otherwise only where they are kept."""
    from agora.seed.runner import credentials_lines

    if staff.created:
        for line in credentials_lines(staff):
            console.print(line, soft_wrap=True, markup=False)
    else:
        console.print(f"development logins of staff and admin: {staff.path}", soft_wrap=True)


async def asyncpg_connect(database_url: str) -> Any:
    import asyncpg

    return await asyncpg.connect(to_libpq_url(database_url))


def seeding_failed(error: BaseException) -> None:
    errors.print(f"[bold yellow]warning:[/] seeding the minimal profile failed: {error!r}")
    errors.print("the stack keeps running; `agora seed` tries again")


def announce(
    supervisor: Supervisor,
    settings: PlatformSettings,
    healthy_after: float,
    seeding: tuple[str, float] | None,
) -> None:
    """Print the URLs and the status table; mark the status file ready."""
    from sqlalchemy import make_url

    gateway = GATEWAY.url()
    database = make_url(to_libpq_url(settings.resolved_database_url)).render_as_string()
    urls = {
        "Storefront API": f"{gateway}/v1/products",
        "API docs": f"{gateway}/api/docs",
        "Health": f"{gateway}/healthz  {gateway}/readyz",
        "PostgreSQL": database,
        "NATS": settings.resolved_nats_url,
        "Data": str(settings.data_dir),
        "Logs": str(settings.data_dir / "logs"),
    }
    supervisor.info.update(ready=True, healthy_after_s=round(healthy_after, 2), urls=urls)
    supervisor.write_status()
    console.print(status_table(supervisor.snapshot()))
    table = Table(show_header=False, box=None)
    for label, url in urls.items():
        table.add_row(f"[bold]{label}[/]", url)
    console.print(table)
    if seeding is not None:
        report, seconds = seeding
        console.print(f"Seeded the minimal profile in {seconds:.1f} s: {report}")
    console.print(
        f"[bold green]{READY_MESSAGE}[/]: all processes healthy in {healthy_after:.1f} s. "
        "Ctrl-C stops it."
    )


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


def report_startup_failure(failure: StartupFailed) -> None:
    errors.print(f"[bold red]error:[/] {failure.name} did not start: {failure.reason}")
    try:
        tail = failure.log_path.read_text(errors="replace").splitlines()[-20:]
    except OSError:
        return
    errors.print(f"last lines of {failure.log_path}:")
    for line in tail:
        errors.print(f"  {line}", markup=False)


# --- agora serve ----------------------------------------------------------------------------


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="catalog, …, or gateway")],
) -> None:
    """Run one service in the foreground until SIGTERM/SIGINT."""
    settings = platform_settings()
    from agora.platform.logging import configure_logging
    from agora.platform.security.envelope import KekError, SecretUnreadable
    from agora.platform.security.service_identity import ServiceKeyError
    from agora.platform.settings import ProductionDefaultsRefused

    try:
        if service == GATEWAY.name:
            configure_logging(service, settings.log_level, settings.log_format)
            serve_gateway(settings)
            return
        try:
            runner = importlib.import_module(grpc_service(service).runner)
        except ValueError as error:
            raise fail(str(error)) from None
        configure_logging(service, settings.log_level, settings.log_format)
        asyncio.run(run_until_signalled(runner.run(settings)))
    except (ProductionDefaultsRefused, ServiceKeyError) as refused:
        raise fail(str(refused)) from None
    except (KekError, SecretUnreadable) as error:
        raise fail(f"{service} cannot start: {error}") from None


def serve_gateway(settings: PlatformSettings) -> None:
    from agora.gateway.bootstrap import serve as serve_http
    from agora.gateway.settings import GatewaySettings

    try:
        gateway = GatewaySettings()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise fail(f"invalid gateway settings: {problems}") from None
    serve_http(settings, gateway)


async def run_until_signalled(work: Coroutine[Any, Any, None]) -> None:
    """Run `work`, cancelling it (its graceful shutdown) on SIGTERM or SIGINT."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise


# --- agora migrate / seed / status ----------------------------------------------------------


@app.command()
def migrate(
    service: Annotated[str | None, typer.Argument(help="one service; default: all")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Apply migrations (starting the embedded PostgreSQL for the time it takes if needed)."""
    settings = platform_settings(data_dir)
    try:
        names = [grpc_service(service).name] if service else [s.name for s in GRPC_SERVICES]
    except ValueError as error:
        raise fail(str(error)) from None
    raise typer.Exit(asyncio.run(migrate_with_database(settings, names)))


async def migrate_with_database(settings: PlatformSettings, names: list[str]) -> int:
    supervisor = Supervisor(settings.data_dir / "logs")
    try:
        if settings.embedded_database and port_is_free(settings.pg_port):
            await supervisor.start([await postgres_spec(settings)])
        await migrate_services(names, settings.resolved_database_url)
    except StartupFailed as failure:
        report_startup_failure(failure)
        return 1
    except MigrationFailed as failure:
        errors.print(f"[bold red]error:[/] {failure}")
        return 1
    finally:
        await supervisor.stop()
    return 0


class MigrationFailed(Exception):
    """A service's migrations could not be applied."""


async def migrate_services(names: list[str], database_url: str) -> None:
    """Each service's migrations in turn (Alembic's context is process-global)."""
    # Importing Alembic and SQLAlchemy takes seconds: not on the event loop, which is busy
    # starting and probing the services meanwhile.
    migrations = await asyncio.to_thread(importlib.import_module, "agora.platform.migrations")
    migrate_schema = migrations.migrate
    for name in names:
        try:
            await migrate_schema(name, database_url)
        except Exception as error:  # any failure stops `agora up` with the service named
            raise MigrationFailed(f"migrating {name} failed: {error}") from error
        console.print(f"migrated [bold]{name}[/]")


seed_app = typer.Typer(
    help="Demo data: `agora seed --profile minimal|full|test`, `agora seed clean`.",
    invoke_without_command=True,
)
app.add_typer(seed_app, name="seed")


def _check_seed_input(profile: str | None, scale: float = 1.0) -> None:
    """Bad input is a usage error (exit 2) before anything touches the database."""
    from agora.seed.profiles import PROFILES

    if profile is not None and profile not in PROFILES:
        raise typer.BadParameter(
            f"unknown profile {profile!r} (known: {', '.join(PROFILES)})", param_hint="--profile"
        )
    if scale <= 0:
        raise typer.BadParameter(f"must be positive, not {scale:g}", param_hint="--scale")


@seed_app.callback()
def seed(
    ctx: typer.Context,
    profile: Annotated[str, typer.Option(help="minimal, full or test")] = "minimal",
    seed_value: Annotated[int, typer.Option("--seed", help="random seed")] = 1,
    scale: Annotated[float, typer.Option(help="multiply the profile's sizes")] = 1.0,
    data_dir: DataDirOption = None,
) -> None:
    """Seed realistic demo data into every service's schema (idempotent per run)."""
    if ctx.invoked_subcommand is not None:
        return
    _check_seed_input(profile, scale)
    from agora.seed.runner import seed_database, summary_table

    settings = platform_settings(data_dir)
    refuse_seeding_outside_development(settings)
    outcome = run_seeding(
        settings,
        seed_database(
            settings.resolved_database_url,
            profile,
            seed=seed_value,
            scale=scale,
            console=console,
            staff=partial(development_logins, settings),
            secrets=open_secret_box(settings),
        ),
    )
    if outcome.written:
        console.print(summary_table(outcome))
    if outcome.staff is not None:
        print_logins(outcome.staff)


@seed_app.command("clean")
def seed_clean(
    profile: Annotated[str | None, typer.Option(help="only this profile's runs")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Remove exactly the rows seeding wrote (of every recorded run, or of one profile)."""
    _check_seed_input(profile)
    from agora.seed.runner import clean_database

    settings = platform_settings(data_dir)
    removed = run_seeding(
        settings, clean_database(settings.resolved_database_url, profile, console=console)
    )
    table = Table("entity", "rows removed")
    for entity, rows in removed.items():
        table.add_row(entity, f"{rows:,}")
    console.print(table)


def run_seeding(settings: PlatformSettings, work: Coroutine[Any, Any, Any]) -> Any:
    """Run a seeding coroutine against the database; a clear message when it cannot start."""
    from agora.seed.runner import SeedError

    try:
        return asyncio.run(with_database(settings, work))
    except StartupFailed as failure:
        report_startup_failure(failure)
        raise typer.Exit(1) from None
    except SeedError as error:
        raise fail(str(error)) from None


@app.command()
def status(data_dir: DataDirOption = None) -> None:
    """Show the processes of the `agora up` running over the data dir."""
    settings = platform_settings(data_dir)
    path = status_path(settings.data_dir)
    if running_supervisor(settings.data_dir) is None:
        raise fail(f"agora is not running over {settings.data_dir} (no live status at {path})")
    document = json.loads(path.read_text())
    console.print(status_table(document["processes"]))
    state = "ready" if document.get("ready") else "starting"
    console.print(f"supervisor pid {document['supervisor_pid']}, {state}")


# --- agora doctor ---------------------------------------------------------------------------


@app.command()
def doctor(data_dir: DataDirOption = None) -> None:
    """Check Python, ports, disk, embedded binaries, and the configured PostgreSQL and NATS."""
    from agora.platform.doctor import Verdict, run_checks

    settings = platform_settings(data_dir)
    checks = asyncio.run(run_checks(settings))
    colours = {Verdict.OK: "green", Verdict.WARN: "yellow", Verdict.FAIL: "bold red"}
    table = Table("check", "verdict", "detail")
    for check in checks:
        table.add_row(check.subject, f"[{colours[check.verdict]}]{check.verdict}[/]", check.detail)
    console.print(table)
    failed = sum(check.verdict is Verdict.FAIL for check in checks)
    if failed:
        raise fail(f"{failed} check(s) failed")
    console.print("[green]All good.[/]")


# --- agora events ---------------------------------------------------------------------------


@events_app.command("replay")
def events_replay(
    consumer: Annotated[str, typer.Argument(help="durable consumer name")],
    stream: Annotated[str, typer.Option(help="stream name, e.g. CATALOG")],
    from_seq: Annotated[int | None, typer.Option("--from-seq", help="stream sequence")] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="ISO time with timezone", formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"]
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(help="the consumer's service: forget its inbox so handlers run again"),
    ] = None,
) -> None:
    """Move a durable consumer back to a sequence or a time; it redelivers from there."""
    from nats.errors import Error as NatsError

    from agora.platform.bus.replay import replay_consumer
    from agora.platform.errors import DomainError

    if (from_seq is None) == (since is None):
        raise fail("give exactly one of --from-seq or --since")
    settings = platform_settings()
    try:
        info = asyncio.run(
            replay_consumer(
                settings.resolved_nats_url,
                stream,
                consumer,
                from_seq=from_seq,
                since=since,
                database_url=settings.resolved_database_url if service else None,
                schema=service,
            )
        )
    except DomainError as error:
        raise fail(error.message) from None
    except (OSError, TimeoutError, NatsError) as error:
        raise fail(
            f"NATS at {settings.resolved_nats_url}: {error or type(error).__name__}"
        ) from None
    start = f"sequence {from_seq}" if from_seq is not None else f"{since:%Y-%m-%d %H:%M:%S %Z}"
    console.print(f"consumer {info.name} on {info.stream_name} now delivers from {start}")


def _on_dead_letters(nats_url: str, action: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    """Run `action` on JetStream at `nats_url`; NATS errors and domain errors end the command."""
    from nats.errors import Error as NatsError

    from agora.platform.bus.dead_letters import dead_letters_at
    from agora.platform.errors import DomainError

    async def run() -> T:
        async with dead_letters_at(nats_url) as js:
            return await action(js)

    try:
        return asyncio.run(run())
    except DomainError as error:
        raise fail(error.message) from None
    except (OSError, TimeoutError, NatsError) as error:
        raise fail(f"NATS at {nats_url}: {error or type(error).__name__}") from None


@dead_letters_app.command("list")
def dead_letters_list(
    consumer: Annotated[
        str | None, typer.Option(help="only this durable consumer's dead letters")
    ] = None,
) -> None:
    """The dead-lettered messages, oldest first."""
    from agora.platform.bus.dead_letters import list_dead_letters

    settings = platform_settings()
    letters = _on_dead_letters(
        settings.resolved_nats_url, lambda js: list_dead_letters(js, consumer)
    )
    if not letters:
        console.print("no dead letters")
        return
    table = Table("seq", "consumer", "subject", "attempts", "error")
    for letter in letters:
        attempts = str(letter.deliveries) if letter.deliveries is not None else "?"
        table.add_row(
            str(letter.seq), letter.consumer, letter.original_subject, attempts, letter.error
        )
    console.print(table)


@dead_letters_app.command("show")
def dead_letters_show(
    seq: Annotated[int, typer.Argument(help="sequence in the DEAD_LETTERS stream (see list)")],
) -> None:
    """One dead letter in full: where it came from, why it failed, the event it carries."""
    from google.protobuf.json_format import MessageToDict

    from agora.platform.bus.dead_letters import dead_letter

    settings = platform_settings()
    letter = _on_dead_letters(settings.resolved_nats_url, lambda js: dead_letter(js, seq))
    envelope = letter.envelope()
    shown = {
        "seq": letter.seq,
        "consumer": letter.consumer,
        "subject": letter.original_subject,
        "stream": letter.original_stream,
        "stream_seq": letter.original_stream_seq,
        "attempts": letter.deliveries,
        "error": letter.error,
        "headers": letter.headers,
        "envelope": MessageToDict(envelope) if envelope is not None else None,
        "bytes": len(letter.data),
    }
    console.print_json(data=shown)


@dead_letters_app.command("retry")
def dead_letters_retry(
    seq: Annotated[int, typer.Argument(help="sequence in the DEAD_LETTERS stream (see list)")],
) -> None:
    """Deliver a dead letter again (after fixing its cause) and remove it from the dead letters.

    Its consumer handles it once; consumers that handled the event already skip it.
    """
    from agora.platform.bus.dead_letters import retry_dead_letter

    settings = platform_settings()
    letter = _on_dead_letters(settings.resolved_nats_url, lambda js: retry_dead_letter(js, seq))
    console.print(
        f"dead letter {letter.seq} published again on {letter.original_subject} "
        f"for {letter.consumer}"
    )


# --- agora bench ------------------------------------------------------------------------------


@bench_app.command("catalog")
def bench_catalog(
    url: Annotated[
        str | None, typer.Option(help="gateway base URL [default: the local gateway]")
    ] = None,
    duration: Annotated[float, typer.Option(help="seconds per scenario and connection count")] = 10,
    connections: Annotated[
        list[int] | None, typer.Option("--connections", "-c", help="repeatable [16, 64]")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Storefront reads through the gateway: list 20 products with prices, product by slug."""
    import httpx

    from agora.bench.catalog import markdown, run_catalog_bench

    base_url = url or GATEWAY.url()
    directory = platform_settings(data_dir).data_dir
    try:
        report = run_catalog_bench(
            base_url,
            status_file=status_path(directory),
            connections=connections or [16, 64],
            duration_s=duration,
        )
    except httpx.HTTPError as error:
        raise fail(f"no gateway at {base_url} ({error}); start the shop with `make run`") from None
    console.print(markdown(report))


@bench_app.command("checkout")
def bench_checkout(
    url: Annotated[
        str | None, typer.Option(help="gateway base URL [default: the local gateway]")
    ] = None,
    duration: Annotated[float, typer.Option(help="seconds per client count")] = 30,
    clients: Annotated[
        list[int] | None, typer.Option("--clients", "-c", help="repeatable [8, 16]")
    ] = None,
) -> None:
    """Completed checkouts/s: cart → place order → dev pay → `orders.order.paid` seen."""
    import grpc
    import httpx
    from nats.errors import Error as NatsError

    from agora.bench.checkout import markdown, run_checkout_bench
    from agora.platform.security.service_identity import (
        ServiceIdentity,
        load_service_key,
        service_key_path,
    )

    base_url = url or GATEWAY.url()
    settings = platform_settings()
    # Topping up and reading stock is staff work: the bench calls the catalog as `service:bench`.
    operator = ServiceIdentity("bench", load_service_key(service_key_path(settings)))
    try:
        runs, check = asyncio.run(
            run_checkout_bench(
                base_url,
                settings.resolved_nats_url,
                catalog_address=grpc_service("catalog").address(),
                clients=clients or [8, 16],
                duration_s=duration,
                staff_authorization=operator.authorization,
            )
        )
    except (httpx.HTTPError, OSError, NatsError, grpc.RpcError) as error:
        raise fail(f"no running shop at {base_url} ({error}); start it with `make run`") from None
    console.print(markdown(runs, check))
    if check.oversold or check.negative:
        raise typer.Exit(1)


# --- agora auth -------------------------------------------------------------------------------


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


@auth_app.command("rotate-keys")
def auth_rotate_keys(data_dir: DataDirOption = None) -> None:
    """Sign access tokens with a new key (after AGORA_AUTH_KEY_ACTIVATION_DELAY_S); the old key
    verifies until its tokens expire."""
    from agora.auth.commands import rotate_signing_keys

    settings = platform_settings(data_dir)
    box = open_secret_box(settings)
    try:
        rotation = asyncio.run(
            with_database(settings, rotate_signing_keys(settings.resolved_database_url, box))
        )
    except StartupFailed as failure:
        report_startup_failure(failure)
        raise typer.Exit(1) from None
    local = f"{rotation.activates_at.astimezone():%H:%M:%S}"
    console.print(f"key [bold]{rotation.new_kid}[/] is published and signs from {local}")
    if rotation.previous_published_until is not None:
        until = f"{rotation.previous_published_until.astimezone():%H:%M:%S}"
        console.print(
            f"key {rotation.previous_kid} signs until then and stays published until {until}"
        )


def open_secret_box(settings: PlatformSettings) -> SecretBox:
    """The deployment's SecretBox; exit 1 with the reason when its KEK cannot be read."""
    from agora.platform.security.envelope import KekError, secret_box

    try:
        return secret_box(settings)
    except KekError as error:
        raise fail(str(error)) from None


@secrets_app.command("rotate-kek")
def secrets_rotate_kek(
    data_dir: DataDirOption = None,
    grace_s: Annotated[
        float,
        typer.Option(
            "--grace-s", help="wait before the last pass, for writes sealed under the old KEK"
        ),
    ] = 2.0,
) -> None:
    """A new KEK in the KEK file; every secret at rest re-wrapped under it; then the old KEKs
    leave the file. Until then they stay readable, so running services keep working."""
    from agora.auth.commands import rewrap_secrets
    from agora.platform.security.envelope import (
        KekError,
        KekFile,
        SecretBox,
        SecretUnreadable,
        ensure_kek_file,
        new_key_line,
    )

    settings = platform_settings(data_dir)
    if settings.kek:
        raise fail("AGORA_KEK gives the keys: rotation rewrites a KEK file (AGORA_KEK_FILE)")
    open_secret_box(settings)  # the current keys must read before a new one joins them
    kek_file = KekFile(ensure_kek_file(settings))
    try:
        retired = kek_file.key_lines()
        new_key = new_key_line()
        kek_file.write([new_key, *retired])  # the new KEK wraps; the old ones still open
        box = SecretBox(kek_file)
        url = settings.resolved_database_url

        async def rewrap_twice() -> dict[str, int]:
            counts = await rewrap_secrets(url, box)
            await asyncio.sleep(grace_s)
            for column, rows in (await rewrap_secrets(url, box)).items():
                counts[column] = counts.get(column, 0) + rows
            return counts

        counts = asyncio.run(with_database(settings, rewrap_twice()))
        kek_file.write([new_key])
    except (KekError, SecretUnreadable) as error:
        raise fail(f"{error} (the KEK file keeps every key until a rotation completes)") from None
    except StartupFailed as failure:
        report_startup_failure(failure)
        raise typer.Exit(1) from None
    table = Table("secrets", "re-wrapped")
    for column, rows in counts.items():
        table.add_row(column, f"{rows:,}")
    console.print(table)
    console.print(f"KEK [bold]{box.current_kek_id}[/] now wraps every secret in {kek_file.path}")


@secrets_app.command("rewrap")
def secrets_rewrap(data_dir: DataDirOption = None) -> None:
    """Re-wrap every secret at rest under the first KEK of AGORA_KEK_FILE (or AGORA_KEK): for a
    KEK file you manage (a mounted secret), put the new key first and the old ones after it,
    roll it out, run this, then remove the old keys."""
    from agora.auth.commands import rewrap_secrets
    from agora.platform.security.envelope import SecretUnreadable

    settings = platform_settings(data_dir)
    box = open_secret_box(settings)
    try:
        counts = asyncio.run(
            with_database(settings, rewrap_secrets(settings.resolved_database_url, box))
        )
    except SecretUnreadable as error:
        raise fail(str(error)) from None
    except StartupFailed as failure:
        report_startup_failure(failure)
        raise typer.Exit(1) from None
    for column, rows in counts.items():
        console.print(f"{column}: {rows:,} re-wrapped")
    console.print(f"KEK [bold]{box.current_kek_id}[/] now wraps every secret")


@auth_app.command("create-user")
def auth_create_user(
    email: Annotated[str, typer.Option(help="the account's email (verified at once)")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="at least 12 characters")
    ],
    role: Annotated[
        list[str] | None, typer.Option(help="repeatable: customer, support, staff, admin, …")
    ] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    data_dir: DataDirOption = None,
) -> None:
    """Create an account with roles (bootstrap of staff and admins in development)."""
    from agora.auth.commands import create_user
    from agora.platform.errors import DomainError

    settings = platform_settings(data_dir)
    work = create_user(
        settings.resolved_database_url, email=email, password=password, roles=role or [], name=name
    )
    try:
        user = asyncio.run(with_database(settings, work))
    except DomainError as error:
        raise fail(error.message) from None
    except StartupFailed as failure:
        report_startup_failure(failure)
        raise typer.Exit(1) from None
    console.print(f"created {user.email} ({user.id}) with roles {', '.join(user.roles)}")


# --- agora mail -------------------------------------------------------------------------------


@mail_app.command("list")
def mail_list(data_dir: DataDirOption = None) -> None:
    """The messages the local SMTP sink received, oldest first."""
    from agora.platform.embedded.mail_sink import mail_directory, stored_mail

    directory = mail_directory(platform_settings(data_dir).data_dir)
    messages = stored_mail(directory)
    if not messages:
        console.print(f"no mail in {directory}")
        return
    table = Table("#", "received", "to", "subject")
    for mail in messages:
        received = f"{mail.received_at.astimezone():%Y-%m-%d %H:%M:%S}"
        table.add_row(str(mail.number), received, mail.to, mail.subject)
    console.print(table)


@mail_app.command("show")
def mail_show(
    number: Annotated[int, typer.Argument(help="the # of `agora mail list`")],
    data_dir: DataDirOption = None,
) -> None:
    """One message of the local SMTP sink: its headers and text."""
    from agora.platform.embedded.mail_sink import mail_directory, stored_mail

    directory = mail_directory(platform_settings(data_dir).data_dir)
    found = [mail for mail in stored_mail(directory) if mail.number == number]
    if not found:
        raise fail(f"no message #{number} in {directory} (see `agora mail list`)")
    mail = found[0]
    console.print(f"From: {mail.sender}\nTo: {mail.to}\nSubject: {mail.subject}\n", markup=False)
    console.print(mail.body(), markup=False, soft_wrap=True)


def main() -> None:
    """Entry point of `python -m agora`."""
    app()
