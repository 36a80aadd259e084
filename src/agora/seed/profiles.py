"""Seed profiles: how much of each entity a profile makes, before `--scale` multiplies it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Bump when what a profile generates changes: a recorded run of an older version is upgraded in
# place (its rows removed, the new plan written) by the next `agora seed`.
DATA_VERSION = 1

# Orders still open (placed, awaiting payment) out of all orders; they hold live reservations.
OPEN_ORDER_SHARE = 0.002


@dataclass(frozen=True)
class Profile:
    name: str
    products: int
    customers: int
    orders: int
    description: str
    # A fixed clock makes the plan byte-for-byte the same in every run (the `test` profile).
    fixed_now: datetime | None = None

    def sizes(self, scale: float) -> Sizes:
        """The profile's counts times `scale`, never below what the planted structure needs."""
        return Sizes(
            products=max(12, round(self.products * scale)),
            customers=max(3, round(self.customers * scale)),
            orders=max(12, round(self.orders * scale)),
        )


@dataclass(frozen=True)
class Sizes:
    products: int
    customers: int
    orders: int


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            "minimal",
            products=48,
            customers=8,
            orders=40,
            description="a small shop for development, with staff and admin accounts",
        ),
        Profile(
            "full",
            products=10_000,
            customers=50_000,
            orders=200_000,
            description="a realistic shop for demos and load tests: a year of orders",
        ),
        Profile(
            "test",
            products=24,
            customers=6,
            orders=30,
            description="small and deterministic (fixed clock) for end-to-end tests",
            fixed_now=datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
        ),
    )
}


def profile_named(name: str) -> Profile:
    """The profile called `name`; ValueError listing the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown profile {name!r} (known: {known})") from None
