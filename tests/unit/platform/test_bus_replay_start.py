"""Where a replayed consumer starts delivering from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nats.js.api import DeliverPolicy

from agora.platform.bus.replay import replay_start
from agora.platform.errors import InvalidArgument


def test_replay_from_a_sequence_delivers_by_start_sequence() -> None:
    assert replay_start(42, None)["deliver_policy"] == DeliverPolicy.BY_START_SEQUENCE
    assert replay_start(42, None)["opt_start_seq"] == 42


def test_replay_since_a_time_delivers_by_start_time() -> None:
    since = datetime(2025, 1, 2, tzinfo=UTC)

    start = replay_start(None, since)

    assert start["deliver_policy"] == DeliverPolicy.BY_START_TIME
    assert start["opt_start_time"] == since


def test_replay_without_a_start_delivers_everything() -> None:
    assert replay_start(None, None)["deliver_policy"] == DeliverPolicy.ALL


@pytest.mark.parametrize(
    ("from_seq", "since"),
    [
        (0, None),
        (3, datetime(2025, 1, 2, tzinfo=UTC)),
        (None, datetime(2025, 1, 2)),  # no timezone: ambiguous
    ],
)
def test_an_ambiguous_or_impossible_start_is_refused(
    from_seq: int | None, since: datetime | None
) -> None:
    with pytest.raises(InvalidArgument):
        replay_start(from_seq, since)
