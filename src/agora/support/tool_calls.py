"""The assistant's tools as a model sees them (native mode): each tool's arguments as a strict
schema that a call must pass before anything runs, and the tools' results as the JSON the model
reads back.

The schemas offered to the model (`NATIVE_TOOL_SPECS`) and the validation of its calls
(`parse_call`) come from the same pydantic models, so what the model is told and what is
enforced cannot drift apart. `cancel_order` here only asks the customer: the assistant cancels on
the customer's yes, never on the model's word.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agora.platform.kernel.money import Money
from agora.support.answers import money_text, short_ref
from agora.support.llm import ToolCall, ToolSpec
from agora.support.tools import OrderBrief, OrderDetails, ProductHit

MAX_RESULTS = 5


class RejectedCall(Exception):
    """A model's call that is not run: unknown tool, or arguments that fail its schema."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_ORDER_REF = r"^[0-9a-fA-F][0-9a-fA-F-]{5,35}$"
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class ToolArgs(BaseModel):
    """A call's arguments: exactly these fields, of exactly these types (no coercion)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class NoArgs(ToolArgs):
    pass


class OrderArgs(ToolArgs):
    order_ref: str = Field(pattern=_ORDER_REF, description="the order's id or its first 8+ chars")


class ReturnLineArgs(ToolArgs):
    variant_id: str = Field(pattern=_UUID)
    quantity: int = Field(ge=1, le=99)


class ReturnArgs(ToolArgs):
    order_ref: str = Field(pattern=_ORDER_REF)
    reason: str = Field(default="", max_length=300)
    lines: list[ReturnLineArgs] = Field(default_factory=list, max_length=50)


class SearchArgs(ToolArgs):
    query: str = Field(min_length=1, max_length=200)


class RecommendArgs(ToolArgs):
    product_id: str | None = Field(default=None, pattern=_UUID)


class HandoverArgs(ToolArgs):
    reason: str = Field(default="", max_length=300)


TOOLS: Mapping[str, tuple[str, type[ToolArgs]]] = {
    "my_orders": ("The customer's recent orders, newest first.", NoArgs),
    "order_status": ("One of the customer's orders with payment and shipment.", OrderArgs),
    "cancel_order": (
        "Ask the customer to confirm cancelling their order (nothing is cancelled until they "
        "say yes).",
        OrderArgs,
    ),
    "start_return": (
        "Start a return of a delivered or shipped order (all lines when `lines` is empty).",
        ReturnArgs,
    ),
    "search_products": ("Search the shop's products.", SearchArgs),
    "recommendations": (
        "Products that go with `product_id` (from a search), or for the customer.",
        RecommendArgs,
    ),
    "hand_over": ("Pass the conversation to a person from the support team.", HandoverArgs),
}
NATIVE_TOOL_SPECS: tuple[ToolSpec, ...] = tuple(
    ToolSpec(name, description, args.model_json_schema())
    for name, (description, args) in TOOLS.items()
)


def parse_call(call: ToolCall) -> ToolArgs:
    """The call's validated arguments, or RejectedCall saying what is wrong (at most five
    problems, for the model to correct)."""
    entry = TOOLS.get(call.name)
    if entry is None:
        raise RejectedCall(f"unknown tool {call.name[:64]!r}")
    try:
        return entry[1].model_validate_json(call.arguments or "{}")
    except ValidationError as invalid:
        raise RejectedCall(_problems(invalid)) from None


def _problems(invalid: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
        for e in invalid.errors()[:5]
    ]
    return "; ".join(problems)


def _money_json(amount: Money | None) -> str | None:
    return money_text(amount) if amount is not None else None


def order_json(order: OrderDetails) -> str:
    """One order, for the model."""
    return json.dumps(
        {
            "order": short_ref(order.id),
            "id": order.id,
            "status": order.status.value,
            "total": _money_json(order.total),
            "placed": f"{order.placed_at:%Y-%m-%d}",
            "payment": order.payment or None,
            "carrier": order.carrier or None,
            "tracking_number": order.tracking_number or None,
            "refunded": _money_json(order.refunded),
            "lines": [
                {
                    "variant_id": line.variant_id,
                    "title": line.title,
                    "quantity": line.quantity,
                    "unit_price": _money_json(line.unit_price),
                }
                for line in order.lines
            ],
        }
    )


def orders_json(orders: Sequence[OrderBrief]) -> str:
    """The customer's most recent orders, for the model."""
    return json.dumps(
        [
            {
                "order": short_ref(o.id),
                "id": o.id,
                "status": o.status.value,
                "total": _money_json(o.total),
                "items": o.item_count,
                "placed": f"{o.placed_at:%Y-%m-%d}",
            }
            for o in orders[:MAX_RESULTS]
        ]
    )


def products_json(hits: Sequence[ProductHit]) -> str:
    """Products found or suggested, for the model."""
    return json.dumps(
        [
            {
                "product_id": h.id,
                "name": h.name,
                "price": _money_json(h.price),
                "in_stock": h.in_stock,
                "why": h.why or None,
            }
            for h in hits[:MAX_RESULTS]
        ]
    )
