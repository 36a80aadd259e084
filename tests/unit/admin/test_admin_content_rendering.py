"""Markdown comes out as HTML the storefront may show as is: script injection stays inert."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from agora.admin.content_rendering import render_markdown

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "[click](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">click</a>',
    "<img src=x onerror=alert(1)>",
    '<p onmouseover="alert(1)">hover</p>',
    '<iframe src="https://evil.example"></iframe>',
    "<svg onload=alert(1)></svg>",
    '<object data="x.swf"></object><embed src="x.swf">',
    "<style>body{display:none}</style>",
    '<form action="https://evil.example"><input name=p></form>',
    "![x](data:text/html;base64,PHNjcmlwdD4=)",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
]
SAFE_TAGS = {"p", "a", "img", "h1", "strong", "td", "th", "tr", "table", "thead", "tbody"}
SAFE_SCHEMES = ("http:", "https:", "mailto:")


class ActiveParts(HTMLParser):
    """What in an HTML text a browser would run or load: tags outside SAFE_TAGS, event-handler
    or style attributes, links and sources whose scheme is not http(s)/mailto."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.found.append(tag)
        for name, value in attrs:
            url = (value or "").strip().lower()
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag}[{name}]")
            elif name in ("href", "src") and _foreign_scheme(url):
                self.found.append(f"{tag}[{name}={url}]")


def _foreign_scheme(url: str) -> bool:
    return ":" in url.split("/")[0] and not url.startswith(SAFE_SCHEMES)


def active_parts(html: str) -> list[str]:
    parser = ActiveParts()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("markdown", ATTACKS)
def test_script_injection_attempts_come_out_inert(markdown: str) -> None:
    html = render_markdown(f"Before\n\n{markdown}\n\nAfter")
    assert active_parts(html) == [], html
    assert "<p>After</p>" in html


def test_the_checker_sees_what_is_active() -> None:
    html = '<script></script><a href="javascript:x()" onclick="y()">a</a><img src="/i.png">'
    assert active_parts(html) == ["script", "a[href=javascript:x()]", "a[onclick]"]


def test_markdown_renders_to_its_html() -> None:
    html = render_markdown("# Lamps\n\n**Brass** and [more](/c/lamps).\n\n| a |\n|---|\n| 1 |")
    assert "<h1>Lamps</h1>" in html
    assert "<strong>Brass</strong>" in html
    assert '<a href="/c/lamps" rel="noopener noreferrer nofollow">more</a>' in html
    assert "<td>1</td>" in html
