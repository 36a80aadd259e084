"""Time as the domain sees it: timezone-aware UTC datetimes, never naive ones."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


def require_aware(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is a programming error (its zone is unknowable)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: Agora's times are timezone-aware")
    return moment.astimezone(UTC)
