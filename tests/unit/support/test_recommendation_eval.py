"""The offline evaluation's protocol and metrics, pure: the split, the queries, the scores."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from agora.support.recommendation_eval import (
    BASKET,
    NEXT,
    NextQuery,
    Purchase,
    PurchaseModel,
    Score,
    basket_queries,
    compared_with_popular,
    evaluate,
    hit_at,
    markdown_table,
    ndcg_at,
    next_queries,
    score,
    time_split,
)
from agora.support.recommending import Method, Recommended, Scored

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def bought(n: int, customer: str, day: int, *products: str) -> Purchase:
    return Purchase(f"order-{n}", customer, T0 + timedelta(days=day), products)


def answer(*products: str) -> Recommended:
    items = tuple(Scored(p, 1.0, Method.POPULAR) for p in products)
    return Recommended(Method.POPULAR, Method.POPULAR, items)


def test_hit_rate_counts_a_wanted_product_only_within_the_first_k() -> None:
    assert hit_at(["a", "b", "c"], frozenset({"c"}), k=3)
    assert not hit_at(["a", "b", "c"], frozenset({"c"}), k=2)
    assert not hit_at([], frozenset({"c"}))


def test_ndcg_is_one_for_the_ideal_ranking_and_discounts_later_hits() -> None:
    assert ndcg_at(["a", "b", "x"], frozenset({"a", "b"})) == pytest.approx(1.0)
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at(["x", "a", "b"], frozenset({"a", "b"})) == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(4)) / ideal
    )
    assert ndcg_at(["x"], frozenset({"a"})) == 0.0
    assert ndcg_at(["a"], frozenset()) == 0.0


def test_the_ideal_gain_counts_at_most_k_wanted_products() -> None:
    wanted = frozenset(str(n) for n in range(20))
    assert ndcg_at([str(n) for n in range(10)], wanted, k=10) == pytest.approx(1.0)


def test_the_split_learns_before_the_cut_and_tests_from_it_on() -> None:
    purchases = [bought(2, "c", 5, "a"), bought(1, "c", 1, "a"), bought(3, "c", 10, "b")]
    split = time_split(purchases, T0 + timedelta(days=5))
    assert [p.order_id for p in split.train] == ["order-1"]
    assert [p.order_id for p in split.test] == ["order-2", "order-3"]


def test_basket_queries_ask_about_each_product_of_orders_of_two_or_more() -> None:
    queries = list(basket_queries([bought(1, "c", 0, "a", "b", "a"), bought(2, "c", 0, "z")]))
    assert [(q.product_id, sorted(q.wanted)) for q in queries] == [("a", ["b"]), ("b", ["a"])]


def test_next_queries_need_purchases_on_both_sides_of_the_cut() -> None:
    model = PurchaseModel.of([bought(1, "ann", 0, "a"), bought(2, "ann", 2, "b", "c")])
    later = [bought(3, "ann", 9, "d"), bought(4, "ann", 9, "e"), bought(5, "bob", 9, "a")]
    assert list(next_queries(model, later)) == [
        NextQuery("ann", ("b", "c", "a"), frozenset({"d", "e"}))
    ]


def test_the_model_counts_sales_pairs_and_orders_as_the_service_does() -> None:
    model = PurchaseModel.of([bought(1, "", 0, "a", "b", "b"), bought(2, "", 1, "a", "c")])
    assert model.total_orders == 2
    assert dict(model.sales) == {"a": 2, "b": 1, "c": 1}
    assert [(n.product_id, n.together, n.orders) for n in model.neighbours("a")] == [
        ("b", 1, 1),
        ("c", 1, 1),
    ]
    assert [s.product_id for s in model.popular_sales(1)] == ["a"]
    assert model.recent_purchases("") == []


def test_each_method_is_scored_on_its_task_against_popular() -> None:
    train = [bought(n, "ann", 0, "a", "b") for n in range(3)] + [bought(9, "bob", 0, "z")]
    test = [bought(10, "ann", 30, "a", "b")]
    split = time_split(train + test, T0 + timedelta(days=20))
    model = PurchaseModel.of(split.train)
    rows = evaluate(
        split,
        model,
        {"popular": lambda q: answer("z"), "perfect": lambda q: answer("b" if q == "a" else "a")},
        {"popular": lambda q: answer("z"), "for you": lambda q: answer("a")},
    )
    assert [(r.task, r.method, r.queries, r.hit_rate) for r in rows] == [
        (BASKET, "popular", 2, 0.0),
        (BASKET, "perfect", 2, 1.0),
        (NEXT, "popular", 1, 0.0),
        (NEXT, "for you", 1, 1.0),
    ]


def test_rows_compare_their_hit_rate_with_their_tasks_popular_row() -> None:
    rows = compared_with_popular(
        [
            Score(BASKET, "popular", 10, 0.25, 0.1),
            Score(BASKET, "also bought", 10, 0.5, 0.3),
            Score(NEXT, "for you", 10, 0.5, 0.3),
        ]
    )
    assert [r.versus_popular for r in rows] == [1.0, 2.0, 0.0]


def test_scores_average_over_queries_and_none_scores_zero() -> None:
    row = score(BASKET, "m", [(["a"], frozenset({"a"})), (["b"], frozenset({"a"}))])
    assert (row.queries, row.hit_rate, row.ndcg) == (2, 0.5, 0.5)
    assert score(BASKET, "m", []).queries == 0


def test_the_markdown_table_has_a_row_per_score() -> None:
    table = markdown_table([Score(BASKET, "popular", 1234, 0.3281, 0.16, 1.0)])
    lines = table.splitlines()
    assert lines[0].startswith("| task | method | queries | hit rate@10 | NDCG@10 |")
    assert lines[2] == "| basket completion | popular | 1,234 | 0.328 | 0.160 | 1.00x |"


def test_a_segment_scores_the_basket_queries_about_its_products_alone() -> None:
    split = time_split(
        [bought(1, "ann", 0, "a", "b"), bought(2, "ann", 30, "a", "b", "c")],
        T0 + timedelta(days=20),
    )
    rows = evaluate(
        split,
        PurchaseModel.of(split.train),
        {"popular": lambda q: answer("c"), "also bought": lambda q: answer("b")},
        {},
        segments={"bundled": lambda q: q == "a"},
    )
    segment = [(r.method, r.queries, r.hit_rate) for r in rows if r.task == f"{BASKET}: bundled"]
    assert segment == [("popular", 1, 1.0), ("also bought", 1, 1.0)]
    whole = [(r.method, r.queries) for r in rows if r.task == BASKET]
    assert whole == [("popular", 3), ("also bought", 3)]
