"""Message HTML from the portal is hostile input: it is cleaned by nh3 (the Rust
``ammonia`` sanitiser) to a small set of formatting tags before it reaches a page.

Script content is kept as visible text rather than dropped, so a seller sees what the
message held; only ``<style>`` bodies are removed (CSS text is noise, not content).
"""

from __future__ import annotations

import nh3
from markupsafe import Markup, escape

ALLOWED_TAGS = {
    "a", "b", "strong", "i", "em", "u", "p", "br", "ul", "ol", "li", "blockquote",
    "pre", "code", "div", "span", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}


def clean_html(html: str | None) -> Markup:
    if not html:
        return Markup("")
    return Markup(nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ))


def text_html(text: str | None) -> Markup:
    """Plain text as HTML: escaped, line breaks kept."""
    return Markup("<br>").join(escape(line) for line in (text or "").split("\n"))


def marked(snippet: str | None, open_mark: str, close_mark: str) -> Markup:
    """An FTS snippet whose matches are wrapped in marker characters: escape everything,
    then turn only the markers into <mark> elements."""
    safe = str(escape(snippet or ""))
    return Markup(safe.replace(open_mark, "<mark>").replace(close_mark, "</mark>"))
