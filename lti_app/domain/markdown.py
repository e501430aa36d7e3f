"""Markdown for diary text, rendered safely.

Two layers, so a mistake in one is caught by the other: markdown-it-py parses CommonMark with raw HTML
turned off (typed tags come out as text) and refuses ``javascript:``-style links; nh3 (the ammonia
sanitiser) then keeps only the tags and attributes listed here, drops every ``on*`` handler and ``style``,
allows only http(s) and mailto links, and gives every link ``rel="noopener nofollow"``.

No images: an image URL in a shared diary would tell a third-party server who read the entry and when.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener nofollow"
# Diary bodies are limited well below this by the schemas; the cap keeps rendering cost bounded anyway.
MAX_SOURCE_CHARS = 100_000


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def render_markdown(source: str | None) -> Markup:
    """Sanitised HTML for ``source``, safe to put in a page as is."""
    if not source:
        return Markup("")
    html = _parser().render(source[:MAX_SOURCE_CHARS])
    clean = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above
