"""The catalog's events: their subjects, and recording them in the outbox of the caller's
transaction (never published directly: the relay does that after commit)."""

from __future__ import annotations

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.catalog.v1 import events_pb2 as events
from agora.catalog.domain import Reservation, ReservationStatus
from agora.catalog.translation import lines_pb
from agora.platform.bus.outbox import Producer
from agora.platform.rpc.timestamps import timestamp

PRODUCER = "catalog"

CATEGORY_CREATED = "catalog.category.created"
PRODUCT_CREATED = "catalog.product.created"
PRODUCT_UPDATED = "catalog.product.updated"
PRODUCT_PUBLISHED = "catalog.product.published"
PRODUCT_ARCHIVED = "catalog.product.archived"
VARIANT_ADDED = "catalog.product.variant_added"
PRICES_CHANGED = "catalog.product.prices_changed"
STOCK_CHANGED = "catalog.stock.changed"
STOCK_RESERVED = "catalog.stock.reserved"
RESERVATION_COMMITTED = "catalog.stock.reservation_committed"
RESERVATION_RELEASED = "catalog.stock.reservation_released"
RESERVATION_EXPIRED = "catalog.stock.reservation_expired"
RESERVATION_RESTOCKED = "catalog.stock.reservation_restocked"

# A reservation's version: 1 when made, 2 once it has ended one way or another, 3 once a
# committed one is restocked.
_RESERVATION_VERSION = {
    ReservationStatus.ACTIVE: 1,
    ReservationStatus.COMMITTED: 2,
    ReservationStatus.RELEASED: 2,
    ReservationStatus.EXPIRED: 2,
    ReservationStatus.RESTOCKED: 3,
}


# Puts an event in the outbox, in the transaction of the change it announces.
record = Producer(PRODUCER).record


async def record_reservation_event(session: AsyncSession, reservation: Reservation) -> None:
    """The event that announces the reservation's current status."""
    subject, event, version = reservation_event(reservation)
    await record(session, subject, event, aggregate_id=reservation.id, version=version)


def reservation_event(reservation: Reservation) -> tuple[str, Message, int]:
    """The subject, event and reservation version announcing the reservation's status."""
    lines = lines_pb(reservation.lines)
    ids = {"reservation_id": reservation.id, "reference": reservation.reference}
    subject: str
    event: Message
    match reservation.status:
        case ReservationStatus.ACTIVE:
            subject = STOCK_RESERVED
            event = events.StockReserved(
                **ids, lines=lines, expires_at=timestamp(reservation.expires_at)
            )
        case ReservationStatus.COMMITTED:
            subject, event = RESERVATION_COMMITTED, events.ReservationCommitted(**ids, lines=lines)
        case ReservationStatus.RELEASED:
            subject, event = RESERVATION_RELEASED, events.ReservationReleased(**ids, lines=lines)
        case ReservationStatus.EXPIRED:
            subject, event = RESERVATION_EXPIRED, events.ReservationExpired(**ids, lines=lines)
        case ReservationStatus.RESTOCKED:
            subject = RESERVATION_RESTOCKED
            event = events.ReservationRestocked(**ids, lines=lines)
    return subject, event, _RESERVATION_VERSION[reservation.status]
