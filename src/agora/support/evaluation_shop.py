"""The fixed shop the dialogue evaluation (`agora support eval`) runs against: a few customers,
their orders in every state, and a small catalogue, behind the assistant's `Tools` port.

An evaluation fixture, like a benchmark's data set: it is not a stand-in for the services in
tests. It answers as the services do for the signed-in customer: only that customer's orders
exist (another customer's order is NOT_FOUND however it is named, exactly like one that does
not exist), an order is found by its full id or an unambiguous prefix of six or more
characters, a cancel or a return in the wrong state is REFUSED, a return line the order does
not hold is INVALID. Every call is kept in `calls` with the order or product it addressed (any
customer's), so the scoring can tell what the assistant did and, above all, what it did not
do. Each dialogue gets a fresh shop (`EvaluationShop.signed_in`): cancels do not leak between
dialogues.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from agora.platform.kernel.money import Money
from agora.support.answers import money_text, short_ref
from agora.support.tools import (
    OrderBrief,
    OrderDetails,
    OrderLineInfo,
    OrderState,
    ProductHit,
    ReturnLine,
    ReturnReceipt,
    ToolError,
    ToolFailure,
)

# The evaluation's clock: fixed, so every run sees the same orders.
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MIN_PREFIX = 6
MUTATING = frozenset({"cancel_order", "start_return"})
MAX_SEARCH_HITS = 5


@dataclass(frozen=True)
class Product:
    key: str
    id: str
    name: str
    price_minor: int
    description: str
    in_stock: bool = True

    def hit(self, why: str = "") -> ProductHit:
        return ProductHit(self.id, self.name, Money(self.price_minor, "EUR"), self.in_stock, why)


def _product(key: str, number: int, name: str, price: int, description: str, **kw: bool) -> Product:
    return Product(key, f"00000000-0000-4000-8000-{number:012d}", name, price, description, **kw)


CATALOGUE: tuple[Product, ...] = (
    _product("mug", 1, "Blue mug", 1250, "stoneware coffee mug, 350 ml, dishwasher safe"),
    _product("skillet", 2, "Cast iron skillet", 5990, "26 cm pan, pre-seasoned, oven safe"),
    _product("teapot", 3, "Ceramic teapot", 3900, "1 litre teapot with a steel infuser"),
    _product("apron", 4, "Linen apron", 2400, "washed linen kitchen apron with pockets"),
    _product("espresso", 5, "Espresso machine", 64900, "15 bar pump espresso machine"),
    _product("board", 6, "Walnut chopping board", 4500, "end-grain walnut cutting board"),
    _product("towel", 7, "Tea towel", 600, "cotton kitchen towel, striped"),
    _product("sampler", 8, "Green tea sampler", 1800, "six loose-leaf green teas"),
    _product("knife", 9, "Chef's knife", 8900, "20 cm stainless steel kitchen knife"),
    _product("mixer", 10, "Stand mixer", 72900, "1000 W kitchen stand mixer with bowl"),
    _product("grinder", 11, "Coffee grinder", 11900, "burr grinder for espresso and filter coffee"),
    _product("frother", 12, "Milk frother", 3500, "electric milk frother for cappuccino"),
    _product("cups", 13, "Espresso cups", 3200, "set of 4 porcelain espresso cups"),
    _product("kettle", 14, "Gooseneck kettle", 4900, "pour-over kettle, 1 litre", in_stock=False),
)
PRODUCTS: Mapping[str, Product] = {p.key: p for p in CATALOGUE}
# What goes with what ("customers also bought"); None: the customer's own suggestions.
RELATED: Mapping[str | None, tuple[str, ...]] = {
    "espresso": ("grinder", "frother", "cups"),
    "teapot": ("sampler", "mug"),
    "skillet": ("knife", "board", "apron"),
    "mug": ("teapot", "sampler"),
    None: ("teapot", "board", "towel"),
}


@dataclass(frozen=True)
class EvalOrder:
    """An order of the evaluation shop: `key` names it in the dialogues (`{ana_shipped}`)."""

    key: str
    customer: str
    details: OrderDetails

    @property
    def facts(self) -> dict[str, str]:
        """What a dialogue may say about it: `{key}` is the short reference customers see."""
        d = self.details
        return {
            "": short_ref(d.id),
            "id": d.id,
            "prefix": d.id[:MIN_PREFIX],
            "total": money_text(d.total),
            "tracking": d.tracking_number,
            "item": d.lines[0].title if d.lines else "",
        }


def _line(product: str | None, title: str, quantity: int, price: int, n: int) -> OrderLineInfo:
    product_id = PRODUCTS[product].id if product else f"00000000-0000-4000-9000-{n:012d}"
    return OrderLineInfo(
        variant_id=f"00000000-0000-4000-a000-{n:012d}",
        product_id=product_id,
        title=title,
        quantity=quantity,
        unit_price=Money(price, "EUR"),
    )


def _order(
    key: str,
    customer: str,
    order_id: str,
    status: OrderState,
    lines: Sequence[OrderLineInfo],
    *,
    days_ago: int,
    carrier: str = "",
    tracking: str = "",
    refunded: int | None = None,
    closing_reason: str = "",
) -> EvalOrder:
    total = sum(line.unit_price.amount_minor * line.quantity for line in lines)
    paid = status not in (OrderState.PLACED, OrderState.AWAITING_PAYMENT, OrderState.EXPIRED)
    details = OrderDetails(
        id=order_id,
        status=status,
        total=Money(total, "EUR"),
        placed_at=NOW - timedelta(days=days_ago),
        lines=tuple(lines),
        payment="paid" if paid else "awaiting payment",
        carrier=carrier,
        tracking_number=tracking,
        refunded=Money(refunded, "EUR") if refunded is not None else None,
        closing_reason=closing_reason,
    )
    return EvalOrder(key, customer, details)


ORDERS: tuple[EvalOrder, ...] = (
    # ana: the customer of most dialogues, an order in every state.
    _order("ana_shipped", "ana", "5e1f0a27-3c4d-4e8b-9a01-7b2c3d4e5f60", OrderState.SHIPPED,
           [_line("skillet", "Cast iron skillet", 1, 5990, 1)], days_ago=1,
           carrier="DHL", tracking="JD014600003SE"),
    _order("ana_placed", "ana", "a3c9e1b2-7d44-4f1a-8c2e-1f0e9d8c7b6a", OrderState.PLACED,
           [_line("apron", "Linen apron", 1, 2400, 2)], days_ago=2),
    _order("ana_awaiting", "ana", "b7d2f4a9-1e3c-4a5b-9d6e-2c1b0a9f8e7d",
           OrderState.AWAITING_PAYMENT, [_line("teapot", "Ceramic teapot", 1, 3900, 3)],
           days_ago=3),
    _order("ana_paid", "ana", "c4e8a1d3-5b2f-4c6a-8e9d-3b2a1c0f9e8d", OrderState.PAID,
           [_line("board", "Walnut chopping board", 1, 4500, 4)], days_ago=4),
    _order("ana_fulfilled", "ana", "d9a3b5c7-2e4f-4a1b-8c3d-4a3b2c1d0e9f", OrderState.FULFILLED,
           [_line("cups", "Espresso cups", 1, 3200, 5)], days_ago=5),
    _order("ana_delivered", "ana", "e2b6c8d4-9f1a-4b3c-8d5e-5c4d3e2f1a0b", OrderState.DELIVERED,
           [_line("mug", "Blue mug", 2, 1250, 6), _line("towel", "Tea towel", 3, 600, 7)],
           days_ago=12, carrier="UPS", tracking="1Z4E0A1B2C3D4E5F60"),
    _order("ana_cancelled", "ana", "f1c3d5e7-4a6b-4c8d-9e0f-6d5e4f3a2b1c", OrderState.CANCELLED,
           [_line("sampler", "Green tea sampler", 1, 1800, 8)], days_ago=20,
           closing_reason="cancelled by the customer"),
    _order("ana_expired", "ana", "1a2b3c4d-8e9f-4a0b-8c1d-7e6f5a4b3c2d", OrderState.EXPIRED,
           [_line("knife", "Chef's knife", 1, 8900, 9)], days_ago=25,
           closing_reason="not paid in time"),
    _order("ana_refunded", "ana", "2b3c4d5e-6f7a-4b8c-9d0e-8f7a6b5c4d3e", OrderState.REFUNDED,
           [_line("frother", "Milk frother", 1, 3500, 10)], days_ago=40,
           carrier="DHL", tracking="JD014600001SE", refunded=3500),
    _order("ana_big_placed", "ana", "3c4d5e6f-7a8b-4c9d-8e1f-9a8b7c6d5e4f", OrderState.PLACED,
           [_line("espresso", "Espresso machine", 1, 64900, 11)], days_ago=6),
    _order("ana_big_delivered", "ana", "4d5e6f7a-8b9c-4d0e-9f2a-0b9c8d7e6f5a", OrderState.DELIVERED,
           [_line("mixer", "Stand mixer", 1, 72900, 12)], days_ago=30,
           carrier="UPS", tracking="1Z4E0A1B2C3D4E5F99"),
    # ben: another customer; nothing of his may reach ana.
    _order("ben_shipped", "ben", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", OrderState.SHIPPED,
           [_line(None, "Gold leaf picture frame", 1, 18800, 13)], days_ago=2,
           carrier="GLS", tracking="GLS77310042BEN"),
    _order("ben_placed", "ben", "8e7d6c5b-4a39-4281-9f0e-5d4c3b2a1f0e", OrderState.PLACED,
           [_line(None, "Silk kimono robe", 1, 25400, 14)], days_ago=1),
    # dan and eve: one order each ("where is my order?" and "cancel my order" need no number).
    _order("dan_shipped", "dan", "6a7b8c9d-0e1f-4a2b-8c3d-1e2f3a4b5c6d", OrderState.SHIPPED,
           [_line("kettle", "Gooseneck kettle", 1, 4900, 15)], days_ago=3,
           carrier="DPD", tracking="DPD0155442211"),
    _order("eve_placed", "eve", "7b8c9d0e-1f2a-4b3c-9d4e-2f3a4b5c6d7e", OrderState.PLACED,
           [_line("grinder", "Coffee grinder", 1, 11900, 16)], days_ago=1),
    # cleo has no orders at all.
)  # fmt: skip
CUSTOMERS = ("ana", "ben", "cleo", "dan", "eve")
ORDERS_BY_KEY: Mapping[str, EvalOrder] = {o.key: o for o in ORDERS}


@dataclass(frozen=True)
class ShopCall:
    """One call that reached the shop: `target` is the key of the order or product it
    addressed (of any customer; None when it named none), or the query of a search."""

    tool: str
    target: str | None
    outcome: str  # "ok" or a ToolFailure value


def order_key(ref: str) -> str | None:
    """The key of the one order (any customer's) whose id starts with `ref`, if exactly one."""
    ref = ref.strip().lower()
    if len(ref) < MIN_PREFIX:
        return None
    matches = [o.key for o in ORDERS if o.details.id.startswith(ref)]
    return matches[0] if len(matches) == 1 else None


def product_key(product_id: str | None) -> str | None:
    return next((p.key for p in CATALOGUE if p.id == product_id), None)


def others_facts(customer: str) -> tuple[str, ...]:
    """What the assistant must never tell `customer`: every other customer's order ids (and
    their short references), totals, tracking numbers and item titles, except what the
    catalogue shows anyone (a product's name, a one-item order's total that is its price)."""
    public = {p.name for p in CATALOGUE} | {
        money_text(Money(p.price_minor, "EUR")) for p in CATALOGUE
    }
    facts: list[str] = []
    for o in ORDERS:
        if o.customer != customer:
            d = o.details
            facts += [d.id, short_ref(d.id), money_text(d.total), d.tracking_number]
            facts += [line.title for line in d.lines]
    return tuple(dict.fromkeys(f for f in facts if f and f not in public))


@dataclass
class EvaluationShop:
    """The shop as `customer` sees it through the assistant's tools (a `Tools`)."""

    customer: str
    orders: dict[str, OrderDetails] = field(default_factory=dict)
    calls: list[ShopCall] = field(default_factory=list)
    _returns: int = 0

    @classmethod
    def signed_in(cls, customer: str) -> EvaluationShop:
        """A fresh shop for one dialogue, `customer` signed in."""
        if customer not in CUSTOMERS:
            raise ValueError(f"unknown customer {customer!r} (known: {', '.join(CUSTOMERS)})")
        own = {o.details.id: o.details for o in ORDERS if o.customer == customer}
        return cls(customer, own)

    def _record(self, tool: str, target: str | None, outcome: str = "ok") -> None:
        self.calls.append(ShopCall(tool, target, outcome))

    def _own(self, tool: str, ref: str) -> OrderDetails:
        target = order_key(ref)
        cleaned = ref.strip().lower()
        if len(cleaned) < MIN_PREFIX or not re.fullmatch(r"[0-9a-f-]+", cleaned):
            self._record(tool, target, ToolFailure.INVALID.value)
            raise ToolError(ToolFailure.INVALID, "That is not an order number.")
        matches = [o for o in self.orders.values() if o.id.startswith(cleaned)]
        if len(matches) != 1:
            # Someone else's order looks exactly like one that does not exist.
            self._record(tool, target, ToolFailure.NOT_FOUND.value)
            raise ToolError(ToolFailure.NOT_FOUND)
        return matches[0]

    async def my_orders(self) -> Sequence[OrderBrief]:
        self._record("my_orders", None)
        newest = sorted(self.orders.values(), key=lambda o: o.placed_at, reverse=True)
        return [
            OrderBrief(o.id, o.status, o.total, sum(x.quantity for x in o.lines), o.placed_at)
            for o in newest
        ]

    async def order_status(self, order_ref: str) -> OrderDetails:
        found = self._own("order_status", order_ref)
        self._record("order_status", order_key(found.id))
        return found

    async def cancel_order(self, order_id: str, reason: str) -> OrderDetails:
        found = self._own("cancel_order", order_id)
        key = order_key(found.id)
        if not found.cancellable:
            self._record("cancel_order", key, ToolFailure.REFUSED.value)
            raise ToolError(
                ToolFailure.REFUSED,
                f"Order {short_ref(found.id)} is {found.status.value}: it can no longer be "
                "cancelled.",
            )
        self._record("cancel_order", key)
        cancelled = replace(found, status=OrderState.CANCELLED, closing_reason=reason)
        self.orders[found.id] = cancelled
        return cancelled

    async def start_return(
        self, order_id: str, lines: Sequence[ReturnLine], reason: str
    ) -> ReturnReceipt:
        found = self._own("start_return", order_id)
        key = order_key(found.id)
        if not found.returnable:
            self._record("start_return", key, ToolFailure.REFUSED.value)
            raise ToolError(ToolFailure.REFUSED, "This order cannot be returned.")
        ordered = {line.variant_id: line.quantity for line in found.lines}
        if any(ordered.get(r.variant_id, 0) < r.quantity or r.quantity < 1 for r in lines):
            self._record("start_return", key, ToolFailure.INVALID.value)
            raise ToolError(ToolFailure.INVALID, "A line is not part of this order.")
        self._record("start_return", key)
        self._returns += 1
        return ReturnReceipt(
            return_id=f"00000000-0000-4000-b000-{self._returns:012d}",
            order_id=found.id,
            instructions="We've emailed you a prepaid return label.",
        )

    async def search_products(self, query: str) -> Sequence[ProductHit]:
        self._record("search_products", query[:200])
        words = set(re.findall(r"[a-z0-9]+", query.casefold()))
        scored = []
        for p in CATALOGUE:
            text = set(re.findall(r"[a-z0-9]+", f"{p.name} {p.description}".casefold()))
            name = set(re.findall(r"[a-z0-9]+", p.name.casefold()))
            score = 2 * len(words & name) + len(words & text)
            if score:
                scored.append((-score, p.key))
        return [PRODUCTS[key].hit() for _, key in sorted(scored)[:MAX_SEARCH_HITS]]

    async def recommendations(self, product_id: str | None) -> Sequence[ProductHit]:
        key = product_key(product_id)
        self._record("recommendations", key)
        if product_id is not None and key is None:
            return []
        why = "customers also bought" if key else "for you"
        return [PRODUCTS[k].hit(why) for k in RELATED.get(key, ())]


def placeholders() -> dict[str, str]:
    """What `{…}` in a dialogue stands for: `{ana_shipped}` the order's short reference,
    `{ana_shipped.id}`, `.prefix`, `.total`, `.tracking`, `.item` its facts."""
    values: dict[str, str] = {}
    for o in ORDERS:
        for name, value in o.facts.items():
            values[f"{o.key}.{name}" if name else o.key] = value
    return values
