"""The order's events: their subjects, and recording them in the outbox of the caller's
transaction together with the event store rows (the relay publishes them after commit)."""

from __future__ import annotations

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from agora.platform.bus.outbox import record_event

PRODUCER = "orders"
STREAM = "ORDERS"
ORDER_SUBJECTS = "orders.order.>"
RETURN_SUBJECTS = "orders.return.>"


# Event types whose subject is not `orders.order.<type>`: a return is an event of the order
# (in its event store, its version) that consumers of returns subscribe to on their own.
_SUBJECTS = {
    "return_requested": f"{PRODUCER}.return.requested",
    "return_approved": f"{PRODUCER}.return.approved",
    "return_rejected": f"{PRODUCER}.return.rejected",
}


def order_subject(event_type: str) -> str:
    """`placed` -> `orders.order.placed`; `return_approved` -> `orders.return.approved`."""
    return _SUBJECTS.get(event_type, f"{PRODUCER}.order.{event_type}")


ORDER_PLACED = order_subject("placed")
ORDER_PAID = order_subject("paid")
ORDER_CANCELLED = order_subject("cancelled")
ORDER_EXPIRED = order_subject("expired")
RETURN_REQUESTED = order_subject("return_requested")


async def record(
    session: AsyncSession, event_type: str, event: Message, *, order_id: str, version: int
) -> None:
    """Put the order's event in the outbox, `aggregate_version` being its version."""
    await record_event(
        session,
        producer=PRODUCER,
        subject=order_subject(event_type),
        event=event,
        aggregate_id=order_id,
        aggregate_version=version,
    )
