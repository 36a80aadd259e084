"""`agora support eval-recs`: the recommendations measured offline (recommendations.py);
`agora support eval`: the assistant scored on scripted dialogues (dialogues.py). Both print
tables for docs/benchmarks.md. Mounted in the `agora support` group by the command line
(agora.cli.GROUPS), beside the support service's own commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from agora.platform.command_line import console, fail

if TYPE_CHECKING:
    from agora.evaluation.dialogues import SuiteRun

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


NO_MODEL = "none"


@support_app.command("eval")
def eval_dialogues(
    provider: Annotated[
        str | None,
        typer.Option(
            help="an agora.llm_providers entry point, or `none` for templates only "
            "[default: AGORA_SUPPORT_LLM_PROVIDER]"
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="the OpenAI-compatible API (…/v1) [default: AGORA_SUPPORT_LLM_BASE_URL;"
            " unset: templates only]"
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="the model to ask [default: AGORA_SUPPORT_LLM_MODEL]")
    ] = None,
    tool_calling: Annotated[
        str | None,
        typer.Option(help="guided or native [default: AGORA_SUPPORT_LLM_TOOL_CALLING]"),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="play only the first N dialogues")
    ] = None,
    only: Annotated[
        str | None, typer.Option(help="play only the dialogues of this category or id")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the scores as JSON")] = False,
    markdown: Annotated[bool, typer.Option(help="print a markdown table instead")] = False,
    failures: Annotated[bool, typer.Option(help="list what went wrong, turn by turn")] = False,
) -> None:
    """Play the scripted support dialogues against the evaluation shop and score the assistant:
    task success, tool calls, refusals, hand-over, unsafe actions, speed and tokens. The exit
    code reports errors, never scores."""
    import asyncio
    import json

    from pydantic import ValidationError

    from agora.evaluation.dialogues import load_suite, run_suite
    from agora.support.dialogue_eval import SuiteError
    from agora.support.llm import chat_model
    from agora.support.settings import SupportSettings

    overrides: dict[str, object] = {}
    if provider is not None and provider != NO_MODEL:
        overrides["llm_provider"] = provider
    if base_url is not None:
        overrides["llm_base_url"] = base_url
    if model is not None:
        overrides["llm_model"] = model
    if tool_calling is not None:
        overrides["llm_tool_calling"] = tool_calling
    try:
        settings = SupportSettings(**overrides)  # type: ignore[arg-type]
        dialogues = load_suite()
    except (ValidationError, SuiteError) as error:
        raise fail(str(error)) from None
    if only is not None:
        dialogues = [d for d in dialogues if only in (d.id, d.category)]
        if not dialogues:
            raise fail(f"no dialogue has the id or category {only!r}")
    dialogues = dialogues[:limit] if limit is not None else dialogues
    config = settings.llm_config() if provider != NO_MODEL else None
    try:
        chat = chat_model(config) if config is not None else None
    except ValueError as error:
        raise fail(str(error)) from None

    async def run() -> SuiteRun:
        try:
            return await run_suite(dialogues, chat, settings.assistant_policy())
        finally:
            if chat is not None:
                await chat.aclose()

    label = f"model {chat.name} at {config.base_url}" if chat and config else "templates only"
    with console.status(f"playing {len(dialogues)} dialogues ({label})"):
        result = asyncio.run(run())
    _print_suite(result, label, as_json=as_json, markdown=markdown, failures=failures, json=json)


def _print_suite(
    result: SuiteRun, label: str, *, as_json: bool, markdown: bool, failures: bool, json: Any
) -> None:
    from agora.support.dialogue_eval import (
        TABLE_COLUMNS,
        markdown_table,
        report_json,
        speed_lines,
        table_rows,
    )

    report = result.report
    if as_json:
        payload = {"model": result.model, "mode": result.mode, "seconds": result.seconds,
                   **report_json(report)}  # fmt: skip
        console.print_json(json.dumps(payload))
        return
    summary = (
        f"{report.overall.dialogues} dialogues, {label}, {result.mode} tool calling "
        f"({result.seconds:.0f} s)"
    )
    if markdown:
        console.print(summary, highlight=False, soft_wrap=True)
        console.print(markdown_table(report), highlight=False, soft_wrap=True)
    else:
        table = Table(title=summary, title_justify="left")
        for column in TABLE_COLUMNS:
            table.add_column(column, justify="left" if column == "category" else "right")
        for row in table_rows(report):
            table.add_row(*row)
        console.print(table)
    for line in speed_lines(report):
        console.print(line, highlight=False, soft_wrap=True)
    if failures:
        for dialogue, turn, problems in report.failures:
            console.print(f"{dialogue} turn {turn}: {'; '.join(problems)}", highlight=False,
                          soft_wrap=True, markup=False)  # fmt: skip
