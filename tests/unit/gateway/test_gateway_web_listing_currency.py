"""A listing after the shopper changes currency: price bounds typed in the old currency and the
page tokens go, other filters stay; pages that are no listings are left alone."""

from __future__ import annotations

import pytest

from agora.gateway.web.store.browse import listing_in_new_currency


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("/c/lamps?min=20&max=60&sort=price_asc", "/c/lamps?sort=price_asc&price_cleared=1"),
        ("/search?q=tea&max=5", "/search?q=tea&price_cleared=1"),
        ("/search?q=tea&min=&in_stock=1", "/search?q=tea&in_stock=1"),
        ("/search?q=tea&page=abc&back=xyz", "/search?q=tea"),
        ("/c/lamps?min=1&price_cleared=1", "/c/lamps?price_cleared=1"),
        ("/search", "/search"),
    ],
)
def test_a_listing_drops_its_price_bounds_and_page_tokens(before: str, after: str) -> None:
    assert listing_in_new_currency(before) == after


@pytest.mark.parametrize("url", ["/", "/p/lamp?variant_id=1&min=3", "/cart?min=3"])
def test_pages_that_are_no_listings_stay_as_they_are(url: str) -> None:
    assert listing_in_new_currency(url) == url
