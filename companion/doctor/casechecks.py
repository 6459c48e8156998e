"""The checks of the rendered case page (PORTAL.md section 3). The doctor does not read
the page itself: it asks caselog's own parser (``scrapers.parse.pages.parse_case_page``,
the function a sync calls), so any page the parser reads is one the doctor passes, and
a page it cannot read is named with what the parser expected and where.

Reading is not all: a parser that is tolerant (no receiver, no channel label, no
attachment link is no error) could read a changed page silently wrong. So the parsed
page is compared with ViewCase of the same case, contact by contact, newest first: the
side, the sender's address, the time, the channel, the text, the attachments, the
summary and the buttons. Each comparison says how many contacts differ and which
(their place on the page), never what they hold.
"""

from __future__ import annotations

from datetime import datetime

from companion.doctor.findings import NotShown, check, count
from companion.doctor.jsonchecks import page_answered, parsed_by
from scrapers.parse.contacts import find_contacts
from scrapers.parse.dom import (
    SUMMARY,
    buttons_of,
    detect_locale,
    has_view_case_token,
    labelled_values,
    text_of,
)

# A date box shows minutes; a portal may round them or cut them.
TIME_SLACK_S = 60
# The Created: date is a calendar day in the portal's zone, which the doctor does not know.
DAY_SLACK_S = 36 * 3600


def page(c) -> dict:
    """The parsed case page, or NotShown (case_page.parser says why not)."""
    try:
        return c.parsed("case_page")
    except NotShown:
        raise
    except Exception:  # noqa: BLE001  (any parse failure: case_page.parser names it)
        raise NotShown("caselog's parser could not read the page (case_page.parser)") \
            from None


def json_case(c) -> dict:
    """The parsed ViewCase of the same case, or NotShown."""
    try:
        return c.parsed("viewcase")
    except NotShown:
        raise
    except Exception:  # noqa: BLE001
        raise NotShown("no ViewCase answer caselog reads to compare with") from None


def pairs(c) -> list[tuple[int, dict, dict]]:
    """(place on the page from 1, page message, ViewCase message), newest first, as far
    as both go (the page may show fewer than ViewCase's first page, or more)."""
    shown, listed = page(c)["messages"], json_case(c)["messages"]
    if not shown or not listed:
        raise NotShown("no contacts to compare")
    return [(i, a, b) for i, (a, b) in enumerate(zip(shown, listed, strict=False), start=1)]


def _places(c, numbers: list[int], total: int, what: str) -> str:
    """`the time of 2 of 6 contacts (<kat-box> #2, #5)`: the parser's own way of
    naming a contact, its element and place on the page."""
    node = view(c)
    tags = [n.tag for n in find_contacts(node)] if node is not None else []
    places = [f"<{tags[n - 1]}> #{n}" if n <= len(tags) else f"#{n}" for n in numbers[:8]]
    shown = ", ".join(places) + (" ..." if len(numbers) > 8 else "")
    return f"{what} of {len(numbers)} of {count(total, 'contact')} ({shown})"


def compared(c, differs, what: str, ok_words: str) -> tuple[str, str]:
    """Compare each pair with ``differs(page_msg, json_msg) -> bool | None`` (None: the
    pair says nothing here) and word the result."""
    found = pairs(c)
    judged = [(i, differs(a, b)) for i, a, b in found]
    looked = [i for i, d in judged if d is not None]
    if not looked:
        raise NotShown(f"no contact shows {what}")
    bad = [i for i, d in judged if d]
    if bad:
        return "differs", _places(c, bad, len(looked), what) + " differ from ViewCase"
    return "ok", f"{ok_words} in {'the' if len(looked) == 1 else 'all'} " \
        f"{count(len(looked), 'contact')}"


@check("case_page.answer", "case_page", "HTTP 200 with a page")
def case_answer(c):
    """The page answered."""
    return page_answered(c, "case_page")


@check("case_page.parser", "case_page",
       "caselog's parser reads the page: the view-case container, the summary, and each "
       "contact's sender label, time (a date box or one line) and body")
def case_parser(c):
    """caselog's case page parser reads the page; if not, what it expected and where."""
    result, found = parsed_by(lambda: c.parsed("case_page"))
    if result == "ok":
        n = len(c.parsed("case_page")["messages"])
        found = f"yes: {count(n, 'contact')}"
        if c.zone_stand_in:
            found += ("; its zone abbreviation needs --timezone (ambiguous or unfamiliar) "
                      "for caselog to read its times")
    return result, found


@check("case_page.summary", "case_page",
       "the summary's title, Status:, Category: and Created: as ViewCase says")
def case_summary(c):
    """The summary a sync stores (from the page when the JSON is unreadable)."""
    shown, meta = page(c), json_case(c)
    wrong = []
    if " ".join(shown["subject"].split()) != " ".join(meta["subject"].split()):
        wrong.append("the title")
    if shown["status"] != meta["status"]:
        wrong.append("Status:")
    if meta["category"] and shown["category"] != meta["category"]:
        wrong.append("Category:" if shown["category"] else "Category: (absent)")
    if abs(_epoch(shown["created_at"]) - _epoch(meta["created_at"])) > DAY_SLACK_S:
        wrong.append("Created:")
    if wrong:
        return "differs", "not as ViewCase: " + ", ".join(wrong)
    return "ok", "title, status, category and created date as ViewCase"


@check("case_page.contacts", "case_page",
       "one contact element per contact of ViewCase (all of them when no Show older "
       "messages shows)")
def case_contacts(c):
    """As many contacts as ViewCase counts: fewer means the page lost some."""
    shown, listed = page(c), json_case(c)
    total = listed["total_messages"]
    n = len(shown["messages"])
    if total is None:
        raise NotShown("ViewCase gives no totalNumberOfContacts")
    whole = shown["total_messages"] is not None
    if (whole and n != total) or n > total:
        return "differs", f"{count(n, 'contact')} on the page; ViewCase counts {total}"
    return "ok", f"{count(n, 'contact')}" + ("" if whole else f" of {total} (older ones behind "
                                             "Show older messages)")


@check("case_page.senders", "case_page",
       '[data-testid="sender-label"]: Amazon on Amazon\'s contacts, You on the seller\'s')
def case_senders(c):
    """The side of each contact, as ViewCase's outbound says."""
    return compared(c, lambda a, b: a["sender"] != b["sender"], "the sender", "the side")


@check("case_page.receivers", "case_page",
       '[data-testid="reciever"]: the seller\'s address on the seller\'s contacts')
def case_receivers(c):
    """The address a seller's contact shows (the parser reads its absence as none)."""
    def differs(a, b):
        if b["sender"] != "seller" or not b["sender_address"]:
            return None
        return a["sender_address"] != b["sender_address"]

    return compared(c, differs, "the address", "the seller's address")


@check("case_page.times", "case_page",
       "each contact's time (a date box or one line, section 5's forms) is ViewCase's "
       "timestamp, to the minute")
def case_times(c):
    """The shown time, read in the page's locale and zone, is the moment ViewCase says:
    a time the parser misreads (a zone, a 12-hour clock) is a drift too."""
    if c.zone_stand_in:
        raise NotShown("the page's zone abbreviation is ambiguous or unfamiliar: run with "
                       "--timezone to compare its times")
    return compared(c, lambda a, b: abs(_epoch(a["sent_at"]) - _epoch(b["sent_at"]))
                    > TIME_SLACK_S, "the time", "ViewCase's time")


@check("case_page.channels", "case_page",
       '[data-testid="channel"] (Chat, Phone call / Telefonat) on each chat or call, on no '
       "e-mail")
def case_channels(c):
    """A missing channel label makes a chat read as an e-mail."""
    return compared(c, lambda a, b: a["channel"] != b["channel"], "the channel",
                    "the channel")


@check("case_page.texts", "case_page",
       "each contact's body (its last <div>) holds ViewCase's message")
def case_texts(c):
    """The body the parser takes is the message (compared when neither is cut short)."""
    def differs(a, b):
        if a["truncated"] or b["truncated"]:
            return None
        return _words(a["text"]) != _words(b["text"])

    return compared(c, differs, "the text", "the message")


@check("case_page.attachments", "case_page",
       '<a data-testid="attachment"> for each attachment of ViewCase')
def case_attachments(c):
    """Attachment links the sync can download, one per attachment."""
    def differs(a, b):
        if not a["attachments"] and not b["attachments"]:
            return None
        named = [x for x in a["attachments"] if x["attachment_id"]]
        return len(named) != len(b["attachments"])

    return compared(c, differs, "the attachments", "each attachment linked")


@check("case_page.reopen_notice", "case_page",
       '[data-testid="reopen-notice"] on an Answered case, on no other')
def case_reopen_notice(c):
    """The 5-day notice of an Answered case (v2)."""
    shown, listed = page(c), json_case(c)
    want = listed["status"] == "Answered"
    if shown["reopen_notice"] == want:
        return "ok", ("present on an Answered case" if want else "absent, not Answered")
    return ("missing" if want else "differs"), \
        ("absent on an Answered case" if want else "shown on a case not Answered")


@check("case_page.actions", "case_page",
       '<kat-button label="Reply"> when canEditCase, label="Reopen case" when canReopenCase')
def case_actions(c):
    """The Reply and Reopen case buttons the page's can_edit / can_reopen come from."""
    shown, listed = page(c), json_case(c)
    wrong = [f"{word} {'absent' if want else 'shown'}"
             for key, word, want in (("can_edit", "Reply", listed["can_edit"]),
                                     ("can_reopen", "Reopen case", listed["can_reopen"]))
             if want is not None and want != shown[key]]
    shown_words = [w for key, w in (("can_edit", "Reply"), ("can_reopen", "Reopen case"))
                   if shown[key]]
    return ("differs", "; ".join(wrong)) if wrong else \
        ("ok", "buttons: " + (", ".join(shown_words) or "none"))


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _words(text: str) -> str:
    return "".join(text.split()).casefold()


# -- what the report says of the page ---------------------------------------------------

def view(c):
    """The page's view-case container (the parser's own rule), or None."""
    try:
        tree = c.tree("case_page")
    except NotShown:
        return None
    return next((n for n in tree.css("div[class]") if has_view_case_token(n)), None)


def contact_layout(c) -> str | None:
    """``a`` (kat-box), ``b`` (kat-expander) or ``mixed``, from the contacts the parser
    finds; None when there are none."""
    node = view(c)
    tags = {n.tag for n in find_contacts(node)} if node is not None else set()
    if not tags:
        return None
    return {"kat-box": "a", "kat-expander": "b"}.get(tags.pop(), "mixed") \
        if len(tags) == 1 else "mixed"


def page_locale(c) -> str | None:
    """The locale the summary is in, as the parser tells it."""
    node = view(c)
    summary = node.css_first(SUMMARY) if node is not None else None
    if summary is None:
        return None
    text = text_of(summary)
    return detect_locale(text, labelled_values(text).get("created"))


def page_counts(c) -> dict:
    """What the case page holds, counted, for the report."""
    node = view(c)
    if node is None:
        return {"view_case": False}
    contacts = find_contacts(node)
    return {"view_case": True, "contacts": len(contacts),
            "contact_elements": sorted({n.tag for n in contacts}),
            "buttons": sorted(buttons_of(node))}
