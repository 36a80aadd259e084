"""The admin list pages' query and pager: filters kept in every link, previous pages reached
through the tokens the URL carries, a size only when asked for."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request

from agora.gateway.web.admin.listing import MAX_TRAIL, ListQuery, words_and_choice


def request(query: str, path: str = "/admin/orders") -> Request:
    return Request({"type": "http", "path": path, "query_string": query.encode(), "headers": []})


def params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_the_first_page_links_only_to_the_next_keeping_the_filters() -> None:
    asked = request("q=%20erika%20&status=paid")
    query = ListQuery.read(asked, words_and_choice(asked, "status", ("paid",)))

    pages = query.pager("t1")

    assert (pages.first_url, pages.previous_url) == ("", "")
    assert params(pages.next_url) == {"q": ["erika"], "status": ["paid"], "page_token": ["t1"]}


def test_an_unknown_choice_is_dropped_and_an_empty_filter_left_out_of_the_links() -> None:
    asked = request("status=lost&page_token=t1")
    query = ListQuery.read(asked, words_and_choice(asked, "status", ("paid",)))

    assert query.filters == {"q": "", "status": ""}
    assert query.pager("").first_url == "/admin/orders"


def test_each_page_carries_the_tokens_before_it_and_previous_goes_back_one() -> None:
    second = ListQuery.read(request("page_token=t1"), {})
    third = ListQuery.read(request(urlsplit(second.pager("t2").next_url).query), {})
    back = ListQuery.read(request(urlsplit(third.pager("t3").previous_url).query), {})

    assert second.pager("t2").previous_url == ""
    assert (third.token, third.trail) == ("t2", ("t1",))
    assert params(third.pager("t3").next_url) == {"page_token": ["t3"], "back": ["t1", "t2"]}
    assert (back.token, back.trail) == ("t1", ())
    assert third.pager("t3").first_url == "/admin/orders"


def test_the_trail_keeps_the_last_pages_only() -> None:
    trail = "&".join(f"back=t{n}" for n in range(MAX_TRAIL + 5))
    query = ListQuery.read(request(f"page_token=now&{trail}"), {})

    assert len(query.trail) == MAX_TRAIL
    assert params(query.pager("next").next_url)["back"][-1] == "now"
    assert len(params(query.pager("next").next_url)["back"]) == MAX_TRAIL


def test_a_size_asked_for_is_kept_in_the_links_and_a_wrong_one_ignored() -> None:
    sized = ListQuery.read(request("size=2&after=t1", "/admin/staff"), {}, token_param="after")
    wrong = ListQuery.read(request("size=1000"), {}, size=25)
    odd = [
        ListQuery.read(request(f"size={quote(text)}"), {}, size=25).size
        for text in ("\u00b2", "0", "-3", "9" * 5000, " 5")
    ]

    assert sized.size == 2
    assert params(sized.pager("t2").next_url) == {"size": ["2"], "after": ["t2"], "back": ["t1"]}
    assert wrong.size == 25
    assert "size" not in wrong.pager("t1").next_url
    assert odd == [25] * 5  # a superscript, zero, a sign, 5,000 digits, a space: ignored
