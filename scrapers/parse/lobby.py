"""The rendered lobby (PORTAL.md section 2) -> ListedCase records and the total.

Both real column layouts are read, each column found by its header text in any locale
(``locales.HEADERS``), never by position: (a) Case ID, Status, Subject, Creation Date,
Last Amazon Reply; (b) Creation Date, Case ID, Status, Primary Email, Short Description
and a `View` link. Any order and extra columns (an `Actions` header, a blank one) are
read alike; what a table must have is Case ID, Status, a subject (Subject or Short
Description) and Creation Date. A table without them is a LayoutError naming the
headers it had. Without a Last Amazon Reply column (layout b) a row's
`last_amazon_reply_at` is None *and* `last_reply_known` is False, so a sync knows the
None means "not shown", not "Amazon never replied".

The case id comes from a `view-case` link in the row whose href holds `caseID=<id>` (in
the case id cell in layout a, the `View` link in layout b), else from the case id cell's
own text; the two disagreeing is a LayoutError.

One parse and one pass over the rows: a row's cells are its own `<td>` children (rows
of a table nested in a cell are not rows of the lobby), so no cell is read twice.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from scrapers.errors import LayoutError
from scrapers.parse import locales
from scrapers.parse.dom import (
    RE_CASE_ID_IN_URL,
    RE_TOTAL,
    check_special_page,
    children,
    page_text,
    text_of,
    tree_of,
)

# The "Cases 1 to 10 of N" line sits near the top: search this much of the page's text.
TOTAL_SEARCH_CHARS = 200_000
REQUIRED = ("case_id", "status", "subject", "created")
VIEW_LINK = 'a[href*="view-case"]'
RE_CASE_ID = re.compile(r"[0-9]{6,20}")
# Headers named in an error: this many at most.
MAX_NAMED_HEADERS = 12


def _total(tree) -> int | None:
    """N of "Cases 1 to 10 of N" (any locale), or None when the page has no such line."""
    body_text = text_of(tree.body)[:TOTAL_SEARCH_CHARS]
    m = RE_TOTAL.search(body_text)
    if not m:
        return None
    digits = re.sub(r"\D", "", m[1])
    if not 0 < len(digits) <= 15:
        raise LayoutError("a number after 'of' in 'Cases 1 to 10 of N'", where="the lobby",
                          found=repr(m[0][:60]))
    return int(digits)


def _rows(table: LexborNode) -> tuple[list[LexborNode], list[LexborNode]]:
    """(header cells, body rows) of a table: its own rows only, in any number of
    `<thead>`/`<tbody>` sections (the bundled portal gives each row its own tbody)."""
    rows = []
    for part in children(table):
        if part.tag == "tr":
            rows.append(part)
        elif part.tag in ("thead", "tbody", "tfoot"):
            rows.extend(r for r in children(part) if r.tag == "tr")
    header: list[LexborNode] = []
    body = []
    for row in rows:
        cells = children(row)
        if not header and cells and all(c.tag == "th" for c in cells):
            header = cells
        elif any(c.tag == "td" for c in cells):
            body.append(row)
    return header, body


def _columns(header: list[LexborNode]) -> tuple[dict[str, int], list[str]]:
    """{meaning: column index} of a header row (the first column of a meaning wins),
    and the header texts as shown."""
    shown = [" ".join(text_of(th).split()) for th in header]
    columns: dict[str, int] = {}
    for i, text in enumerate(shown):
        meaning = locales.header_meaning(text)
        if meaning and meaning not in columns:
            columns[meaning] = i
    return columns, shown


def _lobby_table(tree) -> tuple[dict[str, int], list[LexborNode]] | None:
    """The first table whose headers name every required column, as (columns, rows);
    None when the page has no table with a header row or rows. A table with headers
    that match neither layout is a LayoutError naming the headers it saw."""
    nested = {t.mem_id for t in tree.css("table table")}
    seen: list[list[str]] = []
    for table in tree.css("table"):
        if table.mem_id in nested:
            continue
        header, rows = _rows(table)
        columns, shown = _columns(header)
        if all(key in columns for key in REQUIRED):
            return columns, rows
        if header or rows:
            seen.append(shown)
    if not seen:
        return None
    named = "; ".join(", ".join(repr(h[:40]) for h in heads[:MAX_NAMED_HEADERS]) or "none"
                      for heads in seen[:3])
    raise LayoutError("a table with the headers Case ID, Status, Subject or Short "
                      "Description, and Creation Date", where="the lobby",
                      found=f"headers {named}")


def _case_id(tds: list[LexborNode], columns: dict[str, int], where: str) -> str:
    """The row's case id: its view-case link (case id cell first), else the cell's text."""
    cell = tds[columns["case_id"]]
    link = cell.css_first(VIEW_LINK)
    if link is None:
        link = next((a for td in tds for a in [td.css_first(VIEW_LINK)] if a), None)
    from_link = RE_CASE_ID_IN_URL.search(link.attributes.get("href") or "") if link else None
    shown = " ".join(text_of(cell).split())
    from_text = shown if RE_CASE_ID.fullmatch(shown) else None
    if from_link and from_text and from_link[1] != from_text:
        raise LayoutError("the same case id in the Case ID cell and its link", where=where,
                          found=f"{from_text} and {from_link[1]}")
    case_id = from_link[1] if from_link else from_text
    if case_id is None:
        raise LayoutError('<a href="...view-case?caseID=..."> or a case id of digits',
                          where=where, found=repr(shown[:40]))
    return case_id


def _day(text: str, locale: str | None) -> str:
    """A shown date (or date and time) as the calendar day it names."""
    try:
        return locales.iso_day(locales.parse_date(text, locale))
    except ValueError:
        parts = locales.split_one_line(text)
        if parts is None:
            raise
        return locales.iso_day(locales.parse_date(parts[0], locale))


def _row(tds: list[LexborNode], columns: dict[str, int], n: int,
         locale: str | None) -> dict:
    where = f"lobby row #{n}"
    case_id = _case_id(tds, columns, where)
    label = text_of(tds[columns["status"]])
    try:
        status = locales.status_value(label)
    except ValueError:
        raise LayoutError("a known status label", case_id=case_id, where=where,
                          found=repr(label[:60])) from None
    known = "last_reply" in columns
    try:
        created = _day(text_of(tds[columns["created"]]), locale)
        reply_text = text_of(tds[columns["last_reply"]]) if known else ""
        last_reply = (None if not reply_text or locales.ui_meaning(reply_text) == "no_reply"
                      else _day(reply_text, locale))
    except ValueError as exc:
        raise LayoutError("a date under Creation Date and Last Amazon Reply",
                          case_id=case_id, where=where, found=str(exc)) from None
    return {"case_id": case_id, "status": status,
            "subject": text_of(tds[columns["subject"]]), "created_at": created,
            "last_amazon_reply_at": last_reply, "dates": "day", "last_reply_known": known}


def parse_lobby(html: str | bytes, *, locale: str | None = None
                ) -> tuple[list[dict], int | None]:
    """The rendered lobby -> (ListedCase records in shown order, total or None).

    Dates are the calendar dates shown, in the portal's zone, as `YYYY-MM-DDT00:00:00Z`
    (the lobby shows no time; rows say so with `"dates": "day"`); `No reply` /
    `Keine Antwort` -> None. A row too short for the columns is skipped when it links to
    no case (a "no cases" row spanning the table), else a LayoutError.
    """
    html = page_text(html)
    tree = tree_of(html)
    total = _total(tree)
    try:
        found = _lobby_table(tree)
    except LayoutError:
        check_special_page(html, tree)  # a sign-in or robot page with a table of its own
        raise
    if found is None:
        if total is None:
            check_special_page(html, tree)
            raise LayoutError("a <table> of cases or a 'Cases 1 to 10 of N' line",
                              where="the lobby")
        return [], total
    columns, rows = found
    width = max(columns.values()) + 1
    cases = []
    for n, tr in enumerate(rows, start=1):
        tds = [c for c in children(tr) if c.tag in ("td", "th")]
        if len(tds) < width:
            if tr.css_first(VIEW_LINK) is None:
                continue
            raise LayoutError(f"{width} cells", where=f"lobby row #{n}", found=str(len(tds)))
        cases.append(_row(tds, columns, len(cases) + 1, locale))
    return cases, total
