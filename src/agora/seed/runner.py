"""`agora seed`: generate a plan and hand each service's part to that service's bulk writer,
one transaction per service (auth → catalog → payments → orders → support), with progress bars
and a summary; and `agora seed clean`, which removes what recorded runs wrote.

At most one seeded plan lives in a database: seeding another profile, seed, scale or a newer
seed-data version first removes the recorded run's rows (regenerating its plan for the ids),
then writes the new plan ("upgrade in place"). The same run again changes nothing.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
from asyncpg.transaction import Transaction
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agora.platform.security.envelope import SecretBox
from agora.platform.seeding import SeedPlan, ServiceSeeder
from agora.platform.settings import to_libpq_url
from agora.seed import runs
from agora.seed.generate import STAFF_ACCOUNTS, build_plan
from agora.seed.logins import StaffLogins
from agora.seed.profiles import DATA_VERSION, profile_named

# Writers run in this order (accounts and products before the orders that name them; the
# support service's recommendation models last, from both).
SERVICES = ("auth", "catalog", "payments", "orders", "support")


class SeedError(Exception):
    """Seeding cannot start (the database is not ready); nothing was written."""


@dataclass
class Outcome:
    """What one `agora seed` did."""

    written: bool
    plan: SeedPlan | None = None
    # entity → (rows, seconds)
    entities: dict[str, tuple[int, float]] = field(default_factory=dict)
    seconds: float = 0.0
    removed_runs: int = 0
    # The staff logins the plan gave its staff and admin accounts.
    staff: StaffLogins | None = None


def service_seeders(secrets: SecretBox | None = None) -> list[ServiceSeeder]:
    """Every service's `agora.<service>.seeding.SEEDER`, in writing order; auth's seals the
    staff accounts' TOTP secrets with `secrets`."""
    from agora.auth.seeding import AuthSeeder

    seeders = [importlib.import_module(f"agora.{s}.seeding").SEEDER for s in SERVICES]
    return [AuthSeeder(secrets) if s.service == "auth" else s for s in seeders]


async def _connect(database_url: str, schema: str | None = None) -> asyncpg.Connection:
    settings = {"search_path": f"{schema},public"} if schema else {}
    try:
        return await asyncpg.connect(to_libpq_url(database_url), server_settings=settings)
    except (OSError, asyncpg.PostgresError) as error:
        raise SeedError(f"cannot connect to the database: {error}") from None


async def ensure_migrated(conn: asyncpg.Connection, database_url: str) -> None:
    """SeedError unless every service's schema is at its migration head."""
    from alembic.script import ScriptDirectory

    from agora.platform.migrations import VERSION_TABLE, alembic_config

    behind = []
    for service in SERVICES:
        head = ScriptDirectory.from_config(alembic_config(service, database_url)).get_current_head()
        table = f'"{service}".{VERSION_TABLE}'
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
        current = await conn.fetchval(f"SELECT version_num FROM {table}") if exists else None
        if current != head:
            behind.append(f"{service} (at {current or 'nothing'}, head {head})")
    if behind:
        raise SeedError(
            "the database is not migrated: " + ", ".join(behind) + "; run `agora migrate` first"
        )


class _Bars:
    """Rich progress bars per entity, and the seconds each entity took."""

    def __init__(self, console: Console, totals: dict[str, int]) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.totals = totals
        self.tasks: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def mark(self) -> None:
        """Time until the next report is the next entity's (not the plan's or a commit's)."""
        self.last = time.perf_counter()

    def __call__(self, entity: str, rows: int) -> None:
        now = time.perf_counter()
        self.seconds[entity] = self.seconds.get(entity, 0.0) + now - self.last
        self.last = now
        self.rows[entity] = self.rows.get(entity, 0) + rows
        if entity not in self.tasks:
            self.tasks[entity] = self.progress.add_task(entity, total=self.totals.get(entity))
        self.progress.advance(self.tasks[entity], rows)  # type: ignore[arg-type]


def _expected_rows(plan: SeedPlan) -> dict[str, int]:
    variants = [v for p in plan.products for v in p.variants]
    return {
        "users": len(plan.users),
        "user_roles": sum(len(u.roles) for u in plan.users),
        "categories": len(plan.categories),
        "products": len(plan.products),
        "variants": len(variants),
        "prices": sum(len(v.prices) for v in variants),
        "product_prices": sum(
            len({c for v in p.variants for c in v.prices}) for p in plan.products
        ),
        "stock": len(variants),
        "reservations": len(plan.orders),
        "reservation_lines": sum(len(o.lines) for o in plan.orders),
        "orders": len(plan.orders),
    }


async def _in_transactions(
    database_url: str,
    seeders: Sequence[ServiceSeeder],
    work: Callable[[ServiceSeeder, asyncpg.Connection], Awaitable[dict[str, int]]],
) -> dict[str, int]:
    """Run `work(seeder, conn)` for each seeder in its own transaction on a connection in its
    schema; commit them all at the end, or roll every one back on a failure."""
    counts: dict[str, int] = {}
    opened: list[tuple[asyncpg.Connection, Transaction]] = []
    try:
        for seeder in seeders:
            conn = await _connect(database_url, seeder.service)
            transaction = conn.transaction()
            await transaction.start()
            opened.append((conn, transaction))
            found = await work(seeder, conn)
            counts.update({f"{seeder.service}.{k}": v for k, v in found.items()})
        for _, transaction in opened:
            await transaction.commit()
        return counts
    except BaseException:
        for conn, transaction in opened:
            if not conn.is_closed():
                await transaction.rollback()
        raise
    finally:
        for conn, _ in opened:
            await conn.close()


async def _remove(
    database_url: str, control: asyncpg.Connection, run: runs.Run, seeders: Sequence[ServiceSeeder]
) -> dict[str, int]:
    """Delete a recorded run's rows (its plan generated again), last writer first."""
    try:
        plan = build_plan(
            run.profile,
            seed=run.seed,
            scale=run.scale,
            now=run.plan_now,
            data_version=run.data_version,
        )
    except ValueError as error:
        raise SeedError(f"cannot remove the recorded {run.profile} run: {error}") from None

    async def clean(seeder: ServiceSeeder, conn: asyncpg.Connection) -> dict[str, int]:
        return await seeder.clean(conn, plan)

    counts = await _in_transactions(database_url, list(reversed(seeders)), clean)
    await runs.mark_removed(control, run.id)
    return counts


async def seed_database(
    database_url: str,
    profile: str,
    *,
    seed: int,
    scale: float,
    console: Console,
    seeders: Sequence[ServiceSeeder] | None = None,
    staff: Callable[[], StaffLogins] | None = None,
    secrets: SecretBox | None = None,
) -> Outcome:
    """Seed `profile` into a migrated database (a no-op when this very run is recorded).

    The staff and admin accounts get the logins `staff()` gives (asked only when a plan is
    written; their TOTP secrets sealed with `secrets`); without them they get no password and
    no TOTP.
    """
    profile_named(profile)
    if scale <= 0:
        raise ValueError("scale must be positive")
    seeders = list(seeders) if seeders is not None else service_seeders(secrets)
    control = await _connect(database_url)
    try:
        await ensure_migrated(control, database_url)
        await runs.prepare(control)
        try:
            return await _seed_locked(
                database_url, control, profile, seed, scale, console, seeders, staff
            )
        finally:
            await runs.release(control)
    finally:
        await control.close()


async def _seed_locked(
    database_url: str,
    control: asyncpg.Connection,
    profile: str,
    seed: int,
    scale: float,
    console: Console,
    seeders: list[ServiceSeeder],
    staff_source: Callable[[], StaffLogins] | None,
) -> Outcome:
    began = time.perf_counter()
    live = await runs.live_runs(control)
    if any(r.status == "finished" and r.same_as(profile, DATA_VERSION, seed, scale) for r in live):
        console.print(
            f"already seeded: profile {profile} (data version {DATA_VERSION}, seed {seed},"
            f" scale {scale:g})"
        )
        return Outcome(written=False)
    for run in live:
        what = "upgrading in place" if run.profile == profile else "replacing"
        console.print(
            f"{what}: removing the rows of run {run.id} (profile {run.profile},"
            f" data version {run.data_version}, seed {run.seed}, scale {run.scale:g})"
        )
        await _remove(database_url, control, run, seeders)
    staff = staff_source() if staff_source is not None else None
    with console.status(f"generating the {profile} plan…"):
        plan = build_plan(
            profile, seed=seed, scale=scale, staff_logins=staff.by_email if staff else None
        )
    generated = time.perf_counter() - began
    run_id = await runs.start(
        control,
        profile=profile,
        data_version=DATA_VERSION,
        seed=seed,
        scale=scale,
        plan_now=plan.now,
    )
    bars = _Bars(console, _expected_rows(plan))

    async def write(seeder: ServiceSeeder, conn: asyncpg.Connection) -> dict[str, int]:
        bars.mark()
        return await seeder.write(conn, plan, bars)

    try:
        with bars.progress:
            counts = await _in_transactions(database_url, seeders, write)
    except BaseException:
        await runs.finish(control, run_id, "failed", {})
        raise
    await runs.finish(control, run_id, "finished", counts)
    entities = {
        key: (rows, bars.seconds.get(key.split(".", 1)[1], 0.0)) for key, rows in counts.items()
    }
    return Outcome(
        written=True,
        plan=plan,
        entities={"plan (generated)": (0, generated), **entities},
        seconds=time.perf_counter() - began,
        removed_runs=len(live),
        staff=staff,
    )


async def clean_database(
    database_url: str,
    profile: str | None,
    *,
    console: Console,
    seeders: Sequence[ServiceSeeder] | None = None,
) -> dict[str, int]:
    """Remove the rows of every recorded run (of `profile`, if given); rows per entity."""
    if profile is not None:
        profile_named(profile)
    seeders = list(seeders) if seeders is not None else service_seeders()
    control = await _connect(database_url)
    try:
        await ensure_migrated(control, database_url)
        await runs.prepare(control)
        try:
            totals: dict[str, int] = {}
            for run in await runs.live_runs(control, profile):
                console.print(f"removing run {run.id} (profile {run.profile}, seed {run.seed})")
                for key, rows in (await _remove(database_url, control, run, seeders)).items():
                    totals[key] = totals.get(key, 0) + rows
            return totals
        finally:
            await runs.release(control)
    finally:
        await control.close()


def summary_table(outcome: Outcome) -> Table:
    """Entity, rows, seconds and rows per second of a seeding."""
    table = Table("entity", "rows", "seconds", "rows/s", title="seeded")
    for entity, (rows, seconds) in outcome.entities.items():
        rate = f"{rows / seconds:,.0f}" if rows and seconds > 0 else "-"
        table.add_row(entity, f"{rows:,}" if rows else "-", f"{seconds:.2f}", rate)
    table.add_row("[bold]total[/]", "", f"{outcome.seconds:.2f}", "")
    return table


def credentials_lines(staff: StaffLogins) -> list[str]:
    """Development staff logins as lines to copy (no table: a folded cell breaks a password):
    email, password, TOTP secret, then the otpauth URI for an authenticator app."""
    from agora.auth.totp import otpauth_uri

    lines = [f"development logins (printed once; kept in {staff.path}):"]
    for email, _ in STAFF_ACCOUNTS:
        login = staff.by_email[email]
        lines.append(f"  {email}  password {login.password}  TOTP secret {login.totp_secret}")
        lines.append(f"    {otpauth_uri(login.totp_secret, email)}")
    return lines
