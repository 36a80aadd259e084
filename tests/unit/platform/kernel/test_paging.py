"""One page-size rule and one opaque, signed page-token format."""

from __future__ import annotations

import base64

import pytest

from agora.platform.errors import InvalidArgument
from agora.platform.kernel.paging import (
    DEFAULT_PAGE_SIZE,
    KEY_VARIABLE,
    MAX_PAGE_SIZE,
    decode_page_token,
    encode_page_token,
    page_size,
)


@pytest.mark.parametrize("requested", [-1, MAX_PAGE_SIZE + 1, 2**31])
def test_a_page_size_out_of_range_is_refused_not_capped(requested: int) -> None:
    with pytest.raises(InvalidArgument) as refused:
        page_size(requested)
    assert refused.value.violations[0].field == "pageSize"


def test_zero_means_the_default_and_the_range_is_kept() -> None:
    assert page_size(0) == DEFAULT_PAGE_SIZE
    assert page_size(1) == 1
    assert page_size(MAX_PAGE_SIZE) == MAX_PAGE_SIZE


def test_a_token_round_trips_for_its_query() -> None:
    token = encode_page_token(["2026-12-01T10:00:00+00:00", "a-b"], "sort=newest")
    assert decode_page_token(token, "sort=newest") == ["2026-12-01T10:00:00+00:00", "a-b"]
    assert decode_page_token("", "sort=newest") is None


def test_a_token_of_another_query_is_refused() -> None:
    token = encode_page_token([1250, "x"], "sort=price")
    with pytest.raises(InvalidArgument):
        decode_page_token(token, "sort=title")


def test_an_edited_token_is_refused() -> None:
    token = encode_page_token([1250, "x"], "q")
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[5] ^= 1
    edited = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for bad in (edited, token[:-2], "!!!", "a" * 2000, token + "A"):
        with pytest.raises(InvalidArgument):
            decode_page_token(bad, "q")


def test_tokens_are_signed_with_the_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "11" * 32)
    token = encode_page_token([1, "x"], "q")
    monkeypatch.setenv(KEY_VARIABLE, "22" * 32)
    with pytest.raises(InvalidArgument):
        decode_page_token(token, "q")


def test_a_token_with_the_wrong_arity_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        decode_page_token(encode_page_token([1, "x", "y"], "q"), "q", arity=2)
