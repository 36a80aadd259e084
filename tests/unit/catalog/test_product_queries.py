"""ListProducts requests: defaults, bad fields by name, page tokens bound to their query."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from agora.catalog.domain import (
    Cursor,
    ListRequest,
    ProductPage,
    ProductSort,
    next_page_token,
    parse_product_query,
)
from agora.platform.errors import InvalidArgument

ID = str(uuid.uuid4())


def fields_of(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


def test_defaults_are_twenty_newest_products() -> None:
    query = parse_product_query(ListRequest())
    assert (query.page_size, query.sort, query.after) == (20, ProductSort.NEWEST, None)


def test_a_search_query_sorts_by_relevance_by_default() -> None:
    assert parse_product_query(ListRequest(text="shirt")).sort is ProductSort.RELEVANCE


@pytest.mark.parametrize("page_size", [101, -1])
def test_a_page_size_out_of_range_names_page_size(page_size: int) -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(page_size=page_size))
    assert fields_of(error) == ["pageSize"]


def test_price_filters_and_sorts_need_a_currency() -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(min_price=100))
    assert fields_of(error) == ["currency"]
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(sort="price_asc"))
    assert fields_of(error) == ["currency"]


def test_bad_price_bounds_are_named() -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(currency="EUR", min_price=-1, max_price=-2))
    assert fields_of(error) == ["minPrice", "maxPrice", "maxPrice"]


def test_unknown_sort_and_currency_are_named() -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(sort="cheapest", currency="EURO"))
    assert fields_of(error) == ["sort", "currency"]


def test_relevance_needs_a_search_query() -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(sort="relevance"))
    assert fields_of(error) == ["sort"]


def test_attribute_filters_group_alternatives_by_key() -> None:
    query = parse_product_query(
        ListRequest(attributes=("color:red", "color:blue", "size: M"), currency="eur")
    )
    assert query.attributes == {"color": ("red", "blue"), "size": ("M",)}
    assert query.currency == "EUR"


def test_a_malformed_attribute_filter_is_named_by_its_index() -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(attributes=("color:red", "color")))
    assert fields_of(error) == ["attr[1]"]


def _continued(request: ListRequest, cursor: Cursor) -> Cursor | None:
    """The cursor a client continues from with the token of a page that ended at `cursor`."""
    query = parse_product_query(request)
    token = next_page_token(query, ProductPage(products=(), next_cursor=cursor))
    return parse_product_query(replace(request, page_token=token)).after


@pytest.mark.parametrize("key", [1_700_000_000_000_000, "Linen Shirt", "0.0607927", 1999])
def test_a_cursor_survives_the_round_trip_through_its_page_token(key: int | str) -> None:
    cursor = Cursor(key=key, product_id=ID)
    assert _continued(ListRequest(category="shirts"), cursor) == cursor


def test_the_last_page_has_no_token() -> None:
    query = parse_product_query(ListRequest())
    assert next_page_token(query, ProductPage(products=(), next_cursor=None)) == ""


def test_a_page_token_only_continues_the_query_that_made_it() -> None:
    first = parse_product_query(ListRequest(category="shirts"))
    page = ProductPage(products=(), next_cursor=Cursor(key=1, product_id=ID))
    token = next_page_token(first, page)
    assert parse_product_query(ListRequest(category="shirts", page_token=token)).after == Cursor(
        1, ID
    )
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(category="shoes", page_token=token))
    assert fields_of(error) == ["pageToken"]


@pytest.mark.parametrize("token", ["!!!", "abc", "eyJrIjoxfQ"])
def test_garbage_page_tokens_name_page_token(token: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(page_token=token))
    assert fields_of(error) == ["pageToken"]


def test_a_bad_page_size_is_named_with_the_other_bad_fields() -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(page_size=500, sort="cheapest"))
    assert fields_of(error) == ["pageSize", "sort"]
