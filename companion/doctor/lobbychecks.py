"""The checks of the rendered case lobby (PORTAL.md section 2), and the two that look at
every capture at once: which layout the portal serves (a or b, for each of the three
places the layouts differ) and which locale it shows.

Either layout is "ok": PORTAL.md says a conforming portal may serve either, and the
parts are told apart by header text and tags, never by position or class. Primary Email
is a column of layout b only; Last Amazon Reply of layout a only.
"""

from __future__ import annotations

import re
from collections import Counter

from companion.doctor import html
from companion.doctor.casechecks import kind_of, labels_found, page_locale
from companion.doctor.findings import NotShown, check, count, number
from companion.doctor.jsonchecks import ids_found, parsed_by, why
from scrapers.parse import locales
from scrapers.parse.dom import RE_CASE_ID_IN_URL, RE_TOTAL, text_of

LAYOUT_A = ("case_id", "status", "subject", "created", "last_reply")
LAYOUT_B = ("created", "case_id", "status", "email", "subject")
REQUIRED = ("case_id", "status", "subject", "created")
GERMAN_HEADERS = {h.casefold() for h in ("Fall-ID", "Betreff", "Kurzbeschreibung",
                                         "Erstellungsdatum", "Letzte Antwort von Amazon",
                                         "Primäre E-Mail")}
VIEW_LINK = 'a[href*="view-case"]'


def table(c) -> html.Table:
    """The lobby table with the required columns, or NotShown (lobby.headers says)."""
    found = html.lobby_table(c.tree("lobby"))
    if found is None or not all(k in found.columns for k in REQUIRED):
        raise NotShown("no table with the lobby's headers")
    return found


def lobby_locale(c) -> str:
    """de_DE when a header is German, else en_GB or en_US from how a date is written."""
    t = table(c)
    if any(h.casefold() in GERMAN_HEADERS for h in t.headers):
        return "de_DE"
    col = t.columns["created"]
    for cells in t.rows:
        if len(cells) > col:
            try:
                shown = locales.date_locale(html.shown(cells[col]))
            except ValueError:
                shown = None
            if shown:
                return shown
    return "en_US"


def lobby_layout(t: html.Table) -> str:
    """``a``, ``b`` or ``neither`` from the columns the headers name."""
    cols = set(t.columns)
    if cols >= set(LAYOUT_A) and "email" not in cols:
        return "a"
    if cols >= set(LAYOUT_B) and "last_reply" not in cols:
        return "b"
    return "neither"


def column(t: html.Table, key: str) -> list:
    """The cells of one column, by meaning."""
    i = t.columns[key]
    return [cells[i] for cells in t.rows if len(cells) > i]


@check("lobby.answer", "lobby", "HTTP 200, a page with a table of cases")
def lobby_answer(c):
    """The lobby rendered with a table of cases."""
    raw = c.answered("lobby")
    if raw is None:
        return "missing", f"no page ({why(c, 'lobby')})"
    found = html.lobby_table(c.tree("lobby"))
    words = f"HTTP {raw.status}, " + (f"a table of {count(len(found.rows), 'row')}"
                                      if found else "no table with a header row")
    return ("ok" if found and raw.status == 200 else "missing" if not found else "differs",
            words)


@check("lobby.summary", "lobby",
       "a line `Cases 1 to 10 of N` (de_DE `Fälle ... von N`), N as SearchForCases says")
def lobby_summary(c):
    """The summary line the driver waits for, with SearchForCases' count."""
    m = RE_TOTAL.search(text_of(c.tree("lobby").body)[:200_000])
    if not m:
        return "missing", "no such line"
    shown = int(re.sub(r"\D", "", m[1]) or 0)
    try:
        total = c.json("search").get("totalNumberOfResults")
    except (NotShown, AttributeError):
        total = None
    if isinstance(total, int | float) and total != shown:
        return "differs", f"N is {shown}; SearchForCases says {number(total)}"
    return "ok", f"present, N {shown}"


@check("lobby.headers", "lobby",
       "headers Case ID, Status, Subject, Creation Date, Last Amazon Reply (layout a) or "
       "Creation Date, Case ID, Status, Primary Email, Short Description (layout b), in "
       "the page's locale")
def lobby_headers(c):
    """The columns by header text in any locale, the headers seen listed."""
    found = html.lobby_table(c.tree("lobby"))
    if found is None:
        return "missing", "no table with a header row"
    shown = [c.seen(h) if h else "(blank)" for h in found.headers]
    absent = [k for k in REQUIRED if k not in found.columns]
    words = "headers " + ", ".join(shown)
    if absent:
        return "missing", f"{words}; no column for {', '.join(absent)}"
    layout = lobby_layout(found)
    return ("ok" if layout in "ab" else "differs"), f"{words} (layout {layout})"


@check("lobby.links", "lobby",
       "each row links to view-case?caseID=<id> (layout a: the Case ID cell; b: View)")
def lobby_links(c):
    """The link the lobby parser takes each case id from."""
    t = table(c)
    if not t.rows:
        raise NotShown("no rows")
    col = t.columns["case_id"]
    in_cell = linked = 0
    for cells in t.rows:
        links = [a for cell in cells for a in cell.css(VIEW_LINK)
                 if RE_CASE_ID_IN_URL.search(a.attributes.get("href") or "")]
        linked += bool(links)
        in_cell += len(cells) > col and cells[col].css_first(VIEW_LINK) is not None
    words = f"{linked} of {count(len(t.rows), 'row')} linked, {in_cell} in the Case ID cell"
    return ("ok" if linked == len(t.rows) else "missing"), words


@check("lobby.case_ids", "lobby", "case ids of 8 to 14 digits")
def lobby_case_ids(c):
    """The id pattern, from the links (else the Case ID cell)."""
    t = table(c)
    ids = []
    for cells, cell in zip(t.rows, column(t, "case_id"), strict=False):
        link = next((m[1] for td in cells for a in td.css(VIEW_LINK)
                     for m in [RE_CASE_ID_IN_URL.search(a.attributes.get("href") or "")] if m),
                    None)
        ids.append(link or html.shown(cell))
    return ids_found(ids, "case ids")


@check("lobby.status_labels", "lobby", "each Status one of the seven labels of the locale")
def lobby_status_labels(c):
    """Each status label known in the lobby's own locale."""
    return labels_found(c, [html.shown(n) for n in column(table(c), "status")],
                        lobby_locale(c))


def _date_ok(text: str, locale: str, no_reply: bool) -> bool:
    """Does a shown lobby date (or No reply) parse?"""
    if no_reply and locales.ui_meaning(text) == "no_reply":
        return True
    try:
        locales.parse_date(text, locale)
        return True
    except ValueError:
        parts = locales.split_one_line(text)
        try:
            return parts is not None and bool(locales.parse_date(parts[0], locale))
        except ValueError:
            return False


@check("lobby.dates", "lobby",
       "Creation Date (and Last Amazon Reply, or No reply) dates in the page's locale")
def lobby_dates(c):
    """The shown dates a lobby listing stores, in the lobby's locale."""
    t, locale = table(c), lobby_locale(c)
    keys = [k for k in ("created", "last_reply") if k in t.columns]
    cells = [(html.shown(n), k == "last_reply") for k in keys for n in column(t, k)]
    if not cells:
        raise NotShown("no rows")
    bad = sum(1 for text, nr in cells if not _date_ok(text, locale, nr))
    words = f"{count(len(cells), 'date')} ({locale})"
    return ("differs", f"{bad} of {words} do not parse") if bad else ("ok", f"all {words} parse")


@check("lobby.parser", "lobby", "caselog's parser reads the page")
def lobby_parser(c):
    """caselog's lobby parser reads the page."""
    from scrapers.parse.pages import parse_lobby

    return parsed_by(lambda: parse_lobby(c.raw("lobby").body))


# -- every capture at once ---------------------------------------------------------------

def layouts(c) -> dict:
    """Which layout each part shows: ``a``, ``b``, ``neither`` or None (not captured)."""
    out: dict = {"lobby": None, "contacts": None, "times": None}
    try:
        out["lobby"] = lobby_layout(table(c))
    except NotShown:
        pass
    try:
        found = html.contacts_of(c.tree("case_page"))
    except NotShown:
        found = []
    if found:
        kinds = {kind_of(n) for n in found}
        out["contacts"] = {"kat-box": "a", "kat-expander.contact-expander": "b"}.get(
            kinds.pop(), "neither") if len(kinds) == 1 else "neither"
        forms = {_form(n) for n in found}
        out["times"] = forms.pop() if len(forms) == 1 else "neither"
    return out


def _form(contact) -> str:
    """``a`` for a two-div date box, ``b`` for a one-line time."""
    node = html.time_of(contact)
    if node is None:
        return "neither"
    return "a" if html.time_parts(node)[1] is not None else "b"


@check("layout", "all",
       "layout a (five-column lobby, kat-box, date box) or b (six columns, kat-expander, "
       "one-line times), each part either")
def layout(c):
    """Which layout each part shows; any mix of a and b is PORTAL.md's."""
    parts = layouts(c)
    seen = {k: v for k, v in parts.items() if v is not None}
    if not seen:
        raise NotShown("neither page was captured")
    words = ", ".join(f"{k} {v}" for k, v in seen.items())
    return ("differs" if "neither" in seen.values() else "ok"), words


@check("locale", "all", "en_US, en_GB or de_DE, the same on both pages")
def locale(c):
    """The locale both pages show, which every label above is read in."""
    shown = {}
    for kind, find in (("lobby", lobby_locale), ("case page", page_locale)):
        try:
            shown[kind] = find(c)
        except NotShown:
            continue
    if not shown:
        raise NotShown("neither page was captured")
    words = ", ".join(f"{k} {v}" for k, v in shown.items())
    return ("ok" if len(set(shown.values())) == 1 else "differs"), words


def seen_labels(c) -> dict:
    """The headers and status labels the pages showed, for the report."""
    out: dict = {}
    try:
        t = table(c)
        out["lobby_headers"] = [c.seen(h) if h else "(blank)" for h in t.headers]
        out["lobby_rows"] = len(t.rows)
        out["lobby_status_labels"] = sorted(Counter(
            c.seen(html.shown(n)) for n in column(t, "status")))
    except NotShown:
        pass
    return out

