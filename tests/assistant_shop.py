"""A shop behind the assistant's `Tools` port, for tests: plain data, one signed-in customer.

It answers as the support service's real implementation must: only the customer's own orders
exist for it (another customer's order is NOT_FOUND, however it is named), an order is found by
its full id or an id prefix, a cancel or return in the wrong state is REFUSED. Every call is
kept in `calls`, so a test can assert what the assistant did and, above all, did not do.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from agora.platform.kernel.money import Money
from agora.support.assistant import (
    Assistant,
    AssistantOutput,
    ConfirmationRequest,
    HandoverChange,
    ReplyRecord,
    TextDelta,
    ToolNotice,
    ToolOutcome,
)
from agora.support.conversation import ConversationState
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
    Tools,
)

PLACED_AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
_ids = itertools.count(1)


def order_id(prefix: str = "") -> str:
    """A fresh order id, optionally starting with `prefix` (hex). Without one, its first eight
    characters hold a digit and a letter, as a reference a customer writes must ("12345678"
    alone reads as a phone number)."""
    while True:
        raw = (prefix + uuid.uuid4().hex)[:32]
        short = raw[:8]
        if prefix or (any(c.isdigit() for c in short) and any(c.isalpha() for c in short)):
            return str(uuid.UUID(hex=raw))


def line(title: str, quantity: int = 1, price: int = 1990, currency: str = "EUR") -> OrderLineInfo:
    return OrderLineInfo(
        variant_id=str(uuid.uuid4()),
        product_id=str(uuid.uuid4()),
        title=title,
        quantity=quantity,
        unit_price=Money(price, currency),
    )


def order(
    status: OrderState = OrderState.SHIPPED,
    *,
    id: str | None = None,
    lines: Sequence[OrderLineInfo] = (),
    currency: str = "EUR",
    carrier: str = "",
    tracking_number: str = "",
    days_ago: int = 0,
) -> OrderDetails:
    lines = tuple(lines) or (line("Blue mug", 2, 1250, currency),)
    total = sum(item.unit_price.amount_minor * item.quantity for item in lines)
    return OrderDetails(
        id=id or order_id(),
        status=status,
        total=Money(total, currency),
        placed_at=PLACED_AT - timedelta(days=days_ago),
        lines=lines,
        payment="paid" if status not in (OrderState.PLACED, OrderState.AWAITING_PAYMENT) else "",
        carrier=carrier,
        tracking_number=tracking_number,
    )


def product(name: str, price: int = 2500, why: str = "") -> ProductHit:
    return ProductHit(id=str(uuid.uuid4()), name=name, price=Money(price, "EUR"), why=why)


@dataclass
class ShopTools:
    """The customer's orders, another customer's (unreachable), the catalogue, and what goes
    with what. `down` names tools that fail as an unreachable service would."""

    orders: list[OrderDetails] = field(default_factory=list)
    others_orders: list[OrderDetails] = field(default_factory=list)
    catalogue: list[ProductHit] = field(default_factory=list)
    related: dict[str | None, list[ProductHit]] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)

    def called(self, name: str) -> list[tuple[object, ...]]:
        return [args for tool, args in self.calls if tool == name]

    def _enter(self, name: str, *args: object) -> None:
        self.calls.append((name, args))
        if name in self.down:
            raise ToolError(ToolFailure.UNAVAILABLE, "")

    def _own(self, ref: str) -> OrderDetails:
        ref = ref.lower()
        matches = [o for o in self.orders if o.id.startswith(ref)]
        if len(ref) < 6 or len(matches) != 1:
            # Someone else's order looks exactly like one that does not exist.
            raise ToolError(ToolFailure.NOT_FOUND, "")
        return matches[0]

    async def my_orders(self) -> Sequence[OrderBrief]:
        self._enter("my_orders")
        newest = sorted(self.orders, key=lambda o: o.placed_at, reverse=True)
        return [
            OrderBrief(o.id, o.status, o.total, sum(x.quantity for x in o.lines), o.placed_at)
            for o in newest
        ]

    async def order_status(self, order_ref: str) -> OrderDetails:
        self._enter("order_status", order_ref)
        return self._own(order_ref)

    async def cancel_order(self, order_id: str, reason: str) -> OrderDetails:
        self._enter("cancel_order", order_id, reason)
        found = self._own(order_id)
        if not found.cancellable:
            raise ToolError(ToolFailure.REFUSED, f"Order {order_id[:8]} has already shipped.")
        cancelled = replace(found, status=OrderState.CANCELLED)
        self.orders = [cancelled if o.id == found.id else o for o in self.orders]
        return cancelled

    async def start_return(
        self, order_id: str, lines: Sequence[ReturnLine], reason: str
    ) -> ReturnReceipt:
        self._enter("start_return", order_id, tuple(lines), reason)
        found = self._own(order_id)
        if not found.returnable:
            raise ToolError(ToolFailure.REFUSED, "This order cannot be returned.")
        return ReturnReceipt(
            return_id=f"{next(_ids):08d}-return", order_id=found.id, instructions="Print the label."
        )

    async def search_products(self, query: str) -> Sequence[ProductHit]:
        self._enter("search_products", query)
        words = set(query.casefold().split())
        return [p for p in self.catalogue if words & set(p.name.casefold().split())]

    async def recommendations(self, product_id: str | None) -> Sequence[ProductHit]:
        self._enter("recommendations", product_id)
        return self.related.get(product_id, [])


@dataclass
class Exchange:
    """Everything one `respond` call yielded."""

    outputs: list[AssistantOutput]

    @property
    def record(self) -> ReplyRecord:
        last = self.outputs[-1]
        assert isinstance(last, ReplyRecord), "a turn always ends with its record"
        return last

    @property
    def text(self) -> str:
        return "".join(o.text for o in self.outputs if isinstance(o, TextDelta))

    @property
    def state(self) -> ConversationState:
        return self.record.state

    @property
    def notices(self) -> list[ToolNotice]:
        return [o for o in self.outputs if isinstance(o, ToolNotice)]

    @property
    def confirmations(self) -> list[ConfirmationRequest]:
        return [o for o in self.outputs if isinstance(o, ConfirmationRequest)]

    @property
    def handovers(self) -> list[HandoverChange]:
        return [o for o in self.outputs if isinstance(o, HandoverChange)]

    @property
    def tools(self) -> list[tuple[str, ToolOutcome]]:
        return [(use.name, use.outcome) for use in self.record.tools]


async def say(
    assistant: Assistant,
    tools: Tools,
    message: str,
    state: ConversationState | None = None,
) -> Exchange:
    """One customer message through the assistant, every output collected."""
    return Exchange(
        [o async for o in assistant.respond(state or ConversationState(), message, tools)]
    )


async def dialogue(assistant: Assistant, tools: Tools, *messages: str) -> list[Exchange]:
    """Messages in a row, each turn's state carried to the next."""
    state = ConversationState()
    turns = []
    for message in messages:
        turns.append(await say(assistant, tools, message, state))
        state = turns[-1].state
    return turns
