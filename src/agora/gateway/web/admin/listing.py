"""The admin list pages' shared shape: filters read from the URL, a page of the list by page
token, and the pager's links, which keep the filters.

Page tokens only lead forward, so a page's URL also carries the tokens of the pages before it
(`back`, the last MAX_TRAIL of them): "Previous page" is the URL of the page before, and "First
page" the URL without a token. `size` lowers the page size (tests walk pages with a few rows).
Templates draw both with the macros of `admin/_list.html`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from agora.platform.kernel.checks import whole_number

TRAIL_PARAM = "back"
SIZE_PARAM = "size"
MAX_TRAIL = 10
MAX_TOKEN = 512
MAX_SIZE = 100


@dataclass(frozen=True)
class Pager:
    """The links of a list's pager: empty where there is no such page."""

    first_url: str = ""
    previous_url: str = ""
    next_url: str = ""


@dataclass(frozen=True)
class Filter:
    """One field of a list's filter bar; `choices` (value, label) make it a select."""

    name: str
    label: str
    value: str = ""
    kind: str = "search"
    choices: Sequence[tuple[str, str]] = ()
    help: str = ""
    placeholder: str = ""
    max_len: int = 200


def words_and_choice(
    request: Request, choice: str, choices: Collection[str], **more: str
) -> dict[str, str]:
    """The filters most lists have, read from the URL: `q` (words, 200 characters at most) and
    `choice` (one of `choices`; "" for any); `more` besides."""
    params = request.query_params
    chosen = params.get(choice, "")
    return {
        "q": params.get("q", "").strip()[:200],
        choice: chosen if chosen in choices else "",
        **more,
    }


def words_and_choice_bar(
    filters: Mapping[str, str],
    words: tuple[str, str],
    choice: str,
    label: str,
    choices: Sequence[tuple[str, str]],
) -> list[Filter]:
    """The filter bar of `words_and_choice`: `words` is the text field's label and help."""
    return [
        Filter("q", words[0], filters["q"], help=words[1]),
        Filter(choice, label, filters[choice], choices=choices),
    ]


@dataclass(frozen=True)
class ListQuery:
    """A list page's request: its kept filters (in the URL's words), its page token and the
    tokens of the pages before it."""

    path: str
    filters: Mapping[str, str]
    token: str = ""
    trail: tuple[str, ...] = ()
    size: int = 25
    token_param: str = "page_token"
    trail_param: str = TRAIL_PARAM
    sized: bool = field(default=False, compare=False)

    @classmethod
    def read(
        cls,
        request: Request,
        filters: Mapping[str, str],
        *,
        size: int = 25,
        token_param: str = "page_token",
        trail_param: str = TRAIL_PARAM,
        path: str = "",
    ) -> ListQuery:
        """The query of `request`: `filters` are its values already checked by the page;
        `path` the list's own (a form posting elsewhere may show the list); a second list on
        the page has its own `token_param` and `trail_param`."""
        params = request.query_params
        token = params.get(token_param, "")[:MAX_TOKEN]
        trail = tuple(t[:MAX_TOKEN] for t in params.getlist(trail_param) if t)[-MAX_TRAIL:]
        asked = params.get(SIZE_PARAM, "")
        chosen = whole_number(asked, MAX_SIZE) or 0  # 0: none asked, or not a size
        return cls(
            path=path or request.url.path,
            filters=dict(filters),
            token=token,
            trail=trail if token else (),
            size=chosen or size,
            token_param=token_param,
            trail_param=trail_param,
            sized=chosen > 0,
        )

    def search_fields(self, status_prefix: str) -> dict[str, Any]:
        """The fields of a service's search request: its words, its status (the name of the
        enum value: `status_prefix` and the filter in upper case), page size and token."""
        status = self.filters.get("status", "")
        return {
            "q": self.filters.get("q", ""),
            "status": f"{status_prefix}{status.upper()}" if status else None,
            "page_size": self.size,
            "page_token": self.token,
        }

    def url(self, token: str = "", trail: Sequence[str] = ()) -> str:
        """This list with its filters, at the page of `token` (the first page without one)."""
        params = [(name, value) for name, value in self.filters.items() if value]
        if self.sized:
            params.append((SIZE_PARAM, str(self.size)))
        if token:
            params.append((self.token_param, token))
            params += [(self.trail_param, earlier) for earlier in trail]
        return self.path + ("?" + urlencode(params) if params else "")

    def pager(self, next_token: str) -> Pager:
        """The pager of the page this query shows, the service having answered `next_token`."""
        if not self.token:
            return Pager(next_url=self.url(next_token) if next_token else "")
        onward = (*self.trail, self.token)[-MAX_TRAIL:]
        return Pager(
            first_url=self.url(),
            previous_url=self.url(self.trail[-1], self.trail[:-1]) if self.trail else "",
            next_url=self.url(next_token, onward) if next_token else "",
        )
