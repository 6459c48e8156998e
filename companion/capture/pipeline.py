"""From captures to records: the pure middle of capture -> parse -> save.

A source yields captures (archived before anyone reads them); :func:`case_unit` turns one
case's captures, plus what is already stored of it, into a :class:`CaseUnit`, and
:func:`listing` turns one sync's listing pages into a :class:`Listing`.
``companion.capture.store`` then records a unit, its captures and their parse outcomes
in one transaction. The sync, ``caselog reparse`` and ``caselog import`` all go through
these two functions, so the rule for "is this thread whole" exists once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from companion.capture.archive import Archived
from companion.capture.merge import identity
from companion.capture.parsing import parse, whole_thread
from scrapers.errors import ParseError
from scrapers.parse.records import apply_full_messages, merge_pages


@dataclass
class StoredCase:
    """What the store knows of a case that capture decisions depend on (for the source
    asking: ``fully_captured`` is that source's own)."""

    fully_captured: bool = False
    message_keys: dict[str, int] = field(default_factory=dict)  # key -> truncated flag
    rows: list[dict] = field(default_factory=list)  # channel, sender, sent_at, text
    _identities: set | None = field(default=None, repr=False)

    def knows(self, message: dict) -> bool:
        """Is this message stored, under its key or as the same message from another
        source (whose ids differ)? The identities are worked out on first use: only
        the Support API's stop rule needs them."""
        if message["message_key"] in self.message_keys:
            return True
        if self._identities is None:
            self._identities = {identity(r) for r in self.rows}
        return identity(message) in self._identities


@dataclass
class CaseUnit:
    """Everything one case's capture produced: what ``store.record`` stores."""

    case_id: str
    parsed: dict                       # ParsedCase, full texts of truncated messages in
    captures: list[Archived]
    complete: bool = True              # the thread was read to its end (or known ground)
    source: str = "json"               # json | html | import | spapi
    listed: dict | None = None         # ListedCase from this sync's listing
    observed_at: str | None = None     # when the portal showed this (first capture)
    sync_id: int | None = None
    portal: str | None = None


@dataclass
class Listing:
    """One sync's list of cases: rows by case id, and whether it names every case (only
    then may cases missing from it be marked as having left the lobby)."""

    rows: dict[str, dict]
    captures: list[Archived]
    complete: bool
    day_dates: bool = False            # listed from the rendered lobby (days, no times)
    source: str = "portal"             # portal | spapi (which lists every case it has)


THREAD_KINDS = ("viewcase", "message", "html", "import", "spapi_case", "spapi_contacts")
TRANSFERRED = ("Transferred", "TRANSFERRED")  # the portal's and the Support API's word
# How Amazon's last message names the case that continues a transferred one (PORTAL.md
# section 5: "transferred to case <id>", de_DE "an Fall <id> übertragen"); tolerant of
# "case ID", "#" and the words around it.
_CONTINUED = re.compile(
    r"(?:transferred|moved|continued)\s+(?:to|in)\s+(?:a\s+new\s+)?case\s*(?:ID\s*)?#?\s*"
    r"(\d{8,14})|(?:an|in)\s+(?:den\s+)?Fall\s*(?:-?ID\s*)?#?\s*(\d{8,14})\s+"
    r"(?:übertragen|weitergeleitet|verschoben)", re.I)


def continued_in(status: str | None, amazon_texts_newest_first: list[str]) -> str | None:
    """The case a transferred case continues in, from Amazon's newest message naming
    one; None for any other status (an ordinary message may quote such a sentence)."""
    if status not in TRANSFERRED:
        return None
    for text in amazon_texts_newest_first:
        m = _CONTINUED.search(text or "")
        if m:
            return m[1] or m[2]
    return None


def case_unit(case_id: str | None, captures: list[Archived], stored: StoredCase | None,
              listed: dict | None = None, timezone: str | None = None) -> CaseUnit:
    """The case these captures show. Raises a ``CaptureError`` when one cannot be read.

    A rendered or saved page (the last one) stands for the whole capture; otherwise the
    ViewCase pages, newest first, joined, with the full text of each truncated message
    that GetContactMessage returned. The thread is whole when the last page has no next
    page, or when the case was already fully captured and the last page reached a message
    already stored (an incremental sync stops there)."""
    useful = [c for c in captures if c.kind in THREAD_KINDS]
    pages = [c for c in useful if c.kind in ("html", "import")]
    observed = captures[0].fetched_at if captures else None
    if any(c.kind == "spapi_contacts" for c in useful):
        return _spapi_unit(case_id, captures, useful, stored, listed, observed)
    if pages:
        parsed = parse(pages[-1], timezone)
        return CaseUnit(
            case_id=case_id or parsed.get("case_id"), parsed=parsed, captures=captures,
            complete=whole_thread(parsed), listed=listed, observed_at=observed,
            source="import" if pages[-1].kind == "import" else "html")
    views = [parse(c, timezone) for c in useful if c.kind == "viewcase"]
    if not views:
        raise ParseError(f"case {case_id}: no ViewCase answer among its captures")
    fulls = [parse(c, timezone) for c in useful if c.kind == "message"]
    parsed = apply_full_messages(merge_pages(views), {m["contact_id"]: m["html"] for m in fulls},
                                 {m["contact_id"]: m["text"] for m in fulls})
    last = views[-1]
    complete = not last.get("next_token") or bool(
        stored and stored.fully_captured
        and any(m["message_key"] in stored.message_keys for m in last["messages"]))
    return CaseUnit(case_id=case_id or parsed.get("case_id"), parsed=parsed,
                    captures=captures, complete=complete, listed=listed,
                    observed_at=observed, source="json")


def _spapi_unit(case_id, captures, useful, stored, listed, observed) -> CaseUnit:
    """A case as the Support API knows it: the case record (getCase when it was asked,
    else the listing's row), its contact pages newest first, joined."""
    record = next((parse(c) for c in reversed(useful) if c.kind == "spapi_case"), None) \
        or dict(listed or {})
    pages = []
    for cap in useful:
        if cap.kind == "spapi_contacts":
            messages, token = parse(cap)
            pages.append({"messages": messages, "next_token": token})
    last = pages[-1]
    parsed = {**{k: v for k, v in merge_pages(pages).items() if k != "total_messages"},
              "case_id": case_id or record.get("case_id"), "subject": record.get("subject"),
              "status": record.get("status"), "tags": [], "category": None,
              "created_at": record.get("created_at"),
              "primary_email": record.get("primary_email"),
              "last_updated_at": record.get("last_updated_at"),
              "appointments": record.get("appointments") or [], "total_messages": None}
    complete = not last.get("next_token") or bool(
        stored and stored.fully_captured and any(stored.knows(m) for m in last["messages"]))
    return CaseUnit(case_id=parsed["case_id"], parsed=parsed, captures=captures,
                    complete=complete, source="spapi", listed=listed, observed_at=observed)


def _spapi_listing(captures: list[Archived]) -> Listing:
    """listCases pages, walked through ``nextToken`` (empty pages included): complete
    when the walk reached a page without one."""
    rows: dict[str, dict] = {}
    token = "unread"
    for cap in captures:
        found, token = parse(cap)
        for r in found:
            rows.setdefault(r["case_id"], r)
    return Listing(rows=rows, captures=captures, complete=token is None, source="spapi")


RESULT_CAP = 1000  # PORTAL.md v2: a SearchForCases query lists at most 1,000 results
INF = float("inf")


def epoch(iso: str) -> int:
    """Whole epoch seconds of a record's ISO time (the parsers floor to the second)."""
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


@dataclass
class _Query:
    """What one query's pages showed: its window, its totals, its cases, the oldest."""

    window: tuple
    totals: set = field(default_factory=set)
    ids: set = field(default_factory=set)
    oldest: str | None = None

    def covers(self) -> tuple[float, float] | None:
        """The creation-date interval [lo, hi) this query listed whole, or None. A query
        past the cap listed its newest 1,000 only: everything after the oldest second it
        showed (cases of that very second may have been cut off)."""
        if len(self.totals) != 1:
            return None
        total = next(iter(self.totals))
        lo = -INF if self.window[0] is None else self.window[0]
        hi = INF if self.window[1] is None else self.window[1]
        if total < RESULT_CAP:
            return (lo, hi) if len(self.ids) >= total else None
        if len(self.ids) < RESULT_CAP or self.oldest is None:
            return None
        return (epoch(self.oldest) + 1, hi)


def listing(captures: list[Archived], timezone: str | None = None) -> Listing:
    """The cases one sync's listing pages name. Pages of the rendered lobby stand for the
    listing when there are any (the sync fell back to them because SearchForCases could
    not be read). Complete when the queries' windows, each listed whole (a capped query:
    after its oldest second), together cover every creation date."""
    if any(c.kind == "spapi_cases" for c in captures):
        return _spapi_listing([c for c in captures if c.kind == "spapi_cases"])
    lobby = [c for c in captures if c.kind == "lobby"]
    pages = lobby or [c for c in captures if c.kind == "search"]
    rows: dict[str, dict] = {}
    queries: dict[tuple, _Query] = {}
    for cap in pages:
        found, total = parse(cap, timezone)
        window = _query_of(cap)
        q = queries.setdefault(window, _Query(window))
        q.totals.add(total)
        for r in found:
            q.ids.add(r["case_id"])
            rows.setdefault(r["case_id"], r)
            if r.get("created_at") and (q.oldest is None or r["created_at"] < q.oldest):
                q.oldest = r["created_at"]
    spans = sorted(c for c in (q.covers() for q in queries.values()) if c is not None)
    reach = -INF
    for lo, hi in spans:
        if lo > reach:
            break
        reach = max(reach, hi)
    complete = bool(queries) and reach == INF and (not spans or spans[0][0] == -INF)
    return Listing(rows=rows, captures=captures, complete=complete, day_dates=bool(lobby))


def _query_of(cap: Archived) -> tuple:
    """Which query a listing page answered: its creation-date window (a page of the lobby,
    or one from before captures kept their parameters, belongs to the unfiltered one)."""
    filters = (cap.params or {}).get("caseFilters") or {}
    return (filters.get("creationDateFrom"), filters.get("creationDateTo"))
