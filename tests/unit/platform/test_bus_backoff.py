"""How long a failed message waits before its next delivery."""

from __future__ import annotations

import pytest

from agora.platform.bus import RedeliveryBackoff


def test_the_delay_doubles_with_each_failed_delivery() -> None:
    backoff = RedeliveryBackoff(initial_s=1.0, multiplier=2.0, max_s=60.0)

    assert [backoff.delay_s(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_the_delay_never_exceeds_the_cap() -> None:
    backoff = RedeliveryBackoff(initial_s=1.0, multiplier=2.0, max_s=60.0)

    assert backoff.delay_s(7) == 60.0
    assert backoff.delay_s(10_000) == 60.0


def test_deliveries_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        RedeliveryBackoff().delay_s(0)


@pytest.mark.parametrize(
    ("initial_s", "multiplier", "max_s"), [(0.0, 2.0, 10.0), (5.0, 2.0, 1.0), (1.0, 0.5, 10.0)]
)
def test_a_backoff_that_cannot_grow_sensibly_is_refused(
    initial_s: float, multiplier: float, max_s: float
) -> None:
    with pytest.raises(ValueError, match="invalid backoff"):
        RedeliveryBackoff(initial_s=initial_s, multiplier=multiplier, max_s=max_s)
