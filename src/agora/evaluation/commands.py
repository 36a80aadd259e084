"""`agora support eval-recs`: the recommendations measured offline (recommendations.py), the
table printed for docs/benchmarks.md. Mounted in the `agora support` group by the command line
(agora.cli.GROUPS), beside the support service's own commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from agora.platform.command_line import console, fail

support_app = typer.Typer(no_args_is_help=True)

# The evaluation's default clock: fixed, so that the full profile (whose seeded clock is "now")
# gives the same plan, and the same table, on every run.
EVAL_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@support_app.command("eval-recs")
def eval_recs(
    profile: Annotated[str, typer.Option(help="seed profile: minimal, full or test")] = "full",
    seed_value: Annotated[int, typer.Option("--seed", help="the seed's random seed")] = 1,
    scale: Annotated[float, typer.Option(help="multiply the profile's sizes")] = 1.0,
    now: Annotated[
        datetime | None,
        typer.Option(help="the plan's clock (UTC) [default: 2026-01-15T12:00:00]"),
    ] = None,
    test_days: Annotated[
        int, typer.Option(min=1, max=180, help="days before the clock to test on")
    ] = 28,
    markdown: Annotated[bool, typer.Option(help="print a markdown table instead")] = False,
) -> None:
    """Hit rate@10 and NDCG@10 of each recommendation method against popularity, on the seed
    generator's plan (deterministic) split by time: learn before the cut, test after it."""
    from agora.evaluation.recommendations import run_evaluation
    from agora.seed.generate import build_plan
    from agora.seed.profiles import profile_named
    from agora.support.recommendation_eval import markdown_table

    try:
        profile_named(profile)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--profile") from None
    if scale <= 0:
        raise typer.BadParameter(f"must be positive, not {scale:g}", param_hint="--scale")
    clock = now.replace(tzinfo=UTC) if now is not None else EVAL_NOW
    with console.status(f"generating the {profile} plan (seed {seed_value}, scale {scale:g})"):
        plan = build_plan(profile, seed=seed_value, scale=scale, now=clock)
    with console.status("learning and scoring"):
        run = run_evaluation(plan, test_days=test_days)
    if run.test_orders == 0 or run.train_orders == 0:
        raise fail(f"no paid orders on one side of the cut ({run.cut:%Y-%m-%d}): try --test-days")
    summary = (
        f"{run.profile} profile, seed {run.seed}, scale {run.scale:g}, clock {run.now:%Y-%m-%d}:"
        f" {run.products:,} products; learned from {run.train_orders:,} paid orders before"
        f" {run.cut:%Y-%m-%d}, tested on {run.test_orders:,} after ({run.seconds:.0f} s)"
    )
    if markdown:
        console.print(summary, highlight=False, soft_wrap=True)
        console.print(markdown_table(run.rows), highlight=False, soft_wrap=True)
        return
    table = Table(title=summary, title_justify="left")
    for column in ("task", "method", "queries", "hit rate@10", "NDCG@10", "hit rate vs popular"):
        table.add_column(column, justify="left" if column in ("task", "method") else "right")
    for r in run.rows:
        table.add_row(
            r.task,
            r.method,
            f"{r.queries:,}",
            f"{r.hit_rate:.3f}",
            f"{r.ndcg:.3f}",
            f"{r.versus_popular:.2f}x",
        )
    console.print(table)
