"""What the assistant says without a model: complete answers built from the tools' results,
the facts a model is given to write its own answer from, and the words a model's answer must
contain to count as faithful to those facts.

Every answer here is correct on its own, so a model that is down, slow, spent or unfaithful
costs the customer style, never truth. Pure: the standard library, `agora.platform.kernel` and
`agora.platform.errors` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agora.platform.kernel.money import CURRENCIES, Money
from agora.support.conversation import HandoverReason
from agora.support.tools import OrderBrief, OrderDetails, OrderState, ProductHit, ReturnReceipt
from agora.support.understanding import find_order_refs

SHORT_REF = 8  # how an order is named in answers: the first characters of its id
MAX_LISTED = 5

STATUS_WORDS = {
    OrderState.PLACED: "placed",
    OrderState.AWAITING_PAYMENT: "placed and waiting for payment",
    OrderState.PAID: "paid and being prepared",
    OrderState.FULFILLED: "packed and ready to ship",
    OrderState.SHIPPED: "shipped",
    OrderState.DELIVERED: "delivered",
    OrderState.CANCELLED: "cancelled",
    OrderState.EXPIRED: "expired (it was not paid in time)",
    OrderState.REFUNDED: "refunded",
}
# The one word of each status a faithful answer must use.
STATUS_KEYWORDS = {
    OrderState.PLACED: "placed",
    OrderState.AWAITING_PAYMENT: "payment",
    OrderState.PAID: "paid",
    OrderState.FULFILLED: "packed",
    OrderState.SHIPPED: "shipped",
    OrderState.DELIVERED: "delivered",
    OrderState.CANCELLED: "cancelled",
    OrderState.EXPIRED: "expired",
    OrderState.REFUNDED: "refunded",
}

HANDOVER_OFFER = "Would you like me to pass you to a person from our support team?"
MODEL_TROUBLE = "I'm having trouble writing answers right now. " + HANDOVER_OFFER
OWN_ORDERS_ONLY = "I can only look at orders of the account you are signed in with."


@dataclass(frozen=True)
class Draft:
    """An answer to give: `template` is complete and correct; when `facts` is set a model may
    write the answer from them instead, and must then mention every word of `must_mention`."""

    template: str
    facts: str = ""
    must_mention: tuple[str, ...] = ()

    @property
    def model_may_write(self) -> bool:
        return bool(self.facts)

    def faithful(self, answer: str) -> bool:
        """True when `answer` mentions every fact word (case-insensitive) and names no order
        the facts do not (a small model invents order numbers)."""
        folded = answer.casefold()
        if not answer.strip() or not all(w.casefold() in folded for w in self.must_mention):
            return False
        known = self.facts.casefold() + " " + self.template.casefold()
        return all(ref in known for ref in find_order_refs(answer))


def money_text(amount: Money) -> str:
    """`1,234.50 EUR`, `1,500 JPY`: integer arithmetic only."""
    exponent = CURRENCIES[amount.currency].exponent if amount.currency in CURRENCIES else 2
    sign = "-" if amount.amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount.amount_minor), 10**exponent)
    shown = f"{whole:,}" + (f".{fraction:0{exponent}d}" if exponent else "")
    return f"{sign}{shown} {amount.currency}"


def short_ref(order_id: str) -> str:
    return order_id[:SHORT_REF]


def _items(count: int) -> str:
    return "1 item" if count == 1 else f"{count} items"


def order_status(order: OrderDetails) -> Draft:
    ref = short_ref(order.id)
    sentences = [f"Order {ref} is {STATUS_WORDS[order.status]}."]
    must = [ref, STATUS_KEYWORDS[order.status]]
    if order.carrier or order.tracking_number:
        tracking = f" (tracking number {order.tracking_number})" if order.tracking_number else ""
        sentences.append(f"It travels with {order.carrier or 'our carrier'}{tracking}.")
        if order.tracking_number:
            must.append(order.tracking_number)
    if order.refunded is not None and order.refunded.amount_minor > 0:
        sentences.append(f"{money_text(order.refunded)} has been refunded.")
    if order.closing_reason and order.status in (OrderState.CANCELLED, OrderState.EXPIRED):
        sentences.append(f"Reason: {order.closing_reason}.")
    sentences.append(f"Total: {money_text(order.total)}, {_items(_count(order))}.")
    return Draft(" ".join(sentences), facts=order_facts(order), must_mention=tuple(must))


def _count(order: OrderDetails) -> int:
    return sum(line.quantity for line in order.lines)


def order_facts(order: OrderDetails) -> str:
    """The order as facts for a model, one per line."""
    lines = [
        f"Order {short_ref(order.id)}, placed {order.placed_at:%Y-%m-%d}",
        f"Status: {STATUS_WORDS[order.status]}",
        f"Total: {money_text(order.total)}",
    ]
    if order.payment:
        lines.append(f"Payment: {order.payment}")
    if order.carrier:
        lines.append(f"Carrier: {order.carrier}")
    if order.tracking_number:
        lines.append(f"Tracking number: {order.tracking_number}")
    if order.refunded is not None and order.refunded.amount_minor > 0:
        lines.append(f"Refunded: {money_text(order.refunded)}")
    for line in order.lines[:MAX_LISTED]:
        lines.append(f"Item: {line.title} x{line.quantity} at {money_text(line.unit_price)}")
    return "\n".join(lines)


def my_orders(orders: Sequence[OrderBrief]) -> Draft:
    if not orders:
        return Draft("I can't find any orders on your account yet.")
    listed = [
        f"- {short_ref(o.id)} of {o.placed_at:%Y-%m-%d}: {STATUS_WORDS[o.status]}, "
        f"{money_text(o.total)}"
        for o in orders[:MAX_LISTED]
    ]
    more = len(orders) - MAX_LISTED
    tail = f"\n…and {more} older." if more > 0 else ""
    text = "Your recent orders:\n" + "\n".join(listed) + tail
    return Draft(
        text + "\nAsk me about any of them by its number.",
        facts=text,
        must_mention=tuple(short_ref(o.id) for o in orders[:MAX_LISTED]),
    )


def which_order(orders: Sequence[OrderBrief], action: str) -> str:
    """Ask which order is meant, listing the candidates."""
    listed = ", ".join(f"{short_ref(o.id)} ({STATUS_WORDS[o.status]})" for o in orders[:MAX_LISTED])
    return f"Which order would you like to {action}? Your orders: {listed}."


def no_orders() -> str:
    return "I can't find any orders on your account yet."


def order_not_found(ref: str, *, injection: bool = False) -> str:
    text = f"I can't find an order {ref} on your account. Please check the number."
    return f"{text} {OWN_ORDERS_ONLY}" if injection else text


def confirm_cancel(order: OrderDetails) -> str:
    return (
        f"Do you want me to cancel order {short_ref(order.id)} ({_items(_count(order))}, "
        f"{money_text(order.total)})? Please answer yes or no."
    )


def cancelled(order: OrderDetails) -> str:
    return f"Order {short_ref(order.id)} is cancelled now. Its items are released."


def cancel_kept(summary: str) -> str:
    return f"All right, I won't cancel {summary or 'the order'}. Anything else I can do?"


def not_cancellable(order: OrderDetails) -> str:
    text = (
        f"Order {short_ref(order.id)} is {STATUS_WORDS[order.status]}, so it can no longer be "
        "cancelled."
    )
    if order.status in (OrderState.SHIPPED, OrderState.DELIVERED):
        text += " Once it arrives you can return it, and I can start the return for you."
    return text


def not_returnable(order: OrderDetails) -> str:
    if order.cancellable:
        return (
            f"Order {short_ref(order.id)} has not shipped yet ({STATUS_WORDS[order.status]}). "
            "I can cancel it instead, if you like."
        )
    return f"Order {short_ref(order.id)} is {STATUS_WORDS[order.status]}, so it cannot be returned."


def return_started(receipt: ReturnReceipt) -> Draft:
    ref = short_ref(receipt.order_id)
    text = f"I've started a return for order {ref} (return {receipt.return_id[:SHORT_REF]})."
    if receipt.instructions:
        text += f" {receipt.instructions}"
    return Draft(
        text,
        facts=f"A return was opened for order {ref}, return number "
        f"{receipt.return_id[:SHORT_REF]}, status {receipt.status}. {receipt.instructions}",
        must_mention=(ref,),
    )


def products(hits: Sequence[ProductHit], query: str) -> Draft:
    if not hits:
        return Draft(f"I couldn't find anything for “{query}”. Could you describe it differently?")
    listed = [_product_line(h) for h in hits[:MAX_LISTED]]
    text = f"Here is what I found for “{query}”:\n" + "\n".join(listed)
    return Draft(text, facts=text, must_mention=_product_facts(hits[0]))


def _product_facts(hit: ProductHit) -> tuple[str, ...]:
    """What an answer about a product must say: its name, its price (the number, however the
    currency is written) and that it is out of stock, when it is: what the customer asked."""
    facts = [hit.name]
    if hit.price is not None:
        facts.append(money_text(hit.price).rsplit(" ", 1)[0])
    if hit.in_stock is False:
        facts.append("out of stock")
    return tuple(facts)


def suggestions(hits: Sequence[ProductHit], about: str = "") -> Draft:
    if not hits:
        return Draft("I have no suggestions right now, sorry.")
    listed = [_product_line(h) for h in hits[:MAX_LISTED]]
    lead = f"Going with {about}, you might like:" if about else "You might like:"
    text = lead + "\n" + "\n".join(listed)
    return Draft(text, facts=text, must_mention=(hits[0].name,))


def _product_line(hit: ProductHit) -> str:
    price = f", {money_text(hit.price)}" if hit.price is not None else ""
    stock = " (out of stock)" if hit.in_stock is False else ""
    why = f" — {hit.why}" if hit.why else ""
    return f"- {hit.name}{price}{stock}{why}"


def ask_what_product() -> str:
    return "What are you looking for? Tell me a product name or a few words about it."


def handed_over(reason: HandoverReason) -> str:
    match reason:
        case HandoverReason.REQUESTED:
            return "I'm passing you to a person from our support team; they will answer here."
        case HandoverReason.ANGRY:
            return (
                "I'm sorry this has been frustrating. I'm passing you to a person from our "
                "support team, who will answer here."
            )
        case HandoverReason.LOW_CONFIDENCE:
            return (
                "I'm not able to help with this well enough, so I'm passing you to a person "
                "from our support team; they will answer here."
            )
        case HandoverReason.AMOUNT_LIMIT:
            return (
                "For an amount this large a person from our support team takes care of it; "
                "I'm passing you to them and they will answer here."
            )


def cannot_change_order() -> str:
    return (
        "I can't change an order's delivery address, items or payment myself, but a person "
        "from our support team can. " + HANDOVER_OFFER
    )


def staying() -> str:
    return "All right, I'll keep helping you here. What can I do for you?"


def nothing_to_confirm() -> str:
    return "I haven't asked you anything to confirm. How can I help?"


def greeting() -> str:
    return (
        "Hello! I can tell you where your orders are, cancel or return an order, and help you "
        "find products. What can I do for you?"
    )


def thanks() -> str:
    return "You're welcome! Is there anything else I can help with?"


def off_topic() -> str:
    return (
        "I can only help with this shop: your orders, cancellations, returns and finding products."
    )


def abuse() -> str:
    return "I'd like to help, and I will if we keep it polite. What is the problem with your order?"


def not_understood() -> str:
    return (
        "I'm not sure I understood. I can help with your orders (where they are, cancelling, "
        "returns) and with finding products. " + HANDOVER_OFFER
    )


def tool_unavailable() -> str:
    return "I can't reach that information right now. " + HANDOVER_OFFER


def refused(message: str) -> str:
    return message or "That can't be done for this order."


def unfinished() -> str:
    return "I couldn't finish that. " + HANDOVER_OFFER
