"""The recommendation rules, pure: scoring, fallbacks, request checks, and which orders count."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from agora.platform.errors import InvalidArgument
from agora.support.recommending import (
    DEFAULT_LIMIT,
    PRIOR_ORDERS,
    PURCHASE_TRANSITIONS,
    CatalogProduct,
    CoPurchase,
    Method,
    Neighbour,
    OrderFact,
    PurchaseRecord,
    PurchaseState,
    Sales,
    also_bought,
    co_purchase_pairs,
    for_you,
    next_purchase_state,
    popular,
    product_archived,
    product_question,
    product_text,
    product_update,
    purchase_after,
    recommendation_limit,
    similar,
)

P = [f"00000000-0000-4000-8000-{n:012d}" for n in range(20)]
POPULAR_SALES = [Sales(P[1], 500), Sales(P[2], 400), Sales(P[3], 300), Sales(P[4], 5)]
TOTAL = 10_000


def test_popular_ranks_by_orders_and_leaves_out_the_product_asked_about() -> None:
    answer = popular(POPULAR_SALES, limit=2, exclude=P[1])
    assert [s.product_id for s in answer.items] == [P[2], P[3]]
    assert (answer.kind, answer.method) == (Method.POPULAR, Method.POPULAR)


def test_popular_breaks_ties_by_id_so_the_answer_is_stable() -> None:
    answer = popular([Sales(P[9], 3), Sales(P[5], 3)], limit=2)
    assert [s.product_id for s in answer.items] == [P[5], P[9]]


def test_a_product_bought_with_the_one_asked_about_outranks_best_sellers_not_bought_with_it() -> (
    None
):
    neighbours = [CoPurchase(P[7], together=40, orders=60)]
    answer = also_bought(P[0], 80, neighbours, POPULAR_SALES, TOTAL, limit=3)
    assert (answer.kind, answer.method) == (Method.ALSO_BOUGHT, Method.ALSO_BOUGHT)
    assert [s.product_id for s in answer.items] == [P[7], P[1], P[2]]
    assert [s.source for s in answer.items] == [Method.ALSO_BOUGHT, Method.POPULAR, Method.POPULAR]


def test_two_coincidences_of_a_rarely_bought_product_do_not_beat_a_best_seller() -> None:
    # Bought twice, once with P[7]: the prior (worth PRIOR_ORDERS orders) outweighs it.
    neighbours = [CoPurchase(P[7], together=1, orders=1)]
    answer = also_bought(P[0], 2, neighbours, POPULAR_SALES, TOTAL, limit=5)
    assert [s.product_id for s in answer.items] == [P[1], P[2], P[3], P[7], P[4]]


def test_the_estimate_is_the_m_estimate_of_buying_both() -> None:
    neighbours = [CoPurchase(P[7], together=10, orders=100)]
    answer = also_bought(P[0], 40, neighbours, [], TOTAL, limit=1)
    expected = (10 + PRIOR_ORDERS * 100 / TOTAL) / (40 + PRIOR_ORDERS)
    assert answer.items[0].score == pytest.approx(expected)


def test_also_bought_of_a_product_never_bought_with_another_is_popular() -> None:
    answer = also_bought(P[0], 3, [], POPULAR_SALES, TOTAL, limit=2)
    assert (answer.kind, answer.method) == (Method.ALSO_BOUGHT, Method.POPULAR)
    assert [s.product_id for s in answer.items] == [P[1], P[2]]


def test_similar_ranks_by_similarity_then_fills_with_popular_products() -> None:
    nearest = [Neighbour(P[8], 0.5), Neighbour(P[9], 0.9), Neighbour(P[0], 1.0)]
    answer = similar(P[0], nearest, POPULAR_SALES, limit=4)
    assert [s.product_id for s in answer.items] == [P[9], P[8], P[1], P[2]]
    assert [s.source for s in answer.items] == [
        Method.SIMILAR,
        Method.SIMILAR,
        Method.POPULAR,
        Method.POPULAR,
    ]
    scores = [s.score for s in answer.items]
    assert scores == sorted(scores, reverse=True)


def test_similar_without_an_embedding_is_popular() -> None:
    answer = similar(P[0], [], POPULAR_SALES, limit=2)
    assert (answer.kind, answer.method) == (Method.SIMILAR, Method.POPULAR)


def test_for_you_follows_the_newest_purchase_first() -> None:
    neighbours = {
        P[10]: [CoPurchase(P[11], together=30, orders=40)],  # newest purchase
        P[12]: [CoPurchase(P[13], together=30, orders=40)],
    }
    orders = {P[10]: 50, P[12]: 50}
    answer = for_you([P[10], P[12], P[10]], orders, neighbours, [], TOTAL, limit=2)
    assert (answer.kind, answer.method) == (Method.FOR_YOU, Method.FOR_YOU)
    assert [s.product_id for s in answer.items] == [P[11], P[13]]
    assert answer.items[0].score > answer.items[1].score


def test_for_you_without_purchases_is_popular() -> None:
    answer = for_you([], {}, {}, POPULAR_SALES, TOTAL, limit=2)
    assert (answer.kind, answer.method) == (Method.FOR_YOU, Method.POPULAR)
    assert [s.product_id for s in answer.items] == [P[1], P[2]]


def test_for_you_with_purchases_never_bought_with_anything_is_popular() -> None:
    answer = for_you([P[10]], {P[10]: 1}, {}, POPULAR_SALES, TOTAL, limit=2)
    assert answer.method == Method.POPULAR
    assert [s.product_id for s in answer.items] == [P[1], P[2]]


@pytest.mark.parametrize(("asked", "answered"), [(0, DEFAULT_LIMIT), (1, 1), (50, 50)])
def test_the_limit_defaults_and_stays_within_bounds(asked: int, answered: int) -> None:
    assert recommendation_limit(asked) == answered


@pytest.mark.parametrize("limit", [-1, 51])
def test_a_limit_out_of_bounds_is_invalid(limit: int) -> None:
    with pytest.raises(InvalidArgument) as refused:
        recommendation_limit(limit)
    assert refused.value.violations[0].field == "limit"


@pytest.mark.parametrize(
    ("kind", "product_id", "fields"),
    [
        (None, P[0], ["kind"]),
        (Method.FOR_YOU, P[0], ["kind"]),
        (Method.ALSO_BOUGHT, "", ["productId"]),
        (Method.SIMILAR, "nope", ["productId"]),
        (None, "nope", ["kind", "productId"]),
    ],
)
def test_a_product_question_names_every_bad_field(
    kind: Method | None, product_id: str, fields: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        product_question(kind, product_id, 0)
    assert [v.field for v in refused.value.violations] == fields


def test_popular_needs_no_product_and_ids_are_canonical() -> None:
    assert product_question(Method.POPULAR, "", 0).product_id == ""
    assert product_question(Method.SIMILAR, P[3].upper(), 5).product_id == P[3]


def test_a_products_text_is_its_title_then_its_description_bounded() -> None:
    assert product_text(" Desk ", " Oak. ") == "Desk. Oak."
    assert product_text("Desk", "") == "Desk"
    assert len(product_text("Desk", "x" * 10_000)) == 2000


def test_co_purchase_pairs_are_every_ordered_pair_of_distinct_products_sorted() -> None:
    assert co_purchase_pairs([P[2], P[1], P[2]]) == [(P[1], P[2]), (P[2], P[1])]
    assert co_purchase_pairs([P[1]]) == []


# --- which orders are purchases: every (state, fact) pair -----------------------------------

STATES: list[PurchaseState | None] = [None, *PurchaseState]
EXPECTED = {
    (None, OrderFact.PLACED): (PurchaseState.PLACED, False),
    (None, OrderFact.PAID): (PurchaseState.PAID, False),
    (None, OrderFact.ENDED): (PurchaseState.ENDED, False),
    (PurchaseState.PLACED, OrderFact.PLACED): (PurchaseState.PLACED, False),
    (PurchaseState.PLACED, OrderFact.PAID): (PurchaseState.COUNTED, True),
    (PurchaseState.PLACED, OrderFact.ENDED): (PurchaseState.ENDED, False),
    (PurchaseState.PAID, OrderFact.PLACED): (PurchaseState.COUNTED, True),
    (PurchaseState.PAID, OrderFact.PAID): (PurchaseState.PAID, False),
    (PurchaseState.PAID, OrderFact.ENDED): (PurchaseState.PAID, False),
    (PurchaseState.COUNTED, OrderFact.PLACED): (PurchaseState.COUNTED, False),
    (PurchaseState.COUNTED, OrderFact.PAID): (PurchaseState.COUNTED, False),
    (PurchaseState.COUNTED, OrderFact.ENDED): (PurchaseState.COUNTED, False),
    (PurchaseState.ENDED, OrderFact.PLACED): (PurchaseState.ENDED, False),
    (PurchaseState.ENDED, OrderFact.PAID): (PurchaseState.ENDED, False),
    (PurchaseState.ENDED, OrderFact.ENDED): (PurchaseState.ENDED, False),
}


@pytest.mark.parametrize(("state", "fact"), list(itertools.product(STATES, OrderFact)))
def test_every_state_and_fact_has_its_step(state: PurchaseState | None, fact: OrderFact) -> None:
    step = next_purchase_state(state, fact)
    assert (step.state, step.count) == EXPECTED[(state, fact)]


def test_the_transition_table_covers_exactly_every_pair() -> None:
    assert set(PURCHASE_TRANSITIONS) == set(itertools.product(STATES, OrderFact))


@pytest.mark.parametrize(
    "facts",
    list(itertools.permutations([OrderFact.PLACED, OrderFact.PAID, OrderFact.PAID])),
)
def test_a_paid_order_is_counted_exactly_once_in_any_event_order(
    facts: tuple[OrderFact, ...],
) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    record: PurchaseRecord | None = None
    counts = 0
    for fact in facts:
        record, count = purchase_after(
            record, fact, order_id=P[0], customer_id=P[1], placed_at=at, product_ids=[P[2], P[2]]
        )
        counts += count
    assert counts == 1
    assert record == PurchaseRecord(P[0], PurchaseState.COUNTED, P[1], at, (P[2],))


def test_a_later_announcement_replaces_the_product_and_says_if_its_text_changed() -> None:
    stored = CatalogProduct(P[0], "Desk", "Oak", True, 3)
    assert product_update(stored, CatalogProduct(P[0], "Desk", "Oak", False, 4)) == (
        CatalogProduct(P[0], "Desk", "Oak", False, 4),
        False,
    )
    assert product_update(stored, CatalogProduct(P[0], "Table", "Oak", True, 4))[1] is True
    assert product_update(None, stored) == (stored, True)


def test_an_older_or_repeated_announcement_changes_nothing() -> None:
    stored = CatalogProduct(P[0], "Desk", "Oak", True, 3)
    assert product_update(stored, CatalogProduct(P[0], "Old", "Oak", True, 3)) == (None, False)
    assert product_update(stored, CatalogProduct(P[0], "Old", "Oak", True, 2)) == (None, False)


def test_archiving_unpublishes_a_known_product_once() -> None:
    stored = CatalogProduct(P[0], "Desk", "Oak", True, 3)
    assert product_archived(stored, 4) == CatalogProduct(P[0], "Desk", "Oak", False, 4)
    assert product_archived(stored, 3) is None
    assert product_archived(None, 9) is None
