"""The rendered or saved case page (PORTAL.md section 3) -> ParsedCase.

The page's parts: the summary (title, `ID:`, `Status:`, `Created:`, `Category:`), the
case's buttons (Reply, Reopen case, Show older messages), the v2 reopen notice, and the
contacts, newest first, each read by ``scrapers.parse.contacts`` in either real layout
(`<kat-box>` or `<kat-expander class="contact-expander">`).

Limits of a rendered page, compared with the JSON: the date box shows minutes, not
seconds (`sent_at` ends in `:00`; the one-line form shows seconds, which are kept); no
contact ids (`message_key` is `"h:"` + sha1, see `records.html_message_key`); no
attachment sizes or content types (None); dates without a time (`Created:`) become
`YYYY-MM-DDT00:00:00Z` of the date as shown in the portal's zone, except `created_at` on
a page that shows the whole thread: there the oldest message's time is used when its
shown date is the `Created:` date, as a case starts with its first message.
`total_messages` is None while "Show older messages" shows.

Linear in the page: one parse, one walk to find the contacts (not descending into one),
then per contact a bounded number of walks of that contact's element.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from scrapers.errors import LayoutError
from scrapers.parse import locales
from scrapers.parse.contacts import find_contacts, parse_contact
from scrapers.parse.dom import (
    SUMMARY,
    VIEW_CASE,
    buttons_of,
    case_id_hint,
    check_special_page,
    detect_locale,
    has_view_case_token,
    labelled_values,
    page_text,
    text_of,
    tree_of,
)

REOPEN_NOTICE = '[data-testid="reopen-notice"]'
CONTACT_TAGS = ("kat-box", "kat-expander")
# A case id as the page may show it: 8 to 14 digits in PORTAL.md v2, 6 to 20 tolerated
# (as in the JSON), ASCII digits only.
RE_CASE_ID = re.compile(r"[0-9]{6,20}")



def _summary(view: LexborNode, known_id: str | None, locale: str | None) -> dict:
    """The summary block -> subject, case id, status, created day, category, locale."""
    summary = view.css_first(SUMMARY)
    if summary is None:
        raise LayoutError(SUMMARY, case_id=known_id, where=VIEW_CASE)
    h1 = summary.css_first("h1")
    if h1 is None:
        raise LayoutError("<h1>", case_id=known_id, where=SUMMARY)
    rest = summary.clone()
    for node in rest.css("h1"):
        node.decompose()
    labels_text = text_of(rest)
    values = labelled_values(labels_text)
    page_id = values.get("id", "").strip()
    if page_id and not RE_CASE_ID.fullmatch(page_id):
        raise LayoutError("ID: <6 to 20 digits>", case_id=known_id, where=SUMMARY,
                          found=repr(page_id[:40]))
    the_id = page_id or known_id
    for key, shown in (("status", "Status:"), ("created", "Created:/Erstellt:")):
        if not values.get(key):
            raise LayoutError(f'"{shown}" line', case_id=the_id, where=SUMMARY)
    try:
        status = locales.status_value(values["status"])
    except ValueError:
        raise LayoutError("a known status label", case_id=the_id, where=SUMMARY,
                          found=repr(values["status"])) from None
    locale = locale or detect_locale(labels_text, values["created"])
    try:
        created_day = locales.parse_date(values["created"], locale)
    except ValueError:
        raise LayoutError("a date after Created:", case_id=the_id, where=SUMMARY,
                          found=repr(values["created"])) from None
    return {"subject": text_of(h1), "case_id": the_id, "status": status,
            "created_day": created_day, "category": values.get("category") or None,
            "locale": locale}


def _thread(contacts: list[LexborNode], *, case_id, timezone, locale):
    """The contacts -> (messages, the dates they show), a repeat keyed `#2`, `#3`."""
    messages, shown_days = [], []
    seen: dict[str, int] = {}
    for i, box in enumerate(contacts, start=1):
        msg, day = parse_contact(box, i, case_id=case_id, timezone=timezone, locale=locale)
        # The same text from the same side in the same minute twice (a double send):
        # keep both, the second under a numbered key.
        n = seen.get(msg["message_key"], 0)
        seen[msg["message_key"]] = n + 1
        if n:
            msg["message_key"] += f"#{n + 1}"
        messages.append(msg)
        shown_days.append(day)
    return messages, shown_days


def _inside_contact(node: LexborNode, view: LexborNode) -> bool:
    """Is `node` part of a contact (a message quoting the page's markup)? Walks up to
    the view: bounded by the depth limit."""
    parent = node.parent
    while parent is not None and parent.mem_id != view.mem_id:
        if parent.tag in CONTACT_TAGS:
            return True
        parent = parent.parent
    return False


def _reopen_notice(view: LexborNode) -> bool:
    """Does the page show the v2 reopen notice (an Answered case's 5-day rule)? Found by
    its test id, outside the contacts, and only when it shows words."""
    return any(node.text(deep=True).strip() and not _inside_contact(node, view)
               for node in view.css(REOPEN_NOTICE))


def parse_case_page(html: str | bytes, *, timezone: str | None = None,
                    locale: str | None = None, case_id: str | None = None) -> dict:
    """A rendered or saved case page -> ParsedCase (messages newest first, as shown).

    `timezone` (IANA name, the portal's zone) settles ambiguous or unknown zone
    abbreviations; `locale` only settles slashed dates; `case_id` names the case in
    errors when the page does not.
    """
    html = page_text(html)
    if case_id is not None and not isinstance(case_id, str):
        raise LayoutError("a case id as a string", found=type(case_id).__name__)
    tree = tree_of(html)
    view = next((n for n in tree.css("div[class]") if has_view_case_token(n)), None)
    if view is None:
        check_special_page(html, tree)
        raise LayoutError(VIEW_CASE, case_id=case_id or case_id_hint(html, tree))
    top = _summary(view, case_id or case_id_hint(html, tree), locale)
    contacts = find_contacts(view)
    if not contacts:
        raise LayoutError('<kat-box> or <kat-expander class="contact-expander">',
                          case_id=top["case_id"], where=VIEW_CASE,
                          found="none (saved before the thread loaded, or as HTML only?)")
    messages, shown_days = _thread(contacts, case_id=top["case_id"], timezone=timezone,
                                   locale=top["locale"])
    buttons = buttons_of(view)
    for box in contacts:  # per-message buttons are not case actions
        buttons -= buttons_of(box) - {"reply", "reopen"}
    whole_thread = "show_older" not in buttons
    created_at = locales.iso_day(top["created_day"])
    if whole_thread and shown_days[-1] == top["created_day"]:
        created_at = messages[-1]["sent_at"]
    category = top["category"]
    return {
        "case_id": top["case_id"],
        "subject": top["subject"],
        "status": top["status"],
        "tags": [category] if category else [],
        "category": category,
        "created_at": created_at,
        "primary_email": None,
        "can_edit": "reply" in buttons,
        "can_reopen": "reopen" in buttons,
        "reopen_notice": _reopen_notice(view),
        "escalated": None,
        "total_messages": len(messages) if whole_thread else None,
        "next_token": None,
        "messages": messages,
    }
