"""What the rendered-page parsers share (PORTAL.md sections 2-3): the tree (size-checked,
nesting flattened, Katal labels shown), text of a node, the portal's special pages, the
locale a page is in, and the selectors. Elements are found by tag, `data-testid`,
`kat-*` custom element, attribute or label, never by class.

Every helper here costs at most one walk of the node it is given, so the parsers built
on them stay linear in the page whatever its nesting.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scrapers import markers
from scrapers.errors import LayoutError, SessionExpired
from scrapers.parse import locales
from scrapers.parse.shapes import describe
from scrapers.parse.text import check_size, decode_html, html_to_text, parse_html

SENDER_LABEL = '[data-testid="sender-label"]'
RECEIVER = '[data-testid="reciever"], [data-testid="receiver"]'
ATTACHMENT = 'a[data-testid="attachment"]'
SUMMARY = 'section[data-testid="case-summary"]'
VIEW_CASE = '<div class="view-case">'

# A case id in a link: 8 to 14 digits in PORTAL.md v2; 6 to 20 ASCII digits tolerated,
# as everywhere else a case id is read.
RE_CASE_ID_IN_URL = re.compile(r"caseI[Dd]=([0-9]{6,20})(?![0-9])")
RE_SIZE_SUFFIX = re.compile(r"\s*\(\s*\d[\d.,\s]*(?:bytes|Bytes|B|KB|kB|MB|GB)\s*\)\s*$")
RE_TOTAL = re.compile(
    r"(?:Cases|Fälle)\s+[\d.,\u00a0]+\s+(?:to|bis)\s+[\d.,\u00a0]+\s+(?:of|von)\s+([\d.,\u00a0]+)")




def page_text(html) -> str:
    """A captured page as text (bytes decoded as a browser would), within the size cap;
    anything but bytes or str is a LayoutError."""
    if not isinstance(html, bytes | bytearray | str):
        raise LayoutError("an HTML page (bytes or text)", found=describe(html))
    check_size(html, "HTML page")
    return decode_html(bytes(html) if isinstance(html, bytearray) else html)


def tree_of(html: str) -> LexborHTMLParser:
    """The page's tree (nesting flattened past the depth limit), labels shown."""
    tree = parse_html(html)
    _show_labels(tree)
    return tree


def _show_labels(tree: LexborHTMLParser) -> None:
    """Katal-style elements may show their words from an attribute through a shadow
    root (`<kat-badge label="Closed">`), which a DOM snapshot does not contain: give
    such elements their label as text so labels read the same either way. Buttons
    keep theirs as an attribute; they are actions, not content."""
    for node in tree.css("[label], [text]"):
        tag = node.tag or ""
        if not tag.startswith("kat-") or tag in ("kat-button", "kat-box"):
            continue
        if _has_text(node):
            continue
        shown = node.attributes.get("label") or node.attributes.get("text")
        if shown:
            node.insert_child(shown)


def _has_text(node: LexborNode) -> bool:
    """Does the element show words of its own? Direct text children decide at once; only
    an element with element children is read deep (labelled elements rarely nest)."""
    elements = False
    for child in node.iter(include_text=True):
        if child.is_text_node:
            if (child.text_content or "").strip():
                return True
        else:
            elements = True
    return elements and bool(node.text(deep=True).strip())


def text_of(node: LexborNode | None) -> str:
    return html_to_text(node.inner_html) if node is not None else ""


def children(node: LexborNode) -> list[LexborNode]:
    return [c for c in node.iter() if c.is_element_node]


def has_view_case_token(node: LexborNode) -> bool:
    return "view-case" in (node.attributes.get("class") or "").split()


def check_special_page(html: str | bytes, tree: LexborHTMLParser | None = None) -> None:
    """Raise the situation (SessionExpired, RobotCheck, Outage, CaseNotFound) when the page
    is the portal's page for one (``scrapers.markers`` knows them)."""
    situation = markers.page_situation(html)
    if situation is None and tree is not None and tree.css_first(markers.SIGNIN_SELECTOR):
        situation = SessionExpired
    if situation is not None:
        raise situation(f"the page is the portal's {situation.__name__} page")


def case_id_hint(html: str, tree: LexborHTMLParser) -> str | None:
    """The case id from wherever a saved or rendered page carries it outside the summary:
    the `saved from url=` comment, a canonical link, attachment links."""
    m = RE_CASE_ID_IN_URL.search(html)
    return m[1] if m else None


def labelled_values(text: str) -> dict[str, str]:
    """`ID:`/`Status:`/`Created:`/`Category:` lines (any locale) -> {meaning: value}.
    A label alone on its line takes the next line as its value (`<dt>`/`<dd>` markup)."""
    labels = {
        label.casefold(): key
        for key in ("id", "status", "created", "category")
        for label in locales.UI[key]
    }
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        head, sep, rest = line.partition(":")
        if not sep:
            continue
        key = labels.get(head.strip().casefold() + ":")
        if key is None or key in found:
            continue
        value = rest.strip()
        if not value and i + 1 < len(lines):
            nxt = lines[i + 1]
            if labels.get(nxt.partition(":")[0].strip().casefold() + ":") is None:
                value = nxt
        found[key] = value
    return found


def detect_locale(labels_text: str, date_text: str | None) -> str:
    """de_DE if German labels show, else en_GB/en_US from how the date is written."""
    if any(label in labels_text for label in locales.GERMAN_ONLY_LABELS):
        return "de_DE"
    try:
        shown = locales.date_locale(date_text) if date_text else None
    except ValueError:
        shown = None
    return shown or "en_US"


def buttons_of(node: LexborNode) -> set[str]:
    """UI meanings (`see_more`, `reply`, ...) of the kat-buttons under `node`."""
    found = set()
    for button in node.css("kat-button, button"):
        label = button.attributes.get("label") or button.text(deep=True)
        meaning = locales.ui_meaning(label)
        if meaning:
            found.add(meaning)
    return found


