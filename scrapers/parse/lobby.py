"""The rendered lobby (PORTAL.md section 2) -> ListedCase records and the total.

One parse and one pass over the rows: a row's cells are its own `<td>` children (rows of
a table nested in a cell are not rows of the lobby), so no cell is read twice.
"""

from __future__ import annotations

import re

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


def parse_lobby(html: str | bytes, *, locale: str | None = None
                ) -> tuple[list[dict], int | None]:
    """The rendered lobby -> (ListedCase records in shown order, total or None).

    Dates are the calendar dates shown, in the portal's zone, as `YYYY-MM-DDT00:00:00Z`
    (the lobby shows no time); `No reply` / `Keine Antwort` -> None.
    """
    html = page_text(html)
    tree = tree_of(html)
    body_text = text_of(tree.body)[:TOTAL_SEARCH_CHARS]
    m = RE_TOTAL.search(body_text)
    digits = re.sub(r"\D", "", m[1]) if m else ""
    if m and not 0 < len(digits) <= 15:
        raise LayoutError("a number after 'of' in 'Cases 1 to 10 of N'", where="the lobby",
                          found=repr(m[0][:60]))
    total = int(digits) if m else None
    nested = {tr.mem_id for tr in tree.css("tr tr")}
    rows = []
    for tr in tree.css("table tr"):
        tds = [c for c in children(tr) if c.tag == "td"]
        if len(tds) >= 5 and tr.mem_id not in nested:
            rows.append(tds)
    if not rows and total is None:
        check_special_page(html, tree)
        raise LayoutError("<table> rows of five <td> or a 'Cases 1 to 10 of N' line",
                          where="the lobby")
    cases = []
    for n, tds in enumerate(rows, start=1):
        where = f"lobby row #{n}"
        link = tds[0].css_first('a[href*="view-case"]')
        found = RE_CASE_ID_IN_URL.search(link.attributes.get("href") or "") if link else None
        if found is None:
            raise LayoutError('<a href="...view-case?caseID=...">', where=where)
        case_id = found[1]
        label = text_of(tds[1])
        try:
            status = locales.status_value(label)
        except ValueError:
            raise LayoutError("a known status label", case_id=case_id, where=where,
                              found=repr(label)) from None
        try:
            created = locales.iso_day(locales.parse_date(text_of(tds[3]), locale))
            reply_text = text_of(tds[4])
            last_reply = (None if not reply_text or locales.ui_meaning(reply_text) == "no_reply"
                          else locales.iso_day(locales.parse_date(reply_text, locale)))
        except ValueError as exc:
            raise LayoutError("a date in the 4th and 5th <td>", case_id=case_id,
                              where=where, found=str(exc)) from None
        cases.append({"case_id": case_id, "status": status, "subject": text_of(tds[2]),
                      "created_at": created, "last_amazon_reply_at": last_reply})
    return cases, total
