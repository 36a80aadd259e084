"""`agora support eval-recs`: the offline evaluation (`agora.support.recommendation_eval`) run
on a seed plan, the data `agora seed` writes, regenerated here by the same deterministic generator
(`agora.seed.generate.build_plan`) with a fixed clock, so every run gives the same table.

The plan's paid orders (paid, fulfilled, shipped, delivered, refunded: those the service
counts from `orders.order.paid`) are the purchases; its products, all published, are embedded
with the service's own model. A reference row uses what the generator planted (its bundles)
to show how far any method could get on this data, and the basket rows are repeated for the
queries about the planted bundles' and seasonal items' products alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agora.platform.seeding import SeedPlan
from agora.support.embeddings import TextEmbedder
from agora.support.recommendation_eval import (
    BASKET,
    NEXT,
    K,
    NextQuery,
    Purchase,
    PurchaseModel,
    Score,
    Split,
    evaluate,
    time_split,
)
from agora.support.recommending import (
    Method,
    Neighbour,
    Recommended,
    Scored,
    also_bought,
    for_you,
    popular,
    product_text,
    similar,
)

# Outcomes of orders that were paid (the service counts an order when it is paid).
PAID_OUTCOMES = frozenset({"paid", "fulfilled", "shipped", "delivered", "refunded"})
CEILING = "reference: planted bundles + popular"
# Whole tasks first (in their order), then the segments of basket completion, by segment.
_WHOLE_TASKS = frozenset({BASKET, NEXT})


@dataclass(frozen=True)
class EvalRun:
    """What one evaluation measured, and on what."""

    profile: str
    seed: int
    scale: float
    now: datetime
    cut: datetime
    train_orders: int
    test_orders: int
    products: int
    rows: list[Score]
    seconds: float


def purchases_of(plan: SeedPlan) -> list[Purchase]:
    """The plan's paid orders as the models see them."""
    return [
        Purchase(o.id, o.customer_id, o.placed_at, tuple(line.product_id for line in o.lines))
        for o in plan.orders
        if o.outcome in PAID_OUTCOMES
    ]


class SimilarProducts:
    """Nearest products by the cosine of their embeddings (what pgvector's `<=>` orders by)."""

    def __init__(self, plan: SeedPlan, embedder: TextEmbedder) -> None:
        import numpy as np

        self._np = np
        self.ids = [p.id for p in plan.products if p.published]
        texts = [product_text(p.title, p.description) for p in plan.products if p.published]
        self.vectors: Any = embedder.matrix(texts).astype(np.float32)
        self.row = {product_id: n for n, product_id in enumerate(self.ids)}

    def nearest(self, product_id: str, limit: int) -> list[Neighbour]:
        row = self.row.get(product_id)
        if row is None:
            return []
        similarity = self.vectors @ self.vectors[row]
        similarity[row] = -2.0
        count = min(limit, len(self.ids) - 1)
        if count <= 0:
            return []
        best = self._np.argpartition(-similarity, count - 1)[:count]
        return [Neighbour(self.ids[n], float(similarity[n])) for n in best]


def planted_tags(plan: SeedPlan) -> dict[str, frozenset[str]]:
    """Each product's planted structure: "bundle", "seasonal", "bestseller" (tags' kinds)."""
    return {p.id: frozenset(t.split(":", 1)[0] for t in p.tags) for p in plan.products}


def planted_bundles(plan: SeedPlan) -> dict[str, list[str]]:
    """Each bundled product's bundle mates, from the generator's tags."""
    members: dict[str, list[str]] = {}
    for product in plan.products:
        for tag in product.tags:
            if tag.startswith("bundle:"):
                members.setdefault(tag, []).append(product.id)
    return {p: [m for m in ms if m != p] for ms in members.values() for p in ms}


def run_evaluation(
    plan: SeedPlan,
    *,
    test_days: int,
    embedder: TextEmbedder | None = None,
    with_reference: bool = True,
) -> EvalRun:
    """Split the plan's purchases `test_days` before its clock and score every method."""
    started = time.perf_counter()
    cut = plan.now - timedelta(days=test_days)
    split: Split = time_split(purchases_of(plan), cut)
    model = PurchaseModel.of(split.train)
    popular_sales = model.popular_sales()
    total = model.total_orders
    nearest = SimilarProducts(plan, embedder or TextEmbedder())
    neighbours_memo: dict[str, Any] = {}

    def neighbours(product_id: str) -> Any:
        if product_id not in neighbours_memo:
            neighbours_memo[product_id] = model.neighbours(product_id)
        return neighbours_memo[product_id]

    product_methods: dict[str, Callable[[str], Recommended]] = {
        "popular": lambda q: popular(popular_sales, limit=K, exclude=q),
        "also bought": lambda q: also_bought(
            q, model.sales[q], neighbours(q), popular_sales, total, limit=K
        ),
        "similar": lambda q: similar(q, nearest.nearest(q, K), popular_sales, limit=K),
    }
    if with_reference:
        bundles = planted_bundles(plan)
        product_methods[CEILING] = lambda q: _bundles_then_popular(
            q, bundles, popular(popular_sales, limit=K, exclude=q)
        )

    def customer_for_you(query: NextQuery) -> Recommended:
        history = list(dict.fromkeys(query.history))
        return for_you(
            history,
            {p: model.sales[p] for p in history},
            {p: neighbours(p) for p in history},
            popular_sales,
            total,
            limit=K,
        )

    customer_methods: dict[str, Callable[[NextQuery], Recommended]] = {
        "popular": lambda _: popular(popular_sales, limit=K),
        "for you": customer_for_you,
    }
    tagged = planted_tags(plan)
    segments = {
        "bundled products": lambda q: "bundle" in tagged.get(q, ()),
        "seasonal items": lambda q: "seasonal" in tagged.get(q, ()),
    }
    rows = evaluate(split, model, product_methods, customer_methods, segments=segments)
    rows.sort(key=lambda r: (0, "") if r.task in _WHOLE_TASKS else (1, r.task))
    return EvalRun(
        profile=plan.profile,
        seed=plan.seed,
        scale=plan.scale,
        now=plan.now,
        cut=cut,
        train_orders=len(split.train),
        test_orders=len(split.test),
        products=len(nearest.ids),
        rows=rows,
        seconds=time.perf_counter() - started,
    )


def _bundles_then_popular(
    product_id: str, bundles: dict[str, list[str]], popular_answer: Recommended
) -> Recommended:
    mates = bundles.get(product_id, [])
    items = [Scored(m, 1.0, Method.ALSO_BOUGHT) for m in mates]
    items += [s for s in popular_answer.items if s.product_id not in mates]
    return Recommended(Method.ALSO_BOUGHT, Method.ALSO_BOUGHT, tuple(items[:K]))
