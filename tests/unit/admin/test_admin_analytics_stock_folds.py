"""Folding the catalog's stock events: counts set by a stock change, then each reservation
event's lines added to on hand and reserved."""

from __future__ import annotations

from google.protobuf.message import Message

from agora._proto.agora.catalog.v1 import catalog_pb2 as catalog_pb
from agora._proto.agora.catalog.v1 import events_pb2 as catalog_ev
from agora.admin.analytics_folds import fold_catalog
from agora.platform.bus.envelope import new_envelope


def event(subject: str, message: Message) -> object:
    return new_envelope(producer="catalog", subject=subject, event=message, aggregate_id="r-1")


def lines(quantity: int) -> list[catalog_pb.ReservationLine]:
    return [catalog_pb.ReservationLine(variant_id="v-1", quantity=quantity)]


def test_a_restocked_reservation_puts_its_units_back_on_hand_and_leaves_reserved_alone() -> None:
    changes = fold_catalog(
        [
            event(
                "catalog.stock.changed",
                catalog_ev.StockChanged(variant_id="v-1", on_hand=10, reserved=2),
            ),
            event("catalog.stock.reserved", catalog_ev.StockReserved(lines=lines(3))),
            event(
                "catalog.stock.reservation_committed",
                catalog_ev.ReservationCommitted(lines=lines(3)),
            ),
            event(
                "catalog.stock.reservation_restocked",
                catalog_ev.ReservationRestocked(lines=lines(3)),
            ),
        ]
    )
    change = changes.stock["v-1"]
    assert (change.on_hand, change.reserved) == (10, 2)
    assert (change.on_hand_added, change.reserved_added) == (0, 0)  # -3 +3 on hand, +3 -3 reserved


def test_a_restock_alone_adds_each_line_to_on_hand() -> None:
    changes = fold_catalog(
        [
            event(
                "catalog.stock.reservation_restocked",
                catalog_ev.ReservationRestocked(lines=lines(4) + lines(1)),
            )
        ]
    )
    change = changes.stock["v-1"]
    assert (change.on_hand, change.reserved) == (None, None)
    assert (change.on_hand_added, change.reserved_added) == (5, 0)
