"""Aware datetimes in the domain; one Timestamp conversion at the transport edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from agora.platform.kernel.clock import require_aware, utcnow
from agora.platform.rpc.timestamps import datetime_of, optional_timestamp, timestamp


def test_now_is_aware_utc() -> None:
    assert utcnow().tzinfo is UTC


def test_naive_datetimes_are_refused_and_others_converted_to_utc() -> None:
    with pytest.raises(ValueError, match="naive"):
        require_aware(datetime(2026, 1, 1))
    plus_two = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert require_aware(plus_two) == datetime(2026, 1, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 12, 2, 12, 34, 56, 789012, tzinfo=UTC),
        datetime(1969, 7, 20, 20, 17, 40, 5, tzinfo=UTC),
    ],
)
def test_timestamps_match_protobuf_and_round_trip(moment: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(moment)
    assert timestamp(moment) == expected
    assert datetime_of(timestamp(moment)) == moment
    assert optional_timestamp(None) is None
