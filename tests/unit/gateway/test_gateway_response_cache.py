"""The response cache: TTL, LRU bound, invalidation by event subject, suspension."""

from __future__ import annotations

from agora.gateway.bootstrap import subscription_subjects
from agora.gateway.cache import ResponseCache, etag_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _put(cache: ResponseCache, key: str, prefixes: tuple[str, ...] = (), ttl_s: float = 10) -> None:
    cache.put(key, key.encode(), ttl_s=ttl_s, prefixes=prefixes, generation=cache.generation)


def test_an_entry_is_served_until_its_ttl_ends() -> None:
    clock = Clock()
    cache = ResponseCache(clock=clock)
    _put(cache, "a", ttl_s=10)

    clock.now += 9.9
    assert cache.get("a") is not None
    clock.now += 0.2
    assert cache.get("a") is None


def test_the_ttl_is_capped() -> None:
    clock = Clock()
    cache = ResponseCache(clock=clock, max_ttl_s=5)
    _put(cache, "a", ttl_s=3600)

    clock.now += 5.1

    assert cache.get("a") is None


def test_an_event_drops_the_entries_of_matching_prefixes_only() -> None:
    cache = ResponseCache()
    _put(cache, "product", ("catalog.product.",))
    _put(cache, "stock", ("catalog.stock.",))
    _put(cache, "both", ("catalog.product.", "catalog.stock."))

    dropped = cache.invalidate_prefix("catalog.product.updated")

    assert dropped == 2
    assert cache.get("product") is None
    assert cache.get("both") is None
    assert cache.get("stock") is not None


def test_an_answer_fetched_before_an_invalidation_is_not_stored() -> None:
    cache = ResponseCache()
    seen = cache.generation

    cache.invalidate_prefix("catalog.product.updated")
    cache.put("a", b"stale", ttl_s=10, prefixes=("catalog.product.",), generation=seen)

    assert cache.get("a") is None


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = ResponseCache(max_entries=2)
    _put(cache, "a")
    _put(cache, "b")
    cache.get("a")

    _put(cache, "c")

    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert len(cache) == 2


def test_a_suspended_cache_neither_serves_nor_stores() -> None:
    cache = ResponseCache()
    _put(cache, "a")

    cache.suspend()
    _put(cache, "b")

    assert cache.get("a") is None
    assert cache.get("b") is None
    cache.resume()
    assert cache.get("a") is None
    _put(cache, "c")
    assert cache.get("c") is not None


def test_etags_are_strong_and_follow_the_body() -> None:
    assert etag_of(b"x") == etag_of(b"x")
    assert etag_of(b"x") != etag_of(b"y")
    assert etag_of(b"x").startswith('"')


def test_subscriptions_cover_every_prefix_with_as_few_subjects_as_needed() -> None:
    assert subscription_subjects(["catalog.product.", "catalog.stock."]) == [
        "catalog.product.>",
        "catalog.stock.>",
    ]
    assert subscription_subjects(["catalog.", "catalog.product."]) == ["catalog.>"]
    assert subscription_subjects(["catalog.prod"]) == ["catalog.>"]
    assert subscription_subjects([]) == []
