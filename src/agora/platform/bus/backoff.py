"""How long a consumer waits before a failed message is delivered again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedeliveryBackoff:
    """Exponential redelivery delays: `initial_s`, then times `multiplier`, capped at `max_s`."""

    initial_s: float = 1.0
    multiplier: float = 2.0
    max_s: float = 60.0

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.max_s < self.initial_s or self.multiplier < 1:
            raise ValueError(f"invalid backoff {self}")

    def delay_s(self, delivery: int) -> float:
        """The wait after the `delivery`-th delivery (1-based) failed."""
        if delivery < 1:
            raise ValueError(f"deliveries count from 1, got {delivery}")
        # Cap the exponent first: a long-failing message must not overflow the float.
        exponent = min(delivery - 1, 64)
        return min(self.initial_s * self.multiplier**exponent, self.max_s)
