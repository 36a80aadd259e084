"""Offline evaluation of the recommendations (`agora support eval-recs`): pure, on plain
purchases, with the scoring rules of `recommending` itself.

Protocol (time-based split): the models learn from the purchases placed before `cut` (exactly
what the service's tables would hold then) and are asked about the purchases placed from `cut`
on; nothing after the cut leaks into a model.

- **Basket completion** (a product page: "also bought", "similar", or popular products): for
  each later order holding two or more distinct products, each of its products is asked about
  in turn; the order's other products are the ones to find.
- **Next purchases** ("for you"): for each customer with purchases on both sides of the cut,
  their purchases before it are the history; everything they buy after it is to be found.

Each answer is scored by hit rate@k (at least one product to find among the first k) and
NDCG@k (binary relevance, the ideal ranking putting every product to find first).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from agora.support.recommending import (
    NEIGHBOURS,
    POPULAR_CANDIDATES,
    CoPurchase,
    Recommended,
    Sales,
    co_purchase_pairs,
)

K = 10

BASKET = "basket completion"
NEXT = "next purchases"


@dataclass(frozen=True, slots=True)
class Purchase:
    """A paid order, as the models see it."""

    order_id: str
    customer_id: str
    placed_at: datetime
    product_ids: tuple[str, ...]


@dataclass
class PurchaseModel:
    """The models' state after some purchases, as the service's tables would hold it."""

    sales: Counter[str] = field(default_factory=Counter)
    together: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    total_orders: int = 0
    # customer -> [(placed_at, product ids)]
    history: defaultdict[str, list[tuple[datetime, tuple[str, ...]]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    @classmethod
    def of(cls, purchases: Iterable[Purchase]) -> PurchaseModel:
        model = cls()
        for purchase in purchases:
            model.add(purchase)
        return model

    def add(self, purchase: Purchase) -> None:
        """Count one purchase, as the service does when an order is both placed and paid."""
        distinct = tuple(dict.fromkeys(purchase.product_ids))
        self.total_orders += 1
        for product_id in distinct:
            self.sales[product_id] += 1
        for a, b in co_purchase_pairs(distinct):
            self.together[a][b] += 1
        if purchase.customer_id:
            self.history[purchase.customer_id].append((purchase.placed_at, distinct))

    def popular_sales(self, limit: int = POPULAR_CANDIDATES) -> list[Sales]:
        ranked = sorted(self.sales.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [Sales(p, n) for p, n in ranked]

    def neighbours(self, product_id: str, limit: int = NEIGHBOURS) -> list[CoPurchase]:
        """The product's most co-purchased products, as the store selects them."""
        counts = self.together.get(product_id)
        if not counts:
            return []
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [CoPurchase(p, n, self.sales[p]) for p, n in ranked]

    def recent_purchases(self, customer_id: str) -> list[str]:
        """The customer's purchased products, newest order first."""
        orders = sorted(self.history.get(customer_id, ()), key=lambda o: o[0], reverse=True)
        return [p for _, products in orders for p in products]


@dataclass(frozen=True, slots=True)
class Split:
    cut: datetime
    train: tuple[Purchase, ...]
    test: tuple[Purchase, ...]


def time_split(purchases: Iterable[Purchase], cut: datetime) -> Split:
    """Purchases placed before `cut` to learn from, the others to test on."""
    ordered = sorted(purchases, key=lambda p: (p.placed_at, p.order_id))
    return Split(
        cut,
        tuple(p for p in ordered if p.placed_at < cut),
        tuple(p for p in ordered if p.placed_at >= cut),
    )


def hit_at(ranked: Sequence[str], wanted: frozenset[str], k: int = K) -> bool:
    """At least one wanted product among the first `k`."""
    return any(p in wanted for p in ranked[:k])


def ndcg_at(ranked: Sequence[str], wanted: frozenset[str], k: int = K) -> float:
    """Normalised discounted cumulative gain at `k`, binary relevance."""
    if not wanted:
        return 0.0
    gain = sum(1 / math.log2(rank + 2) for rank, p in enumerate(ranked[:k]) if p in wanted)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(wanted))))
    return gain / ideal


@dataclass(frozen=True, slots=True)
class BasketQuery:
    product_id: str
    wanted: frozenset[str]


@dataclass(frozen=True, slots=True)
class NextQuery:
    customer_id: str
    history: tuple[str, ...]
    wanted: frozenset[str]


def basket_queries(test: Iterable[Purchase]) -> Iterator[BasketQuery]:
    """Each product of each later order of two or more products, with the order's others."""
    for purchase in test:
        distinct = frozenset(purchase.product_ids)
        if len(distinct) < 2:
            continue
        for product_id in sorted(distinct):
            yield BasketQuery(product_id, distinct - {product_id})


def next_queries(model: PurchaseModel, test: Iterable[Purchase]) -> Iterator[NextQuery]:
    """Each customer who bought before the cut and after it, with what they bought after."""
    later: defaultdict[str, set[str]] = defaultdict(set)
    for purchase in test:
        if purchase.customer_id:
            later[purchase.customer_id].update(purchase.product_ids)
    for customer_id in sorted(later):
        history = model.recent_purchases(customer_id)
        if history:
            yield NextQuery(customer_id, tuple(history), frozenset(later[customer_id]))


@dataclass(frozen=True, slots=True)
class Score:
    task: str
    method: str
    queries: int
    hit_rate: float
    ndcg: float
    # This method's hit rate over the task's popularity baseline's (1.0 for the baseline).
    versus_popular: float = 1.0


def score(
    task: str, method: str, answers: Iterable[tuple[Sequence[str], frozenset[str]]], k: int = K
) -> Score:
    """Hit rate@k and NDCG@k over (ranked answer, products to find) pairs."""
    queries = hits = 0
    gains = 0.0
    for ranked, wanted in answers:
        queries += 1
        hits += hit_at(ranked, wanted, k)
        gains += ndcg_at(ranked, wanted, k)
    if queries == 0:
        return Score(task, method, 0, 0.0, 0.0)
    return Score(task, method, queries, hits / queries, gains / queries)


ProductMethod = Callable[[str], Recommended]
CustomerMethod = Callable[[NextQuery], Recommended]
POPULAR_NAME = "popular"


def evaluate(
    split: Split,
    model: PurchaseModel,
    product_methods: Mapping[str, ProductMethod],
    customer_methods: Mapping[str, CustomerMethod],
    k: int = K,
    segments: Mapping[str, Callable[[str], bool]] | None = None,
) -> list[Score]:
    """Every method on its task; each task's methods compared with its `popular` one.

    Product methods answer once per product (they depend on nothing else), however often the
    product is asked about. Each of `segments` (name: which asked-about products belong) adds
    the basket rows of the queries about its products alone, as the task `<task>: <name>`.
    """
    rows: list[Score] = []
    queries = list(basket_queries(split.test))
    parts = {BASKET: queries}
    for segment, belongs in (segments or {}).items():
        parts[f"{BASKET}: {segment}"] = [q for q in queries if belongs(q.product_id)]
    for name, method in product_methods.items():
        answers: dict[str, list[str]] = {}
        for q in queries:
            if q.product_id not in answers:
                answers[q.product_id] = [s.product_id for s in method(q.product_id).items]
        for task, asked in parts.items():
            rows.append(score(task, name, ((answers[q.product_id], q.wanted) for q in asked), k))
    customers = list(next_queries(model, split.test))
    for name, customer_method in customer_methods.items():
        answered = (([s.product_id for s in customer_method(q).items], q.wanted) for q in customers)
        rows.append(score(NEXT, name, answered, k))
    return compared_with_popular(rows)


def compared_with_popular(rows: Sequence[Score]) -> list[Score]:
    """Each row with its hit rate over its task's popularity row's (when there is one)."""
    baseline = {r.task: r.hit_rate for r in rows if r.method == POPULAR_NAME}
    compared = []
    for r in rows:
        base = baseline.get(r.task)
        ratio = r.hit_rate / base if base else 0.0
        compared.append(Score(r.task, r.method, r.queries, r.hit_rate, r.ndcg, ratio))
    return compared


def markdown_table(rows: Sequence[Score], k: int = K) -> str:
    """The scores as a markdown table (docs/benchmarks.md)."""
    lines = [
        f"| task | method | queries | hit rate@{k} | NDCG@{k} | hit rate vs popular |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.task} | {r.method} | {r.queries:,} | {r.hit_rate:.3f} | {r.ndcg:.3f} |"
            f" {r.versus_popular:.2f}x |"
        )
    return "\n".join(lines)
