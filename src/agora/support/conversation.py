"""A conversation as the assistant sees it: what was said, what waits for the customer's yes or
no, who answers (the assistant, the queue, a person), and the rules that move it to a person.

The service stores a `ConversationState` and hands it to the assistant with each message; the
assistant hands back the next one. Pure: the standard library, `agora.platform.kernel`,
`agora.platform.errors` and the understanding layer only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from agora.platform.kernel.money import CURRENCIES, Money
from agora.support.understanding import Intent

# Remembered ids per conversation: enough for "cancel that one", bounded whatever happens.
MAX_KNOWN_IDS = 20


class Speaker(StrEnum):
    CUSTOMER = "customer"
    ASSISTANT = "assistant"
    STAFF = "staff"


@dataclass(frozen=True)
class Turn:
    speaker: Speaker
    text: str


class Handover(StrEnum):
    """Who answers the customer."""

    ASSISTANT = "assistant"
    QUEUED = "queued"  # waiting in the support queue for a person
    STAFF = "staff"  # a person took the conversation over


class HandoverReason(StrEnum):
    REQUESTED = "requested"  # the customer asked (or accepted the offer)
    ANGRY = "angry"
    LOW_CONFIDENCE = "low_confidence"
    AMOUNT_LIMIT = "amount_limit"  # a cancel or refund above the configured amount


class PendingKind(StrEnum):
    CANCEL_ORDER = "cancel_order"
    HANDOVER = "handover"  # the assistant offered a person


@dataclass(frozen=True)
class PendingAction:
    """What the assistant asked the customer to confirm; done only on a yes in the very next
    message, dropped on anything else."""

    kind: PendingKind
    order_id: str = ""
    summary: str = ""


@dataclass(frozen=True)
class ConversationState:
    """Everything the assistant needs from earlier messages. `known_order_ids` are orders the
    customer's own tools returned or the customer named; `focus_order_id` is the one being
    talked about ("cancel it"). `asked_which_order` is what the assistant's "Which order would
    you like to cancel?" in its last message was for: an answer naming only an order means that
    (for the next message only)."""

    history: tuple[Turn, ...] = ()
    pending: PendingAction | None = None
    handover: Handover = Handover.ASSISTANT
    tokens_used: int = 0
    low_confidence_streak: int = 0
    known_order_ids: tuple[str, ...] = ()
    known_product_ids: tuple[str, ...] = ()
    focus_order_id: str | None = None
    asked_which_order: Intent | None = None

    def knowing_orders(self, *order_ids: str) -> ConversationState:
        return replace(self, known_order_ids=_remember(self.known_order_ids, order_ids))

    def knowing_products(self, *product_ids: str) -> ConversationState:
        return replace(self, known_product_ids=_remember(self.known_product_ids, product_ids))


def _remember(known: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    merged = tuple(dict.fromkeys((*new, *known)))
    return merged[:MAX_KNOWN_IDS]


@dataclass(frozen=True)
class AmountLimits:
    """Above which amount a cancel or a refund goes to a person: `default` in major units of
    any currency, `per_currency` overriding it (JPY has no cents; 500 JPY is not 500 EUR)."""

    default: int = 500
    per_currency: Mapping[str, int] = field(default_factory=dict)

    def exceeded_by(self, amount: Money) -> bool:
        limit_major = self.per_currency.get(amount.currency, self.default)
        exponent = CURRENCIES[amount.currency].exponent if amount.currency in CURRENCIES else 2
        limit_minor: int = limit_major * 10**exponent
        return amount.amount_minor > limit_minor


def parse_amount_limits(text: str) -> AmountLimits:
    """`"500"` or `"500, JPY=75000, KRW=700000"`: the default and per-currency limits in major
    units; ValueError naming what is wrong."""
    default = AmountLimits().default
    per_currency: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        code, sep, value = part.partition("=")
        try:
            amount = int(value if sep else code)
        except ValueError:
            raise ValueError(f"not a whole amount: {part!r}") from None
        if amount < 0:
            raise ValueError(f"a limit cannot be negative: {part!r}")
        if not sep:
            default = amount
        elif code.strip().upper() in CURRENCIES:
            per_currency[code.strip().upper()] = amount
        else:
            raise ValueError(f"unknown currency in {part!r}")
    return AmountLimits(default=default, per_currency=per_currency)
