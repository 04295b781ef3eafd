"""The Markdown sanitiser: every XSS payload comes out as inert HTML (only allow-listed tags, no event handler
attributes, links only to http, https and mailto), while ordinary report Markdown keeps its structure."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.support.xss import XSS_PAYLOADS
from tracehound.web.markdown import render_markdown

ALLOWED = {
    "a", "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_render_inert(payload: str) -> None:
    for text in (payload, f"## Heading\n\n- item {payload}\n\n> {payload}", f"| a |\n|---|\n| {payload} |"):
        for tag, attrs in elements(render_markdown(text)):
            assert tag in ALLOWED, (payload, tag)
            assert not any(name.startswith("on") for name in attrs), (payload, attrs)
            assert "style" not in attrs and "src" not in attrs
            href = (attrs.get("href") or "").strip().lower()
            assert href == "" or href.startswith(("http://", "https://", "mailto:")), (payload, href)


def test_report_markdown_keeps_its_structure() -> None:
    html = render_markdown(
        "## Root cause\n\n**payment** (errors), confidence *High*.\n\n| service | score |\n|---|---|\n| payment | 1.0 |"
        "\n\n- `error_rate` up\n\nSee [the runbook](https://runbooks.example/pay)."
    )
    tags = [t for t, _ in elements(html)]
    assert {"h2", "strong", "em", "table", "td", "ul", "code", "a"} <= set(tags)
    assert 'href="https://runbooks.example/pay"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_raw_html_is_shown_as_text() -> None:
    assert render_markdown("<b>x</b>") == "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
    assert render_markdown(None) == ""
