"""The doctor's only contact with the portal: four read-only requests through the saved
session, each made once, in this order: one SearchForCases page, one rendered lobby
page, then ViewCase and the rendered case page of the newest case (the first row of
SearchForCases, or of the lobby when that answer names none).

An answer that fails (404, 403, retries exhausted) is kept as a ``Raw`` without bytes
and becomes a finding; sign-in, robot check and outage (``scrapers.errors.STOPS``) are
raised, for the CLI to say what to do (exit 3, 4, 5), because no check means anything
then. The error bodies are dropped: they may name the case.
"""

from __future__ import annotations

import re

from companion.doctor import report as reports
from companion.doctor.findings import Captured, NotShown, Raw, run
from companion.folders import load_session
from scrapers.errors import (
    STOPS,
    CaptureError,
    NoSavedSession,
    PortalError,
    TransientExhausted,
)

PAGE_SIZE = 50
RE_ID = re.compile(r"[0-9]{6,20}")


def _problem(exc: PortalError) -> str:
    """Why there is no answer, in words that hold no data (never the exception's text,
    which names the URL and so the case)."""
    if exc.status:
        return f"HTTP {exc.status}"
    if isinstance(exc, TransientExhausted):
        return "no finished answer after several tries"
    return type(exc).__name__


async def _ask(call) -> Raw:
    """One request: its answer, or (for any failure but a stop) why none."""
    try:
        cap = await call
    except STOPS:
        raise
    except PortalError as exc:
        return Raw(exc.status, None, _problem(exc))
    return Raw(cap.status, cap.body)


def newest_case(c: Captured) -> str | None:
    """The case to open: SearchForCases' first row (newest first), else the lobby's."""
    try:
        rows = c.json("search").get("caseSearchResultList")
        first = rows[0].get("caseId") if isinstance(rows, list) and rows else None
        if isinstance(first, int | str) and RE_ID.fullmatch(str(first)):
            return str(first)
    except (NotShown, AttributeError):
        pass
    try:
        listed, _ = c.parsed("lobby")
    except (NotShown, CaptureError):
        return None
    return listed[0]["case_id"] if listed else None


def no_cases(c: Captured) -> bool:
    """Does SearchForCases say, in the contract's own shape, that there are no cases?"""
    try:
        doc = c.json("search")
    except NotShown:
        return False
    return isinstance(doc, dict) and doc.get("caseSearchResultList") == [] \
        and doc.get("totalNumberOfResults") == 0


async def capture(client, timezone: str | None) -> Captured:
    """The four captures, from an open ``PortalClient``."""
    search = await _ask(client.search_cases(page=0, page_size=PAGE_SIZE))
    lobby = await _ask(client.lobby_html(page=1, page_size=PAGE_SIZE, window="all"))
    listed = Captured(search=search, lobby=lobby)
    case_id = newest_case(listed)
    viewcase = case_page = (Raw(None, None, "no case to open: the case list is empty",
                                skipped=True) if no_cases(listed)
                            else Raw(None, None, "no case to open: neither list named one"))
    if case_id:
        viewcase = await _ask(client.view_case(case_id, page_size=PAGE_SIZE))
        case_page = await _ask(client.case_page_html(case_id))
    return Captured(search=search, viewcase=viewcase, case_page=case_page, lobby=lobby,
                    case_id=case_id, timezone=timezone)


async def diagnose(portal: str, *, timezone: str | None = None, timeout: float = 30.0,
                   client=None) -> dict:
    """Capture, check, report. ``client`` is an open ``PortalClient`` (tests); without
    one, a client is opened with the saved session (``NoSavedSession`` when there is
    none). Few attempts and a short timeout: a person is waiting, and a page that does
    not render in time is itself a finding."""
    if client is None:
        state = load_session(portal)
        if state is None:
            raise NoSavedSession(f"no saved session for {portal}", url=portal)
        from scrapers.browser.client import PortalClient  # loads Playwright: only here

        async with PortalClient(portal, storage_state=state, concurrency=2,
                                timezone=timezone or "UTC", max_attempts=3,
                                request_timeout=timeout) as opened:
            captured = await capture(opened, timezone)
    else:
        captured = await capture(client, timezone)
    return reports.build(captured, run(captured), portal=portal)
