"""The one conversion between timezone-aware datetimes and `google.protobuf.Timestamp`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(moment: datetime) -> Timestamp:
    """`moment` (timezone-aware) as a Timestamp. Integer arithmetic: several times faster than
    `Timestamp.FromDatetime` on list paths that convert a few per row."""
    delta = moment - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def optional_timestamp(moment: datetime | None) -> Timestamp | None:
    """`timestamp(moment)`, or None (the field left unset) for no moment."""
    return None if moment is None else timestamp(moment)


def datetime_of(stamp: Timestamp) -> datetime:
    """A Timestamp as a timezone-aware UTC datetime (microsecond precision)."""
    return _EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)
