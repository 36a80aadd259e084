"""Reservation requests and the reservation status machine."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from agora.catalog.domain import (
    DEFAULT_RESERVATION_TTL,
    RESERVATION_TRANSITIONS,
    Reservation,
    ReservationAction,
    ReservationLine,
    ReservationStatus,
    Stock,
    StockMovement,
    end_reservation,
    insufficient_stock,
    next_reservation_status,
    open_reservation,
    plan_reservation,
    recount,
    stock_movements,
)
from agora.platform.errors import (
    FailedPrecondition,
    Gone,
    Insufficient,
    InvalidArgument,
    Shortage,
)

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)
A, B = sorted(str(uuid.uuid4()) for _ in range(2))


def violations(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


def test_lines_are_ordered_by_variant_id_so_stock_is_always_locked_in_one_order() -> None:
    plan = plan_reservation(
        [ReservationLine(B, 1), ReservationLine(A, 2)], ttl_seconds=60, reference="o-1", now=NOW
    )
    assert [line.variant_id for line in plan.lines] == [A, B]
    assert plan.expires_at == NOW + timedelta(seconds=60)
    assert plan.reference == "o-1"


def test_no_ttl_means_the_default_ttl() -> None:
    plan = plan_reservation([ReservationLine(A, 1)], ttl_seconds=0, reference="", now=NOW)
    assert plan.expires_at == NOW + DEFAULT_RESERVATION_TTL


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001])
def test_quantities_must_be_positive_and_bounded(quantity: int) -> None:
    with pytest.raises(InvalidArgument) as error:
        plan_reservation([ReservationLine(A, quantity)], ttl_seconds=0, reference="", now=NOW)
    assert violations(error) == ["lines[0].quantity"]


def test_every_bad_line_is_named() -> None:
    with pytest.raises(InvalidArgument) as error:
        plan_reservation(
            [ReservationLine(A, 1), ReservationLine("not-an-id", 1), ReservationLine(A, 0)],
            ttl_seconds=-5,
            reference="",
            now=NOW,
        )
    assert violations(error) == [
        "lines[1].variantId",
        "lines[2].variantId",
        "lines[2].quantity",
        "ttlSeconds",
    ]


def test_an_empty_reservation_is_refused() -> None:
    with pytest.raises(InvalidArgument) as error:
        plan_reservation([], ttl_seconds=0, reference="", now=NOW)
    assert violations(error) == ["lines"]


def test_ttl_is_at_most_one_day() -> None:
    with pytest.raises(InvalidArgument) as error:
        plan_reservation([ReservationLine(A, 1)], ttl_seconds=86_401, reference="", now=NOW)
    assert violations(error) == ["ttlSeconds"]


@pytest.mark.parametrize(
    ("status", "action"), list(itertools.product(ReservationStatus, ReservationAction))
)
def test_only_an_active_reservation_can_end_and_only_a_committed_one_be_restocked(
    status: ReservationStatus, action: ReservationAction
) -> None:
    expected = RESERVATION_TRANSITIONS.get((status, action))
    allowed = (status is ReservationStatus.ACTIVE and action is not ReservationAction.RESTOCK) or (
        status is ReservationStatus.COMMITTED and action is ReservationAction.RESTOCK
    )
    if allowed:
        assert expected is not None
        assert next_reservation_status(status, action, expires_at=LATER, now=NOW) is expected
    else:
        assert expected is None
        with pytest.raises(FailedPrecondition) as refused:
            next_reservation_status(status, action, expires_at=LATER, now=NOW)
        assert refused.value.metadata["status"] == status.value


def test_an_expired_reservation_can_no_longer_be_committed_but_can_be_released() -> None:
    with pytest.raises(Gone):
        next_reservation_status(
            ReservationStatus.ACTIVE, ReservationAction.COMMIT, expires_at=NOW, now=NOW
        )
    released = next_reservation_status(
        ReservationStatus.ACTIVE, ReservationAction.RELEASE, expires_at=NOW, now=LATER
    )
    assert released is ReservationStatus.RELEASED


def test_insufficient_stock_names_each_short_line_with_what_is_available() -> None:
    error = insufficient_stock([Shortage(A, 3, 1)])
    assert error.shortages == [Shortage(A, 3, 1)]
    assert "1 of 3" in error.message


def _active(*lines: ReservationLine) -> Reservation:
    plan = plan_reservation(list(lines), ttl_seconds=600, reference="o-1", now=NOW)
    return open_reservation(plan, [], now=NOW)


def test_a_reservation_opens_active_with_the_plan_when_every_line_is_held() -> None:
    reservation = _active(ReservationLine(B, 1), ReservationLine(A, 2))
    assert reservation.status is ReservationStatus.ACTIVE
    assert reservation.lines == (ReservationLine(A, 2), ReservationLine(B, 1))
    assert (reservation.expires_at, reservation.created_at) == (LATER, NOW)


def test_a_reservation_with_a_short_line_does_not_open() -> None:
    plan = plan_reservation([ReservationLine(A, 3)], ttl_seconds=60, reference="", now=NOW)
    with pytest.raises(Insufficient) as refused:
        open_reservation(plan, [Shortage(A, 3, 1)], now=NOW)
    assert refused.value.shortages == [Shortage(A, 3, 1)]


def test_ending_a_reservation_changes_its_status_only() -> None:
    active = _active(ReservationLine(A, 2))
    committed = end_reservation(active, ReservationAction.COMMIT, now=NOW)
    assert committed.status is ReservationStatus.COMMITTED
    assert (committed.id, committed.lines) == (active.id, active.lines)


def test_a_committed_reservation_takes_its_units_out_of_stock_the_others_give_them_back() -> None:
    committed = end_reservation(_active(ReservationLine(A, 2)), ReservationAction.COMMIT, now=NOW)
    expired = end_reservation(
        _active(ReservationLine(A, 1), ReservationLine(B, 4)), ReservationAction.EXPIRE, now=NOW
    )
    assert stock_movements([committed, expired]) == {
        A: StockMovement(reserved=3, on_hand=2),
        B: StockMovement(reserved=4, on_hand=0),
    }


def test_stock_on_hand_cannot_be_counted_below_what_is_reserved() -> None:
    held = Stock(variant_id=A, on_hand=10, reserved=4)
    assert recount(held, 4) == Stock(variant_id=A, on_hand=4, reserved=4)
    with pytest.raises(FailedPrecondition) as refused:
        recount(held, 3)
    assert refused.value.metadata == {"reserved": "4"}


def test_a_restocked_reservation_puts_its_sold_units_back_and_holds_nothing() -> None:
    committed = end_reservation(
        _active(ReservationLine(A, 2), ReservationLine(B, 5)), ReservationAction.COMMIT, now=NOW
    )
    restocked = end_reservation(committed, ReservationAction.RESTOCK, now=LATER)

    assert restocked.status is ReservationStatus.RESTOCKED
    assert stock_movements([restocked]) == {
        A: StockMovement(reserved=0, on_hand=-2),
        B: StockMovement(reserved=0, on_hand=-5),
    }
