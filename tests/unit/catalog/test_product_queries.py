"""ListProducts requests: defaults, bad fields by name, cursors that resist tampering."""

from __future__ import annotations

import base64
import uuid

import pytest

from agora.catalog.domain import (
    Cursor,
    ListRequest,
    ProductSort,
    decode_cursor,
    encode_cursor,
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


@pytest.mark.parametrize("key", [1_700_000_000_000_000, "Linen Shirt", 0.0607927, 1999])
def test_a_cursor_survives_the_round_trip(key: int | str | float) -> None:
    cursor = Cursor(key=key, product_id=ID)
    assert decode_cursor(encode_cursor(cursor, "f1"), "f1") == cursor


def test_a_page_token_is_opaque_url_safe_text() -> None:
    token = encode_cursor(Cursor(key="a/b+c", product_id=ID), "f1")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_an_edited_page_token_is_refused() -> None:
    token = encode_cursor(Cursor(key=100, product_id=ID), "f1")
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[6] ^= 0x01
    edited = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(InvalidArgument) as error:
        decode_cursor(edited, "f1")
    assert fields_of(error) == ["pageToken"]


@pytest.mark.parametrize("token", ["", "!!!", "abc", "eyJrIjoxfQ"])
def test_garbage_page_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidArgument):
        decode_cursor(token, "f1")


def test_a_page_token_only_continues_the_query_that_made_it() -> None:
    first = parse_product_query(ListRequest(category="shirts"))
    token = encode_cursor(Cursor(key=1, product_id=ID), first.fingerprint())
    assert parse_product_query(ListRequest(category="shirts", page_token=token)).after == Cursor(
        1, ID
    )
    with pytest.raises(InvalidArgument) as error:
        parse_product_query(ListRequest(category="shoes", page_token=token))
    assert fields_of(error) == ["pageToken"]
