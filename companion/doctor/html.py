"""Where things are on the two rendered pages, as PORTAL.md places them, for the page
checks and for the privacy rule (which must know which lobby cells are the seller's data
and which are the portal's labels): the case page's view and contacts, a contact's head
and time, the lobby's table, header row and rows.

Found by tag, ``data-testid``, header text and the contract's one stable class, never by
hashed class names; each helper walks the node it is given once.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapers.parse import locales
from scrapers.parse.contacts import find_contacts
from scrapers.parse.dom import children, has_view_case_token, text_of

SENDER_LABEL = '[data-testid="sender-label"]'
TESTID_RECEIVER = '[data-testid="reciever"]'
OTHER_RECEIVER = '[data-testid="receiver"]'
CHANNEL = '[data-testid="channel"]'
HEAD_TESTIDS = (SENDER_LABEL, TESTID_RECEIVER, OTHER_RECEIVER, CHANNEL)


def shown(node) -> str:
    """A node's text on one line."""
    return " ".join(text_of(node).split()) if node is not None else ""


def view_of(tree):
    """``<div class="view-case">`` (PORTAL.md 3), or None."""
    return next((n for n in tree.css("div[class]") if has_view_case_token(n)), None)


def contacts_of(tree) -> list:
    """The contact elements of the case page, in page order (the parser's own rule:
    kat-box, kat-expander.contact-expander, or an expander holding one sender label)."""
    view = view_of(tree)
    return find_contacts(view) if view is not None else []


def head_of(contact):
    """The element holding the contact's sender label (its head), or None."""
    label = contact.css_first(SENDER_LABEL)
    return label.parent if label is not None else None


def time_of(contact):
    """The contact's time element: the head's last child that is not one of the head's
    test ids (PORTAL.md 3 keeps the time there in both layouts), or None."""
    head = head_of(contact)
    if head is None:
        return None
    for child in reversed(children(head)):
        if not any(child.css_matches(sel) for sel in HEAD_TESTIDS) and \
                not any(child.css_first(sel) for sel in HEAD_TESTIDS):
            return child
    return None


def time_parts(node) -> tuple[str, str | None]:
    """(date, time) of a two-div date box, or (the one line, None)."""
    divs = [c for c in children(node) if c.tag == "div"]
    if len(divs) >= 2:
        return shown(divs[0]), shown(divs[1])
    return shown(node), None


@dataclass
class Table:
    headers: list[str]          # as shown
    columns: dict[str, int]     # meaning (locales.HEADERS) -> index
    rows: list[list]            # each row's cells
    row_nodes: list


def _rows(table) -> tuple[list, list]:
    rows = []
    for part in children(table):
        if part.tag == "tr":
            rows.append(part)
        elif part.tag in ("thead", "tbody", "tfoot"):
            rows.extend(r for r in children(part) if r.tag == "tr")
    header, body = [], []
    for row in rows:
        cells = children(row)
        if not header and cells and all(c.tag == "th" for c in cells):
            header = cells
        elif any(c.tag == "td" for c in cells):
            body.append(row)
    return header, body


def lobby_table(tree) -> Table | None:
    """The case table: of the page's own tables (not one nested in a cell), the one
    whose header row names the most lobby columns; None without a header row."""
    nested = {t.mem_id for t in tree.css("table table")}
    best = None
    for node in tree.css("table"):
        if node.mem_id in nested:
            continue
        header, body = _rows(node)
        if not header:
            continue
        texts = [shown(th) for th in header]
        columns: dict[str, int] = {}
        for i, text in enumerate(texts):
            meaning = locales.header_meaning(text)
            if meaning and meaning not in columns:
                columns[meaning] = i
        cells = [[c for c in children(tr) if c.tag in ("td", "th")] for tr in body]
        table = Table(texts, columns, cells, body)
        if best is None or len(columns) > len(best.columns):
            best = table
    return best
