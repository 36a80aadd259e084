"""Helpers of the admin content tests (importable by name: conftest modules are not)."""

from __future__ import annotations

from datetime import datetime, timedelta

from agora.platform.kernel.clock import utcnow

MEDIA_MAX_BYTES = 64 * 1024


class ShiftedClock:
    """Now, moved forward by what a test asks (content schedules are reached without sleeping)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, delta: timedelta) -> datetime:
        """Move now by `delta`; the new now."""
        self.offset += delta
        return self()
