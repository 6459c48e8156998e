"""HTML to plain text, the rule of DESIGN.md ("Export format"), for messages and subjects.

Tags removed, entities decoded, `<br>` and the end of every block element become `\n`,
spaces kept as the markup has them, leading/trailing whitespace stripped. The portal's
truth implements the same rule independently, so this must stay literal: no reflowing,
no collapsing of runs of spaces, and only block ENDS break a line
(`<div>a<div>b</div>c</div>` is `ab\nc`). Checked as a black box against the bundled
portal's truth: the same text for every message of the cases compared (three locales).

Built on selectolax (lexbor), an HTML5 parser, so malformed markup and entities without
`;` decode as a browser would, and the whole walk stays in C: a 50 KB message takes
about half a millisecond. Two guards keep any input linear: more than
`limits.MAX_CAPTURE_BYTES` raises `TooLarge` before parsing, and elements nested deeper
than `limits.MAX_HTML_DEPTH` are flattened first (`scrapers.parse.nesting`: lexbor's tree
builder is quadratic in the depth), which keeps the text of deep markup as this rule
reads it (a flattened block's end is still a newline).
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from scrapers.errors import LayoutError, TooLarge
from scrapers.parse import limits
from scrapers.parse.nesting import flatten

# Elements whose end starts a new line. Void `<hr>` counts as a block too.
BLOCK_TAGS = (
    "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol",
    "dl", "dt", "dd", "table", "pre", "section", "article", "header", "footer", "aside",
    "nav", "main", "address", "figure", "figcaption", "form", "fieldset", "details",
    "summary", "hr", "caption", "center",
)
_BLOCK_SELECTOR = ",".join(BLOCK_TAGS)
# Never visible as text in a browser; a real (unescaped) script in a body stays inert.
_INVISIBLE_SELECTOR = "script,style,template,noscript,head,title"


_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.I)


def decode_html(data: bytes | str) -> str:
    """Bytes of a page as text, the way a browser picks the encoding: a byte-order mark
    (UTF-8, UTF-16 LE/BE: some browsers save pages as UTF-16), else a ``<meta charset>``
    near the top, else UTF-8; bytes that do not decode become U+FFFD, never an error."""
    if isinstance(data, str):
        return data
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"),
                       (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    if len(data) > 3 and data[0] == 0 and data[1] != 0:  # UTF-16 BE without a mark
        return data.decode("utf-16-be", errors="replace")
    if len(data) > 3 and data[1] == 0 and data[0] != 0:  # UTF-16 LE without a mark
        return data.decode("utf-16-le", errors="replace")
    m = _CHARSET.search(data[:2048])
    if m:
        try:
            return data.decode(m[1].decode("ascii"), errors="replace")
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass  # an unknown or non-text codec ("base64", "undefined"): read UTF-8
    return data.decode("utf-8", errors="replace")


def check_size(data: str | bytes, what: str = "HTML",
               limit: int = limits.MAX_CAPTURE_BYTES) -> None:
    """Refuse an input past `limit` (bytes, or characters of a str) before any parsing:
    a parse costs time and memory in proportion, and no capture of the portal is that big."""
    if len(data) > limit:
        unit = "bytes" if isinstance(data, bytes) else "characters"
        raise TooLarge(f"{what} of {len(data):,} {unit} is over the {limit:,} "
                       "the parsers accept")


def parse_html(html: str) -> LexborHTMLParser:
    """lexbor's tree of `html` (a str already size-checked), nesting flattened past
    `limits.MAX_HTML_DEPTH` so the parse stays linear."""
    return LexborHTMLParser(flatten(html))


def html_to_text(html: str | bytes | None) -> str:
    """Plain text of an HTML fragment (or document); escaped markup stays text:
    `&lt;script&gt;` becomes the six characters `<script>`."""
    if html is None or html == "" or html == b"":
        return ""
    if not isinstance(html, str | bytes):
        raise LayoutError("HTML as a string", found=type(html).__name__)
    check_size(html)
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    if "<" not in html and "&" not in html and "\r" not in html:
        return html.strip()  # plain text already; skip the parser
    body = parse_html(html).body
    if body is None:
        return ""
    # Innermost first: a <noscript> inside a <noscript> goes before its container, so no
    # node is destroyed twice. Each pass is one walk of the tree, whatever the nesting.
    for node in reversed(body.css(_INVISIBLE_SELECTOR)):
        node.decompose()
    for node in body.css("br"):
        node.replace_with("\n")
    for node in body.css(_BLOCK_SELECTOR):
        node.insert_after("\n")
    return body.text(deep=True, separator="").strip()
