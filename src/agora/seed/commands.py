"""`agora seed …` and the first-start seed of `agora up`.

The seeding modules (every service's bulk writer) are imported inside the commands: the root
`agora` command imports this module to refuse seeding in prod before `agora up` starts anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agora.platform.command_line import (
    DataDirOption,
    console,
    errors,
    fail,
    open_secret_box,
    platform_settings,
)
from agora.platform.settings import PlatformSettings, to_libpq_url
from agora.platform.stack import on_database
from agora.platform.supervisor import cancellation_requested

if TYPE_CHECKING:
    from agora.seed.logins import StaffLogins

seed_app = typer.Typer(invoke_without_command=True)


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
        return on_database(settings, work)
    except SeedError as error:
        raise fail(str(error)) from None


def refuse_seeding_outside_development(settings: PlatformSettings) -> None:
    """Exit 1 with `AGORA_ENV=prod`, before anything is started or written."""
    from agora.seed.logins import SeedingRefused, refuse_outside_development

    try:
        refuse_outside_development(settings)
    except SeedingRefused as error:
        raise fail(f"{error} (`agora up --no-seed` starts without demo data)") from None


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


async def seed_first_run(settings: PlatformSettings) -> str | None:
    """Seed the minimal profile unless this database was ever seeded; what was seeded in how
    long, for `agora up` to announce. A failure is a warning: the shop runs without the data."""
    import asyncpg

    from agora.platform.security.envelope import secret_box
    from agora.seed import runs
    from agora.seed.runner import seed_database

    began = time.monotonic()
    url = settings.resolved_database_url
    try:
        with console.status("Seeding the minimal profile…"):
            control = await asyncpg.connect(to_libpq_url(url))
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
        _seeding_failed(error)
        return None
    except Exception as error:  # the shop still runs; the user can seed again later
        _seeding_failed(error)
        return None
    assert outcome.plan is not None
    assert outcome.staff is not None
    print_logins(outcome.staff)
    plan = outcome.plan
    report = f"{len(plan.products)} products, {len(plan.users)} accounts, {len(plan.orders)} orders"
    return f"Seeded the minimal profile in {time.monotonic() - began:.1f} s: {report}"


def _seeding_failed(error: BaseException) -> None:
    errors.print(f"[bold yellow]warning:[/] seeding the minimal profile failed: {error!r}")
    errors.print("the stack keeps running; `agora seed` tries again")
