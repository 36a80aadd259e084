"""The `agora` command: run the whole shop (`up`), one service (`serve`), migrations, status and
health checks of the machine (`doctor`); the command groups (`agora auth …`, `agora events …`,
`agora seed …`, …) live with their concern and are mounted here.

Heavy libraries are imported inside the commands, and a group's module only when the group runs,
so that `agora --help`, `agora up` and `agora serve` import no more than they need.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import signal
import warnings
from collections.abc import Coroutine
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from agora.platform.command_line import (
    DataDirOption,
    console,
    errors,
    fail,
    platform_settings,
)
from agora.platform.services import GATEWAY, GRPC_SERVICES, grpc_service
from agora.platform.settings import PlatformSettings
from agora.platform.stack import (
    busy_ports,
    child_environment,
    migrate_with_database,
    run_stack,
    running_supervisor,
    status_path,
    status_table,
)

if TYPE_CHECKING:
    from typer._click import Command, Context  # the click that typer carries

# name: (module holding `<name>_app`, or several whose commands the group joins, what the
# group is for)
GROUPS: dict[str, tuple[str | tuple[str, ...], str]] = {
    "events": (
        "agora.platform.bus.commands",
        "Event streams: replay a consumer, re-drive dead letters.",
    ),
    "bench": (
        "agora.bench.commands",
        "Benchmarks against a running stack. Start it with AGORA_GATEWAY_RATE_LIMIT_ENABLED=false"
        " (`make run-bench`): the gateway's per-IP limit would otherwise throttle the load (429s).",
    ),
    "auth": ("agora.auth.commands", "Accounts and signing keys, on the auth schema."),
    "secrets": ("agora.auth.commands", "Secrets at rest: the key-encryption key (KEK)."),
    "mail": ("agora.auth.commands", "Mail kept by the local SMTP sink of `agora up`."),
    "chain": (
        "agora.chain.commands",
        "The development chain: mine blocks, the dev wallets' balances, pay an invoice.",
    ),
    "seed": (
        "agora.seed.commands",
        "Demo data: `agora seed --profile minimal|full|test`, `agora seed clean`.",
    ),
    # Tools reaching across services (the seed plan) join a service's group from their module.
    "support": (
        ("agora.evaluation.commands",),
        "The support service: `agora support eval` scores the assistant on scripted dialogues, "
        "`eval-recs` measures the recommendations.",
    ),
}


class CommandGroups(TyperGroup):
    """The root command, importing a group's module only when that group runs (its service,
    gRPC, SQLAlchemy, NATS take a second); until then a stand-in gives the group's summary to
    `agora --help` and to suggestions for a mistyped command."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, (_, summary) in GROUPS.items():
            self.add_command(TyperGroup(name=name, help=summary))

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name in GROUPS:
            modules, summary = GROUPS[name]
            first, *others = (modules,) if isinstance(modules, str) else modules
            group = _group_of(first, name)
            for module in others:
                for command_name, joined in _group_of(module, name).commands.items():
                    group.add_command(joined, command_name)
            group.name, group.help = name, summary
            command = group
        return name, command, rest


def _group_of(module: str, name: str) -> TyperGroup:
    group: TyperGroup = typer.main.get_group(
        getattr(importlib.import_module(module), f"{name}_app")
    )
    return group


app = typer.Typer(
    name="agora",
    cls=CommandGroups,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def agora() -> None:
    """Agora, an open-source commerce platform of Python microservices."""
    # pgserver asks platformdirs for a runtime directory when imported, which warns on hosts
    # without a login session; Agora never uses that directory.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


@app.command()
def up(
    data_dir: DataDirOption = None,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="do not seed demo data")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="echo process logs")] = False,
) -> None:
    """Start PostgreSQL, NATS and every service under one supervisor, until Ctrl-C."""
    from agora.platform.security.envelope import KekError
    from agora.platform.security.service_identity import ServiceKeyError
    from agora.seed.commands import refuse_seeding_outside_development, seed_first_run

    settings = platform_settings(data_dir)
    if not no_seed:
        refuse_seeding_outside_development(settings)
    supervisor = running_supervisor(settings.data_dir)
    if supervisor is not None:
        raise fail(f"agora up already runs over {settings.data_dir} (pid {supervisor})")
    try:
        env = child_environment(settings)
        busy = busy_ports(settings)
    except (ServiceKeyError, KekError, ValueError) as error:
        raise fail(str(error)) from None
    if busy:
        for label, port, variable in busy:
            errors.print(
                f"[bold red]error:[/] port {port} ({label}) is already in use: "
                f"set {variable} to a free port"
            )
        raise typer.Exit(1)
    first_run = None if no_seed else partial(seed_first_run, settings)
    raise typer.Exit(asyncio.run(run_stack(settings, env, first_run=first_run, verbose=verbose)))


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


@app.command()
def doctor(data_dir: DataDirOption = None) -> None:
    """Check Python, ports, disk, embedded binaries, the configured PostgreSQL and NATS, and the
    support assistant's model."""
    from rich.table import Table

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


def main() -> None:
    """Entry point of `python -m agora`."""
    app()
