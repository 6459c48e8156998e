"""What the HTML5 tree builder does with each element, as far as the depth of its stack of
open elements goes (HTML Living Standard 13.2): the categories of elements, and a
tokenizer regex for tags. Used by ``scrapers.parse.nesting``; kept apart so the model
there reads as rules, not tables."""

from __future__ import annotations

import re

VOID = frozenset(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta "
    "param source track wbr".split())
# lexbor follows the 2025 <select> rules: content parsed as usual, select bounds scopes.
SCOPE = frozenset("applet caption html table td th marquee object template select".split())
# Integration points: foreign elements whose content is HTML again (and scope bounds).
# Foreign elements are keyed "svg <name>" / "math <name>": HTML end tags never match them.
POINTS = frozenset(["svg foreignobject", "svg desc", "svg title"]
                   + [f"math {n}" for n in "mi mo mn ms mtext annotation-xml".split()])
SPECIAL = frozenset(
    "address applet area article aside base basefont bgsound blockquote body br button "
    "caption center col colgroup dd details dialog dir div dl dt embed fieldset figcaption "
    "figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe "
    "img input keygen li link listing main marquee menu meta nav noembed noframes noscript "
    "object ol p param plaintext pre script search section select source style summary "
    "table tbody td template textarea tfoot th thead title tr track ul wbr xmp".split())
FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
MARKERS = frozenset("applet object marquee template td th caption".split())
HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
P_CLOSERS = frozenset(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption "
    "figure footer header hgroup main menu nav ol p search section summary ul h1 h2 h3 h4 "
    "h5 h6 pre listing form li dd dt plaintext hr xmp".split())
BREAKOUT = frozenset(
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i "
    "img li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table "
    "tt u ul var".split())
SECTIONS = ("tbody", "thead", "tfoot")
TABLE_PARTS = frozenset(("td", "th", "tr", "caption", "col", "colgroup", *SECTIONS))
# Blocks whose end the text rule turns into a newline (scrapers.parse.text.BLOCK_TAGS).
BLOCKS = frozenset(
    "p div li tr h1 h2 h3 h4 h5 h6 blockquote ul ol dl dt dd table pre section article "
    "header footer aside nav main address figure figcaption form fieldset details summary "
    "hr caption center".split())
INVISIBLE = frozenset("script style title".split())
RAW = frozenset("script style xmp iframe noembed noframes textarea title".split())

# A tag (1: name, 2: attributes), else a comment, doctype or processing instruction.
# Attribute values may hold ">" inside quotes.
TOKEN = re.compile(r"""<(?:
   /?([A-Za-z][^\t\n\f\r\ />]*)
   ([^>"'=]*(?:(?:=[\t\n\f\r\ ]*(?:"[^"]*"?|'[^']*'?|[^\t\n\f\r\ >]*)|["'])[^>"'=]*)*)
   >?
 | !--(?:-?>|.*?(?:--!?>|\Z))
 | [!?][^>]*>?
)""", re.S | re.X)
UNQUOTED_SLASH = re.compile(r"=[\t\n\f\r ]*[^\s\"'>=][^\s>]*/\s*$")  # <a b=c/>: not "/>"
RAW_END = {name: re.compile(rf"</{name}[\t\n\f\r />]", re.I) for name in RAW}
