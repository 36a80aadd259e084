"""The assistant's tools: what the support service lets it do for the customer (the port), and
what the tools answer.

The service implements `Tools` with gRPC calls to the owning services that carry the customer's
own token, so the services decide what the customer may see and change: the assistant has no
identity to pass and no wider rights to borrow. Nothing here talks to anything.

Pure: the standard library, `agora.platform.kernel` and `agora.platform.errors` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from agora.platform.kernel.money import Money


class OrderState(StrEnum):
    """An order's status, as orders reports it (`ORDER_STATUS_*` without the prefix)."""

    PLACED = "placed"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


# Orders refuses CancelOrder in any other state (placed | awaiting_payment -> cancelled).
CANCELLABLE = frozenset({OrderState.PLACED, OrderState.AWAITING_PAYMENT})
RETURNABLE = frozenset({OrderState.SHIPPED, OrderState.DELIVERED})


@dataclass(frozen=True)
class OrderBrief:
    """One of the customer's orders, as a list shows it."""

    id: str
    status: OrderState
    total: Money
    item_count: int
    placed_at: datetime


@dataclass(frozen=True)
class OrderLineInfo:
    variant_id: str
    product_id: str
    title: str
    quantity: int
    unit_price: Money


@dataclass(frozen=True)
class OrderDetails:
    """One order with its payment and shipment, as the customer may see it."""

    id: str
    status: OrderState
    total: Money
    placed_at: datetime
    lines: tuple[OrderLineInfo, ...] = ()
    payment: str = ""  # the invoice's state in words ("paid", "awaiting payment"), if known
    carrier: str = ""
    tracking_number: str = ""
    refunded: Money | None = None
    closing_reason: str = ""

    @property
    def cancellable(self) -> bool:
        return self.status in CANCELLABLE

    @property
    def returnable(self) -> bool:
        return self.status in RETURNABLE


@dataclass(frozen=True)
class ReturnLine:
    """A line to send back: the ordered variant and how many of it (1..ordered quantity)."""

    variant_id: str
    quantity: int


@dataclass(frozen=True)
class ReturnReceipt:
    return_id: str
    order_id: str
    status: str = "requested"
    instructions: str = ""


@dataclass(frozen=True)
class ProductHit:
    """A product a search or a recommendation found; `why` says which method chose it
    ("customers also bought", "similar"), empty for a search."""

    id: str
    name: str
    price: Money | None = None
    in_stock: bool | None = None
    why: str = ""


class ToolFailure(StrEnum):
    # No such order among the customer's (also what another customer's order looks like).
    NOT_FOUND = "not_found"
    # The service refused the change (an order already shipped cannot be cancelled).
    REFUSED = "refused"
    # The service could not be reached or did not answer in time.
    UNAVAILABLE = "unavailable"
    # The request itself was invalid (an id that is not one).
    INVALID = "invalid"


class ToolError(Exception):
    """A tool could not do what was asked. `message` is safe to show the customer."""

    def __init__(self, kind: ToolFailure, message: str = "") -> None:
        super().__init__(message or kind.value)
        self.kind = kind
        self.message = message


class Tools(Protocol):
    """What the assistant may do, always as the customer of the conversation."""

    async def my_orders(self) -> Sequence[OrderBrief]:
        """The customer's recent orders, newest first."""
        ...

    async def order_status(self, order_ref: str) -> OrderDetails:
        """One of the customer's orders, by full id or by a prefix of at least six characters
        of its id; ToolError(NOT_FOUND) when the customer has no such order."""
        ...

    async def cancel_order(self, order_id: str, reason: str) -> OrderDetails:
        """Cancel the customer's order `order_id` (a full id). The assistant calls this only
        after the customer confirmed this very cancellation in the conversation."""
        ...

    async def start_return(
        self, order_id: str, lines: Sequence[ReturnLine], reason: str
    ) -> ReturnReceipt:
        """Open a return of `lines` of the order (every line when empty), for `reason`."""
        ...

    async def search_products(self, query: str) -> Sequence[ProductHit]:
        """Published products matching `query`, best first."""
        ...

    async def recommendations(self, product_id: str | None) -> Sequence[ProductHit]:
        """Products to suggest: those going with `product_id`, or for the customer when
        None."""
        ...


@dataclass(frozen=True)
class CustomerAccess:
    """Whose rights a conversation's tools use: the caller's own bearer token, forwarded as
    sent, and for a guest the one order the conversation is about with its capability token.
    The tools never hold another credential, so the services decide what the customer may
    see and change."""

    authorization: str  # `Bearer <token>` as the caller sent it; empty for a guest
    customer_id: str | None = None
    guest_order_id: str | None = None
    guest_access_token: str | None = None
    # The conversation acting: the changes it asks for (cancel, return) take idempotency keys
    # derived from it, so a repeated tool call does not repeat the change.
    conversation_id: str = ""

    def __repr__(self) -> str:  # never print the credentials
        return f"CustomerAccess(customer_id={self.customer_id!r}, guest={self.guest_order_id!r})"


class ToolsFactory(Protocol):
    """Builds the tools of one conversation, acting with `access` and nothing else."""

    def __call__(self, access: CustomerAccess) -> Tools: ...
