"""Which parser reads which capture: the one place sync, reparse and import agree on it,
so that replaying the archive goes through exactly the code the sync used."""

from __future__ import annotations

from companion.capture.archive import Archived
from scrapers.errors import ParseError

# Parser failures that mean "keep the capture, fail this case, go on".
PARSE_ERRORS = (ParseError, ValueError, KeyError, TypeError)


def parse_listing(cap: Archived) -> tuple[list[dict], int]:
    """A SearchForCases page, or a rendered lobby page (kind ``lobby``: the fallback when
    the JSON's layout is unknown). Lobby rows show days, not times: they carry
    ``dates: "day"`` and no last-reply time, which the store then takes from the thread."""
    if cap.kind == "lobby":
        from scrapers.parse.pages import parse_lobby

        rows, total = parse_lobby(cap.body)
        if total is None:
            raise ValueError("the lobby shows no 'Cases 1 to 50 of N' line")
        return [{**r, "last_amazon_reply_at": None, "dates": "day"} for r in rows], total
    from scrapers.parse.monsapi import parse_search

    return parse_search(cap.body)


def parse_viewcase(cap: Archived) -> dict:
    from scrapers.parse.monsapi import parse_view_case

    parsed = parse_view_case(cap.body, case_id=cap.case_id)
    parsed["case_id"] = parsed.get("case_id") or cap.case_id
    return parsed


def parse_message(cap: Archived) -> dict:
    """GetContactMessage -> {"contact_id", "html", "text"}."""
    from scrapers.parse.monsapi import parse_contact_message

    return parse_contact_message(cap.body)


def parse_page(cap: Archived, timezone: str | None = None) -> dict:
    """A rendered (or saved) case page -> ParsedCase, through the HTML parser."""
    from scrapers.parse import pages as parse_html

    kwargs = {"timezone": timezone} if timezone else {}
    return parse_html.parse_case_page(cap.text(), **kwargs)


def whole_thread(parsed: dict) -> bool:
    """Does a parsed page hold the whole thread? A rendered page says so by showing no
    "Show older messages" (the HTML parser then knows ``total_messages``)."""
    return parsed.get("total_messages") is not None and not parsed.get("next_token")


def mark(cap: Archived, exc: BaseException | None) -> None:
    cap.parse_status = "ok" if exc is None else "error"
    cap.parse_error = None if exc is None else str(exc)
