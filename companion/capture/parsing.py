"""Which parser reads which capture, and what came of it: the one place sync, reparse and
import parse through, so replaying the archive runs exactly the code the sync ran.

:func:`parse` is also the only place that writes a capture's parse outcome
(``parse_status`` ``ok``/``error``, ``parse_error``) and remembers the result on the
capture, so a page read while fetching (to follow its page token, say) is not read again
when its case is put together. Whatever a parser raises becomes a
``scrapers.errors.CaptureError``: one odd answer can fail its case, never the sync.
"""

from __future__ import annotations

from companion.capture.archive import Archived
from companion.redact import redact
from scrapers.errors import CaptureError, LayoutError, ParseError
from scrapers.parse.monsapi import parse_contact_message, parse_search, parse_view_case
from scrapers.parse.pages import parse_case_page, parse_lobby
from scrapers.spapi.parse import parse_case, parse_list_cases, parse_list_contacts


def _listing(cap: Archived, timezone: str | None):
    if cap.kind == "lobby":
        rows, total = parse_lobby(cap.body)
        if total is None:
            raise LayoutError("a 'Cases 1 to 50 of N' line", where="the lobby")
        # Lobby rows show days, not times: no last-reply time to compare, so every case
        # listed this way is read whole, and its last reply taken from its thread.
        return [{**r, "last_amazon_reply_at": None, "dates": "day"} for r in rows], total
    return parse_search(cap.body)


def _viewcase(cap: Archived, timezone: str | None) -> dict:
    parsed = parse_view_case(cap.body, case_id=cap.case_id)
    parsed["case_id"] = parsed.get("case_id") or cap.case_id
    return parsed


def _message(cap: Archived, timezone: str | None) -> dict:
    return parse_contact_message(cap.body)


def _page(cap: Archived, timezone: str | None) -> dict:
    kwargs = {"timezone": timezone} if timezone else {}
    return parse_case_page(cap.body, case_id=cap.case_id, **kwargs)


def _spapi_cases(cap: Archived, timezone: str | None):
    return parse_list_cases(cap.body)


def _spapi_case(cap: Archived, timezone: str | None):
    return parse_case(cap.body)


def _spapi_contacts(cap: Archived, timezone: str | None):
    return parse_list_contacts(cap.body, case_id=cap.case_id)


PARSERS = {"search": _listing, "lobby": _listing, "viewcase": _viewcase,
           "message": _message, "html": _page, "import": _page,
           "spapi_cases": _spapi_cases, "spapi_case": _spapi_case,
           "spapi_contacts": _spapi_contacts}


def parse(cap: Archived, timezone: str | None = None):
    """The records of one capture (see ``PARSERS``); raises a ``CaptureError`` naming what
    was expected. The outcome is written on the capture, and remembered."""
    if cap.failure is not None:
        raise cap.failure
    if cap.parsed is not None:
        return cap.parsed
    try:
        parser = PARSERS[cap.kind]
    except KeyError:
        raise ParseError(f"a capture of kind {cap.kind!r} has no parser") from None
    try:
        result = parser(cap, timezone)
    except CaptureError as exc:
        failure = exc
    except (RecursionError, MemoryError, OverflowError, OSError, ValueError, TypeError,
            KeyError, IndexError, AttributeError, UnicodeError) as exc:
        # A parser bug met an odd answer: still the capture's failure, named, not a crash.
        failure = ParseError(f"unreadable {cap.kind} answer ({type(exc).__name__})")
        failure.__cause__ = exc
    else:
        cap.parsed, cap.parse_status, cap.parse_error = result, "ok", None
        return result
    cap.failure, cap.parse_status = failure, "error"
    cap.parse_error = redact(str(failure))[:2000]
    raise failure


def whole_thread(parsed: dict) -> bool:
    """Does a parsed page hold the whole thread? A rendered page says so by showing no
    "Show older messages" (the HTML parser then knows ``total_messages``)."""
    return parsed.get("total_messages") is not None and not parsed.get("next_token")
