"""How the shop recommends products: the rules, pure (no I/O), shared by the service and by the
offline evaluation (`agora support eval-recs`), so what is measured is what is served.

- **Also bought** (item to item): a product `t` shown with `q` scores the chance that an order
  holding `q` also holds `t`, estimated from paid orders with an m-estimate that shrinks it
  toward `t`'s popularity: `(together(q, t) + m * p(t)) / (orders(q) + m)`, where `p(t)` is
  `t`'s share of paid orders and `m` (`PRIOR_ORDERS`) weighs the prior like `m` orders. A
  product bought twice is not ranked by two coincidences; a best seller's own neighbours
  overwhelm the prior.
- **Similar**: nearest by the cosine similarity of name-and-description embeddings.
- **For you**: the customer's recent distinct purchases (newest first, each weighing
  `RECENCY_DECAY` times the next newer one) vote with their also-bought estimates; what was
  bought before is not left out (customers buy best sellers again).
- **Popular**: the most bought products; every other method falls back to it on a cold start
  (a product without purchases or text, a customer without purchases).

Which orders count: a purchase is an order once it is both placed (its lines known) and paid;
`next_purchase_state` folds the order events, which may arrive in any order, into that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from agora.platform.errors import FieldViolation, InvalidArgument
from agora.platform.kernel.checks import id_violations, raise_if_any

DEFAULT_LIMIT = 10
MAX_LIMIT = 50  # agrees with the proto's rule on `limit`
# Weight of the popularity prior in the also-bought estimate, in orders: the best NDCG@10 of
# also-bought among 10..3200 on a validation plan (full profile, seed 2, scale 0.3, clock
# 2026-06-15), not on the plan the evaluation reports (seed 1).
PRIOR_ORDERS = 200.0
# Most co-purchased neighbours of one product a recommendation considers, and the most
# popular products taken as candidates and as the prior.
NEIGHBOURS = 200
POPULAR_CANDIDATES = 100
# Most recent distinct purchases "for you" looks at, and how much less each older one counts.
HISTORY = 20
RECENCY_DECAY = 0.8
# Embedded text: the title and the start of the description.
MAX_TEXT_CHARS = 2000


class Method(StrEnum):
    ALSO_BOUGHT = "also_bought"
    SIMILAR = "similar"
    FOR_YOU = "for_you"
    POPULAR = "popular"


# What GetRecommendations answers; FOR_YOU is the signed-in customer's own call.
PRODUCT_METHODS = frozenset({Method.ALSO_BOUGHT, Method.SIMILAR, Method.POPULAR})
NEEDS_PRODUCT = frozenset({Method.ALSO_BOUGHT, Method.SIMILAR})


@dataclass(frozen=True, slots=True)
class Sales:
    """How many paid orders hold a product."""

    product_id: str
    orders: int


@dataclass(frozen=True, slots=True)
class CoPurchase:
    """`product_id` was in `together` of the paid orders holding the product asked about, and
    in `orders` paid orders in all."""

    product_id: str
    together: int
    orders: int


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A product and its cosine similarity to the product asked about."""

    product_id: str
    similarity: float


@dataclass(frozen=True, slots=True)
class Scored:
    product_id: str
    score: float
    # What put it here: the answer's method, or POPULAR for the popularity prior alone.
    source: Method


@dataclass(frozen=True, slots=True)
class Recommended:
    """An answer: what was asked for, what was used (POPULAR on a cold start), best first."""

    kind: Method
    method: Method
    items: tuple[Scored, ...]


@dataclass(frozen=True, slots=True)
class ProductQuestion:
    """GetRecommendations' request, checked."""

    kind: Method
    product_id: str
    limit: int


def recommendation_limit(limit: int) -> int:
    """The number of products to answer: DEFAULT_LIMIT for 0, else `limit` within 1..MAX_LIMIT."""
    if limit == 0:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument.for_field("limit", f"must be between 0 and {MAX_LIMIT}")
    return limit


def product_question(kind: Method | None, product_id: str, limit: int) -> ProductQuestion:
    """The checked request, or INVALID_ARGUMENT naming each bad field."""
    violations: list[FieldViolation] = []
    if kind is None or kind not in PRODUCT_METHODS:
        violations.append(
            FieldViolation("kind", "must be ALSO_BOUGHT, SIMILAR or POPULAR (FOR_YOU: /v1/me)")
        )
    product_id = product_id.strip()
    required = kind in NEEDS_PRODUCT
    violations += id_violations(product_id, "productId", required=required)
    raise_if_any(violations)
    assert kind is not None
    return ProductQuestion(kind, product_id.lower(), recommendation_limit(limit))


def product_text(title: str, description: str) -> str:
    """What a product's embedding is made of: its name, then its description."""
    text = f"{title.strip()}. {description.strip()}" if description.strip() else title.strip()
    return text[:MAX_TEXT_CHARS]


def popular(
    sales: Sequence[Sales], *, limit: int, kind: Method = Method.POPULAR, exclude: str = ""
) -> Recommended:
    """The most bought products (ties by id, for a stable answer), leaving out `exclude`."""
    ranked = sorted((s for s in sales if s.product_id != exclude), key=_by_orders)[:limit]
    total = sum(s.orders for s in sales) or 1
    items = tuple(Scored(s.product_id, s.orders / total, Method.POPULAR) for s in ranked)
    return Recommended(kind, Method.POPULAR, items)


def also_bought_scores(
    orders_of_product: int,
    neighbours: Iterable[CoPurchase],
    popular_sales: Iterable[Sales],
    total_orders: int,
    *,
    exclude: str,
) -> dict[str, tuple[float, bool]]:
    """Each candidate's estimated chance to be in an order holding the product (see the module
    docstring), and whether it was ever bought with it."""
    total = max(total_orders, 1)
    denominator = orders_of_product + PRIOR_ORDERS
    found: dict[str, tuple[float, bool]] = {}
    for s in popular_sales:
        if s.product_id != exclude:
            found[s.product_id] = (PRIOR_ORDERS * s.orders / total / denominator, False)
    for n in neighbours:
        if n.product_id != exclude and n.together > 0:
            prior = PRIOR_ORDERS * n.orders / total
            found[n.product_id] = ((n.together + prior) / denominator, True)
    return found


def also_bought(
    product_id: str,
    orders_of_product: int,
    neighbours: Sequence[CoPurchase],
    popular_sales: Sequence[Sales],
    total_orders: int,
    *,
    limit: int,
) -> Recommended:
    """ "Customers also bought": POPULAR when nobody bought the product with anything yet."""
    if not any(n.together > 0 and n.product_id != product_id for n in neighbours):
        return popular(popular_sales, limit=limit, kind=Method.ALSO_BOUGHT, exclude=product_id)
    scores = also_bought_scores(
        orders_of_product, neighbours, popular_sales, total_orders, exclude=product_id
    )
    return Recommended(
        Method.ALSO_BOUGHT, Method.ALSO_BOUGHT, _best(scores, Method.ALSO_BOUGHT, limit)
    )


def similar(
    product_id: str,
    neighbours: Sequence[Neighbour],
    popular_sales: Sequence[Sales],
    *,
    limit: int,
) -> Recommended:
    """ "Similar products" by embedding; POPULAR when the product has no embedding (yet), and
    popular products after the neighbours when there are fewer than `limit` of them."""
    nearest = sorted(
        (n for n in neighbours if n.product_id != product_id),
        key=lambda n: (-n.similarity, n.product_id),
    )[:limit]
    if not nearest:
        return popular(popular_sales, limit=limit, kind=Method.SIMILAR, exclude=product_id)
    items = [Scored(n.product_id, n.similarity, Method.SIMILAR) for n in nearest]
    shown = {product_id, *(n.product_id for n in nearest)}
    floor = min(n.similarity for n in nearest)
    fill = [s for s in sorted(popular_sales, key=_by_orders) if s.product_id not in shown]
    for rank, s in enumerate(fill[: limit - len(items)], start=1):
        items.append(Scored(s.product_id, floor - rank * 1e-6, Method.POPULAR))
    return Recommended(Method.SIMILAR, Method.SIMILAR, tuple(items))


def for_you(
    history: Sequence[str],
    orders_by_product: Mapping[str, int],
    neighbours_by_product: Mapping[str, Sequence[CoPurchase]],
    popular_sales: Sequence[Sales],
    total_orders: int,
    *,
    limit: int,
) -> Recommended:
    """ "For you" from the customer's purchases (`history`, newest first, repeats allowed):
    the recency-weighted mean of each purchase's also-bought estimate; POPULAR without any."""
    recent = list(dict.fromkeys(history))[:HISTORY]
    if not recent:
        return popular(popular_sales, limit=limit, kind=Method.FOR_YOU)
    votes: dict[str, float] = {}
    bought_with: set[str] = set()
    weights = 0.0
    for age, product_id in enumerate(recent):
        weight = RECENCY_DECAY**age
        weights += weight
        scores = also_bought_scores(
            orders_by_product.get(product_id, 0),
            neighbours_by_product.get(product_id, ()),
            popular_sales,
            total_orders,
            exclude="",
        )
        for candidate, (score, together) in scores.items():
            votes[candidate] = votes.get(candidate, 0.0) + weight * score
            if together:
                bought_with.add(candidate)
    # A candidate one purchase never co-bought gets no vote from it, not even its small prior:
    # an approximation that keeps the candidates to the purchases' neighbours and the popular.
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    items = tuple(
        Scored(p, score / weights, Method.FOR_YOU if p in bought_with else Method.POPULAR)
        for p, score in ranked
    )
    method = Method.FOR_YOU if bought_with else Method.POPULAR
    return Recommended(Method.FOR_YOU, method, items)


def _best(
    scores: Mapping[str, tuple[float, bool]], method: Method, limit: int
) -> tuple[Scored, ...]:
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    return tuple(
        Scored(p, score, method if together else Method.POPULAR) for p, (score, together) in ranked
    )


def _by_orders(s: Sales) -> tuple[int, str]:
    return (-s.orders, s.product_id)


# --- which orders are purchases -------------------------------------------------------------


class PurchaseState(StrEnum):
    """Where an order stands for the recommendation models."""

    PLACED = "placed"  # lines known, not paid (yet)
    PAID = "paid"  # paid, lines not known yet (the placed event is late)
    COUNTED = "counted"  # placed and paid: counted in the models
    ENDED = "ended"  # cancelled or expired before it was paid: never counted


class OrderFact(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class PurchaseStep:
    """The order's next state, and whether this step counts it in the models (exactly once)."""

    state: PurchaseState
    count: bool = False


# (current state or None for an order not seen yet, fact) -> step. A paid order is bought:
# a later "ended" changes nothing; a counted one is final.
PURCHASE_TRANSITIONS: Mapping[tuple[PurchaseState | None, OrderFact], PurchaseStep] = {
    (None, OrderFact.PLACED): PurchaseStep(PurchaseState.PLACED),
    (None, OrderFact.PAID): PurchaseStep(PurchaseState.PAID),
    (None, OrderFact.ENDED): PurchaseStep(PurchaseState.ENDED),
    (PurchaseState.PLACED, OrderFact.PLACED): PurchaseStep(PurchaseState.PLACED),
    (PurchaseState.PLACED, OrderFact.PAID): PurchaseStep(PurchaseState.COUNTED, count=True),
    (PurchaseState.PLACED, OrderFact.ENDED): PurchaseStep(PurchaseState.ENDED),
    (PurchaseState.PAID, OrderFact.PLACED): PurchaseStep(PurchaseState.COUNTED, count=True),
    (PurchaseState.PAID, OrderFact.PAID): PurchaseStep(PurchaseState.PAID),
    (PurchaseState.PAID, OrderFact.ENDED): PurchaseStep(PurchaseState.PAID),
    (PurchaseState.COUNTED, OrderFact.PLACED): PurchaseStep(PurchaseState.COUNTED),
    (PurchaseState.COUNTED, OrderFact.PAID): PurchaseStep(PurchaseState.COUNTED),
    (PurchaseState.COUNTED, OrderFact.ENDED): PurchaseStep(PurchaseState.COUNTED),
    (PurchaseState.ENDED, OrderFact.PLACED): PurchaseStep(PurchaseState.ENDED),
    (PurchaseState.ENDED, OrderFact.PAID): PurchaseStep(PurchaseState.ENDED),
    (PurchaseState.ENDED, OrderFact.ENDED): PurchaseStep(PurchaseState.ENDED),
}


def next_purchase_state(current: PurchaseState | None, fact: OrderFact) -> PurchaseStep:
    """Where an order goes when `fact` about it arrives."""
    return PURCHASE_TRANSITIONS[(current, fact)]


def co_purchase_pairs(product_ids: Iterable[str]) -> list[tuple[str, str]]:
    """Every ordered pair of distinct products of one order, sorted (so concurrent writers
    lock rows in the same order)."""
    distinct = sorted(set(product_ids))
    return [(a, b) for a in distinct for b in distinct if a != b]


@dataclass(frozen=True, slots=True)
class PurchaseRecord:
    """An order as the models remember it."""

    order_id: str
    state: PurchaseState
    customer_id: str = ""
    placed_at: datetime | None = None
    product_ids: tuple[str, ...] = ()


def purchase_after(
    current: PurchaseRecord | None,
    fact: OrderFact,
    *,
    order_id: str,
    customer_id: str = "",
    placed_at: datetime | None = None,
    product_ids: Sequence[str] = (),
) -> tuple[PurchaseRecord, bool]:
    """The order's record after `fact` (the placed fact brings its customer, time and lines),
    and whether to count it in the models now."""
    step = next_purchase_state(current.state if current else None, fact)
    # The lines come with the placed fact, kept when the order had none yet.
    if fact is OrderFact.PLACED and (current is None or current.state is PurchaseState.PAID):
        distinct = tuple(dict.fromkeys(product_ids))
        record = PurchaseRecord(order_id, step.state, customer_id, placed_at, distinct)
    elif current is None:
        record = PurchaseRecord(order_id, step.state)
    else:
        record = replace(current, state=step.state)
    return record, step.count


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    """A product as the catalog last announced it."""

    product_id: str
    title: str
    description: str
    published: bool
    version: int


def product_update(
    stored: CatalogProduct | None, announced: CatalogProduct
) -> tuple[CatalogProduct | None, bool]:
    """What to store after the catalog announced `announced` (None: an older or repeated
    version, nothing changes), and whether its text changed (so its embedding is redone)."""
    if stored is not None and announced.version <= stored.version:
        return None, False
    text_changed = stored is None or (stored.title, stored.description) != (
        announced.title,
        announced.description,
    )
    return announced, text_changed


def product_archived(stored: CatalogProduct | None, version: int) -> CatalogProduct | None:
    """The product after the catalog archived it (None: unknown here, or already newer)."""
    if stored is None or version <= stored.version:
        return None
    return replace(stored, published=False, version=version)
