"""The checks of the rendered case lobby (PORTAL.md section 2), by caselog's own lobby
parser (``scrapers.parse.pages.parse_lobby``, the function a sync falls back on): it
reads both real column layouts by header text, in any locale, so either layout passes;
a page it cannot read is named with what it expected and where. What it reads is
compared with SearchForCases' first page (the same cases, newest first), and each row
must link to its case page, which the parser tolerates missing (it reads the id from
the cell).
"""

from __future__ import annotations

from datetime import datetime

from companion.doctor.casechecks import contact_layout
from companion.doctor.findings import NotShown, check, count, number
from companion.doctor.jsonchecks import page_answered, parsed_by
from scrapers.parse.dom import RE_CASE_ID_IN_URL
from scrapers.parse.lobby import VIEW_LINK

# Lobby dates are calendar days in the portal's zone, which the doctor does not know.
DAY_SLACK_S = 36 * 3600


def listed(c) -> tuple[list[dict], int | None]:
    """The parsed lobby, or NotShown (lobby.parser says why not)."""
    try:
        return c.parsed("lobby")
    except NotShown:
        raise
    except Exception:  # noqa: BLE001  (any parse failure: lobby.parser names it)
        raise NotShown("caselog's parser could not read the lobby (lobby.parser)") from None


def searched(c) -> list[dict]:
    try:
        return c.parsed("search")[0]
    except NotShown:
        raise
    except Exception:  # noqa: BLE001
        raise NotShown("no SearchForCases answer caselog reads to compare with") from None


@check("lobby.answer", "lobby", "HTTP 200 with a page")
def lobby_answer(c):
    """The lobby answered."""
    return page_answered(c, "lobby")


@check("lobby.parser", "lobby",
       "caselog's parser reads the page: a table whose headers name Case ID, Status, "
       "Subject / Short Description and Creation Date (either layout, any locale)")
def lobby_parser(c):
    """caselog's lobby parser reads the page; if not, what it expected and where."""
    result, found = parsed_by(lambda: c.parsed("lobby"))
    if result == "ok":
        found = f"yes: {count(len(c.parsed('lobby')[0]), 'row')}, layout {lobby_layout(c)}"
    return result, found


@check("lobby.summary", "lobby",
       "a line `Cases 1 to 10 of N` (de_DE `Fälle ... von N`), N at most SearchForCases' "
       "total")
def lobby_summary(c):
    """The summary line. Its N counts the lobby's own date window (the real portal's
    lobby shows the last 30 days until changed; the window parameter is the
    simulation's), so it can be smaller than SearchForCases' total, never larger."""
    _, total = listed(c)
    if total is None:
        return "missing", "no such line"
    try:
        want = c.parsed("search")[1]
    except Exception:  # noqa: BLE001  (nothing to compare with)
        want = None
    if want is not None and total > want:
        return "differs", f"N is {number(total)}; SearchForCases says {number(want)}"
    return "ok", f"present, N {number(total)}"


@check("lobby.rows", "lobby",
       "the rows of SearchForCases' first page, each with its status, creation date and "
       "(layout a) last Amazon reply")
def lobby_rows(c):
    """The rows a sync lists from when SearchForCases is unreadable, as the API says."""
    rows, api = listed(c)[0], {r["case_id"]: r for r in searched(c)}
    if not rows or not api:
        raise NotShown("no rows to compare")
    both = [r for r in rows if r["case_id"] in api]
    if not both:
        return "differs", f"none of {count(len(rows), 'row')} is in SearchForCases"
    wrong = {}
    for r in both:
        a = api[r["case_id"]]
        if r["status"] != a["status"]:
            wrong["Status"] = wrong.get("Status", 0) + 1
        if not _same_day(r["created_at"], a["created_at"]):
            wrong["Creation Date"] = wrong.get("Creation Date", 0) + 1
        if r["last_reply_known"] and (r["last_amazon_reply_at"] is None) != \
                (a["last_amazon_reply_at"] is None) or (
                r["last_amazon_reply_at"] and a["last_amazon_reply_at"]
                and not _same_day(r["last_amazon_reply_at"], a["last_amazon_reply_at"])):
            wrong["Last Amazon Reply"] = wrong.get("Last Amazon Reply", 0) + 1
    words = f"{len(both)} of {count(len(rows), 'row')} also in SearchForCases"
    if wrong:
        return "differs", words + "; not as SearchForCases: " + ", ".join(
            f"{k} in {n}" for k, n in wrong.items())
    return "ok", words + ", each as it says"


@check("lobby.links", "lobby",
       "each row links to view-case?caseID=<id> (layout a: the Case ID cell; b: View)")
def lobby_links(c):
    """The link to each case page (the parser reads a bare id cell too)."""
    rows = listed(c)[0]
    if not rows:
        raise NotShown("no rows")
    linked = {m[1] for a in c.tree("lobby").css(VIEW_LINK)
              for m in [RE_CASE_ID_IN_URL.search(a.attributes.get("href") or "")] if m}
    n = sum(1 for r in rows if r["case_id"] in linked)
    return ("ok" if n == len(rows) else "missing"), f"{n} of {count(len(rows), 'row')} linked"


def _same_day(a: str, b: str) -> bool:
    day = datetime.fromisoformat(a.replace("Z", "+00:00")).timestamp()
    moment = datetime.fromisoformat(b.replace("Z", "+00:00")).timestamp()
    return -DAY_SLACK_S <= moment - day <= DAY_SLACK_S + 86400


# -- every capture at once ---------------------------------------------------------------

def lobby_layout(c) -> str | None:
    """``a`` (a Last Amazon Reply column) or ``b`` (none), from the parsed rows."""
    try:
        rows = listed(c)[0]
    except NotShown:
        return None
    if not rows:
        return None
    return "a" if rows[0]["last_reply_known"] else "b"


def layouts(c) -> dict:
    """Which layout each page shows: ``a``, ``b``, ``mixed`` or None (not seen)."""
    return {"lobby": lobby_layout(c), "contacts": contact_layout(c)}
