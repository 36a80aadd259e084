"""The offline evaluation on a small profile of the seed generator (deterministic: a fixed
clock), with the real embedding model: co-purchases beat popularity where the generator plants
bundles, and `agora support eval-recs` prints the table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from agora.cli import app
from agora.evaluation.recommendations import CEILING, EvalRun, run_evaluation
from agora.seed.generate import build_plan
from agora.support.embeddings import TextEmbedder
from agora.support.recommendation_eval import BASKET, NEXT

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def small_run(support_embedder: TextEmbedder) -> EvalRun:
    plan = build_plan("full", seed=7, scale=0.05, now=NOW)
    return run_evaluation(plan, test_days=28, embedder=support_embedder)


def rates(run: EvalRun, task: str) -> dict[str, tuple[float, float]]:
    return {r.method: (r.hit_rate, r.ndcg) for r in run.rows if r.task == task}


def test_also_bought_beats_popularity_on_completing_a_basket(small_run: EvalRun) -> None:
    basket = rates(small_run, BASKET)
    assert basket["also bought"][0] > 1.2 * basket["popular"][0]
    assert basket["also bought"][1] > 1.5 * basket["popular"][1]


def test_also_bought_finds_the_planted_bundles_far_better_than_popularity(
    small_run: EvalRun,
) -> None:
    bundled = rates(small_run, f"{BASKET}: bundled products")
    assert bundled["also bought"][0] >= 2 * bundled["popular"][0]


def test_every_method_is_scored_on_later_orders_only(small_run: EvalRun) -> None:
    assert small_run.train_orders > 0
    assert small_run.test_orders > 0
    assert set(rates(small_run, BASKET)) == {"popular", "also bought", "similar", CEILING}
    assert set(rates(small_run, NEXT)) == {"popular", "for you"}
    assert all(r.queries > 0 for r in small_run.rows)
    assert all(0.0 <= r.hit_rate <= 1.0 and 0.0 <= r.ndcg <= 1.0 for r in small_run.rows)


def test_the_same_plan_gives_the_same_table(
    small_run: EvalRun, support_embedder: TextEmbedder
) -> None:
    again = run_evaluation(
        build_plan("full", seed=7, scale=0.05, now=NOW),
        test_days=28,
        embedder=support_embedder,
    )
    assert again.rows == small_run.rows


def test_eval_recs_prints_the_markdown_table() -> None:
    result = CliRunner().invoke(
        app,
        ["support", "eval-recs", "--profile", "full", "--scale", "0.02", "--markdown"],
    )
    assert result.exit_code == 0, result.output
    assert "| basket completion | also bought |" in result.output
    assert "| next purchases | for you |" in result.output


def test_eval_recs_refuses_an_unknown_profile() -> None:
    result = CliRunner().invoke(app, ["support", "eval-recs", "--profile", "huge"])
    assert result.exit_code == 2
    assert "unknown profile" in result.output
