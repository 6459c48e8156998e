"""The one policy for showing portal text as HTML, used by the UI's ``safe_message``
filter and by the dossier file alike, so a message looks (and is cleaned) the same in
both places.

Message HTML from the portal is hostile input: nh3 (the Rust ``ammonia`` sanitiser)
keeps a small set of formatting tags and ``http``/``https``/``mailto`` links, nothing
else. No ``<img>``: a remote image is a beacon the moment a page or a mailed dossier is
opened, and neither may load anything remote. Script content is kept as visible text
rather than dropped, so a seller sees what the message held; only ``<style>`` bodies go
(CSS text is noise, not content).

Functions return ``str``; the UI wraps them in ``Markup`` (companion does not depend
on the template engine).
"""

from __future__ import annotations

from html import escape

import nh3

ALLOWED_TAGS = frozenset({
    "a", "b", "strong", "i", "em", "u", "p", "br", "ul", "ol", "li", "blockquote",
    "pre", "code", "div", "span", "hr",
})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def clean_html(html: str | None) -> str:
    """Portal HTML reduced to the allowed tags, links made inert to the opener."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def text_html(text: str | None) -> str:
    """Plain text as HTML: escaped, line breaks kept."""
    return "<br>".join(escape(line, quote=True) for line in (text or "").split("\n"))


def message_html(message: dict) -> str:
    """A stored message's body as safe HTML: its cleaned HTML, else its plain text."""
    if message.get("html"):
        return clean_html(message["html"])
    return text_html(message.get("text"))


def marked(snippet: str | None, open_mark: str, close_mark: str) -> str:
    """An FTS snippet whose matches are wrapped in marker characters: escape everything,
    then turn only the markers into <mark> elements."""
    safe = escape(snippet or "", quote=True)
    return safe.replace(open_mark, "<mark>").replace(close_mark, "</mark>")
