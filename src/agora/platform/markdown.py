"""Markdown to the HTML the storefront may show as is (the admin service stores it; the admin
pages preview a draft with the same rules).

markdown-it-py renders CommonMark (raw HTML allowed, so authors can use it), and nh3 (Ammonia)
keeps only an allow-list of tags and attributes: scripts, iframes, forms, styles, event-handler
attributes and `javascript:`/`data:` URLs never survive, whatever the Markdown says.
"""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt

TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
        "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def render_markdown(markdown: str) -> str:
    """`markdown` as sanitized HTML: only TAGS with ATTRIBUTES, links http(s)/mailto or
    relative, each with rel="noopener noreferrer nofollow"."""
    html = _markdown().render(markdown)
    return nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
