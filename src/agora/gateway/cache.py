"""An in-process cache of transcoded GET answers, dropped early by domain events.

A method opts in with `(agora.options.v1.rule).cache_ttl_seconds` and names the event subjects
that change its answers in `invalidated_by` (`catalog.product.`). An event whose subject starts
with one of those prefixes drops every entry stored under it, so a change shows through within
the event's delivery time rather than the TTL.

Invalidation only works while events arrive: whoever feeds the cache calls `suspend()` when its
event subscription is lost (the cache then neither serves nor stores) and `resume()` once it is
back. A generation counter keeps an answer fetched before an invalidation from being stored
after it.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_MAX_ENTRIES = 10_000
# Even with events flowing, nothing is served older than this.
DEFAULT_MAX_TTL_S = 300.0


@dataclass(frozen=True)
class CachedResponse:
    """A stored answer: its JSON body and the strong ETag of that body."""

    body: bytes
    etag: str
    expires_at: float
    prefixes: tuple[str, ...]


def etag_of(body: bytes) -> str:
    """A strong ETag for a body."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether a request's `If-None-Match` names `etag` (weak comparison, or `*`)."""
    if not if_none_match:
        return False
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or etag.removeprefix("W/") in candidates


class ResponseCache:
    """Bounded LRU of answers with per-entry TTL and invalidation by event-subject prefix."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_ttl_s: float = DEFAULT_MAX_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_ttl_s = max_ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._keys_by_prefix: dict[str, set[str]] = {}
        self._generation = 0
        self._active = True

    @property
    def active(self) -> bool:
        """Whether the cache serves and stores answers (False while events may be missed)."""
        return self._active

    @property
    def generation(self) -> int:
        """Changes on every invalidation; pass the value seen before a call to `put`."""
        return self._generation

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CachedResponse | None:
        """The live entry for `key`, if any."""
        if not self._active:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(
        self,
        key: str,
        body: bytes,
        *,
        ttl_s: float,
        prefixes: Sequence[str],
        generation: int,
    ) -> CachedResponse:
        """Store an answer fetched when `generation` was current (skipped if it changed since)."""
        entry = CachedResponse(
            body=body,
            etag=etag_of(body),
            expires_at=self._clock() + min(ttl_s, self.max_ttl_s),
            prefixes=tuple(prefixes),
        )
        if not self._active or generation != self._generation or ttl_s <= 0:
            return entry
        self._remove(key)
        self._entries[key] = entry
        for prefix in entry.prefixes:
            self._keys_by_prefix.setdefault(prefix, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._remove(next(iter(self._entries)))
        return entry

    def invalidate_prefix(self, subject: str) -> int:
        """Drop every entry invalidated by an event on `subject`; returns how many."""
        self._generation += 1
        dropped = 0
        for prefix in [p for p in self._keys_by_prefix if subject.startswith(p)]:
            for key in list(self._keys_by_prefix.get(prefix, ())):
                self._remove(key)
                dropped += 1
        return dropped

    def clear(self) -> None:
        """Drop everything."""
        self._generation += 1
        self._entries.clear()
        self._keys_by_prefix.clear()

    def suspend(self) -> None:
        """Stop serving and storing (events may be missed), dropping what is stored."""
        self._active = False
        self.clear()

    def resume(self) -> None:
        """Serve and store again (events flow again); starts empty."""
        self.clear()
        self._active = True

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for prefix in entry.prefixes:
            keys = self._keys_by_prefix.get(prefix)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._keys_by_prefix[prefix]
