"""The days an order search is limited to: both ends included, open ends, and every bad day an
INVALID_ARGUMENT naming its field (never an overflow)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from agora.orders.domain import PlacedDays
from agora.platform.errors import InvalidArgument


def test_a_range_runs_from_the_first_days_midnight_to_the_midnight_after_the_last() -> None:
    days = PlacedDays.parse("2026-03-01", "2026-03-31")

    assert days.since() == datetime(2026, 3, 1, tzinfo=UTC)
    assert days.until() == datetime(2026, 4, 1, tzinfo=UTC)


def test_open_ends_and_the_last_day_of_the_calendar_have_no_bound() -> None:
    assert (PlacedDays.parse("", "").since(), PlacedDays.parse("", "").until()) == (None, None)
    assert PlacedDays.parse("2026-01-01", "9999-12-31").until() is None
    assert PlacedDays.parse("", "9999-12-31").last == date.max


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-02-30", "", "placedFrom"),
        ("26-02-01", "", "placedFrom"),
        ("", "2026-13-01", "placedTo"),
        ("", "0000-01-01", "placedTo"),
        ("2026-03-02", "2026-03-01", "placedTo"),
    ],
)
def test_a_bad_day_names_its_field(first: str, last: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        PlacedDays.parse(first, last)

    assert [v.field for v in refused.value.violations] == [field]
