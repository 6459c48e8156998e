"""The rendered or saved case page (PORTAL.md section 3) -> ParsedCase.

Limits of a rendered page, compared with the JSON: it shows minutes, not seconds
(`sent_at` ends in `:00`); no contact ids (`message_key` is `"h:"` + sha1, see
`records.html_message_key`); no attachment sizes or content types (None); dates without a
time (`Created:`) become `YYYY-MM-DDT00:00:00Z` of the date as shown in the portal's
zone, except `created_at` on a page that shows the whole thread: there the oldest
message's time is used when its shown date is the `Created:` date, as a case starts with
its first message. `total_messages` is None while "Show older messages" shows.

Linear in the page: one parse, then per contact a bounded number of walks of that
contact's element (candidate date boxes and wrapper levels are capped, contacts nested
in a contact are not contacts), so no element is read once per ancestor.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborNode

from scrapers.errors import LayoutError, TimeZoneError
from scrapers.parse import locales
from scrapers.parse.dom import (
    ATTACHMENT,
    RE_SIZE_SUFFIX,
    RECEIVER,
    SENDER_LABEL,
    SUMMARY,
    VIEW_CASE,
    buttons_of,
    case_id_hint,
    check_special_page,
    children,
    detect_locale,
    has_view_case_token,
    labelled_values,
    page_text,
    text_of,
    tree_of,
)
from scrapers.parse.records import message as make_message

# A date box sits near the top of its contact: look at this many <div>s at most, and
# through at most this many wrapper levels.
MAX_DATE_CANDIDATES = 64
MAX_WRAPPERS = 16


def _date_pair(node: LexborNode) -> tuple[str, str] | None:
    """(date, time) if `node` is the date box: two `<div>`s, a date then a time."""
    kids = [c for c in children(node) if c.tag == "div"]
    if len(kids) < 2:
        return None
    date_text, time_text = text_of(kids[0]), text_of(kids[1])
    if len(date_text) > locales.MAX_SHOWN_CHARS or len(time_text) > locales.MAX_SHOWN_CHARS:
        return None
    try:
        locales.parse_date(date_text)
        locales.parse_time(time_text)
    except ValueError:
        return None
    return date_text, time_text


def _is_attachment_only(node: LexborNode) -> bool:
    if node.css_first(ATTACHMENT) is None:
        return False
    rest = node.clone()
    for a in rest.css(ATTACHMENT):
        a.decompose()
    return not rest.text(deep=True).strip()


def _attachment(a: LexborNode) -> dict:
    try:
        query = parse_qs(urlsplit(a.attributes.get("href") or "").query)
    except ValueError:  # not a URL (an unclosed "[", say): no id to read
        query = {}
    ids = query.get("attachmentId") or query.get("attachmentID")
    name = a.attributes.get("download") or text_of(a)
    suffix = RE_SIZE_SUFFIX.search(name, max(0, len(name) - 100))  # the tail only
    name = (name[:suffix.start()] if suffix else name).strip()
    return {"attachment_id": ids[0] if ids else None, "name": name, "size": None,
            "content_type": a.attributes.get("type") or None}


def _parse_box(box: LexborNode, index: int, *, case_id, timezone, locale):
    where = f"<kat-box> #{index}"
    container = box
    for _ in range(MAX_WRAPPERS):  # a wrapper div holding everything: look inside it
        kids = [c for c in children(container) if c.tag not in ("kat-button", "button")]
        if len(kids) == 1 and kids[0].tag == "div" and kids[0].css_first(SENDER_LABEL):
            container = kids[0]
        else:
            break
    label_el = box.css_first(SENDER_LABEL)
    if label_el is None:
        raise LayoutError(SENDER_LABEL, case_id=case_id, where=where)
    label = " ".join(label_el.text(deep=True).split())
    meaning = locales.ui_meaning(label)
    if meaning not in ("amazon", "you"):
        raise LayoutError('sender label "Amazon", "You" or "Sie"', case_id=case_id,
                          where=where, found=repr(label))
    sender = "amazon" if meaning == "amazon" else "seller"
    receiver_el = box.css_first(RECEIVER)
    address = " ".join(receiver_el.text(deep=True).split()) if receiver_el else ""

    body = fallback = None
    for child in reversed(children(container)):
        if child.tag != "div" or _date_pair(child):
            continue
        if child.css_first(SENDER_LABEL) or child.css_first(RECEIVER):
            continue
        if _is_attachment_only(child):  # links under the body, or a body of links only
            fallback = fallback or child
            continue
        body = child
        break
    body = body or fallback
    if body is None:
        raise LayoutError("the message body (last child <div>)", case_id=case_id, where=where)

    pair = None
    for child in children(container):
        if child.mem_id == body.mem_id:
            continue
        candidates = [child] + child.css("div") if child.tag == "div" else child.css("div")
        pair = next((p for p in map(_date_pair, candidates[:MAX_DATE_CANDIDATES]) if p),
                    None)
        if pair:
            break
    if pair is None:
        raise LayoutError("the date box (<div>date</div><div>time zone</div>)",
                          case_id=case_id, where=where)
    try:
        moment = locales.parse_datetime(pair[0], pair[1], timezone_hint=timezone,
                                        locale=locale)
    except TimeZoneError as exc:
        raise type(exc)(f"case {case_id}, {where}: {exc}") from None

    # A link without a file name names no file (a page drawing an odd value): not one.
    attachments = [a for a in map(_attachment, box.css(ATTACHMENT)) if a["name"]]
    for node in body.css(f"{ATTACHMENT}, kat-button"):
        node.decompose()
    html = body.inner_html or ""
    buttons = buttons_of(box)
    return make_message(
        contact_id=None,
        sender=sender,
        sender_address=address if "@" in address else None,
        sent_at=locales.iso_utc(moment),
        html=html,
        truncated="see_more" in buttons and "see_less" not in buttons,
        attachments=attachments,
    ), locales.parse_date(pair[0], locale)


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
    known_id = case_id or case_id_hint(html, tree)

    summary = view.css_first(SUMMARY)
    if summary is None:
        raise LayoutError(SUMMARY, case_id=known_id, where=VIEW_CASE)
    h1 = summary.css_first("h1")
    if h1 is None:
        raise LayoutError("<h1>", case_id=known_id, where=SUMMARY)
    subject = text_of(h1)
    rest = summary.clone()
    for node in rest.css("h1"):
        node.decompose()
    labels_text = text_of(rest)
    values = labelled_values(labels_text)
    page_id = values.get("id", "").strip()
    if page_id and not page_id.isdigit():
        raise LayoutError("ID: <digits>", case_id=known_id, where=SUMMARY,
                          found=repr(page_id))
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
    category = values.get("category") or None

    inner = {n.mem_id for n in view.css("kat-box kat-box")}  # a box in a box: its content
    boxes = [b for b in view.css("kat-box") if b.mem_id not in inner]
    if not boxes:
        raise LayoutError("<kat-box>", case_id=the_id, where=VIEW_CASE,
                          found="none (saved before the thread loaded, or as HTML only?)")
    messages, shown_days = [], []
    seen: dict[str, int] = {}
    for i, box in enumerate(boxes, start=1):
        msg, day = _parse_box(box, i, case_id=the_id, timezone=timezone, locale=locale)
        # The same text from the same side in the same minute twice (a double send):
        # keep both, the second under a numbered key.
        n = seen.get(msg["message_key"], 0)
        seen[msg["message_key"]] = n + 1
        if n:
            msg["message_key"] += f"#{n + 1}"
        messages.append(msg)
        shown_days.append(day)

    buttons = buttons_of(view)
    for box in boxes:  # per-message buttons are not case actions
        buttons -= buttons_of(box) - {"reply", "reopen"}
    whole_thread = "show_older" not in buttons
    created_at = locales.iso_day(created_day)
    if whole_thread and shown_days[-1] == created_day:
        created_at = messages[-1]["sent_at"]
    return {
        "case_id": the_id,
        "subject": subject,
        "status": status,
        "tags": [category] if category else [],
        "category": category,
        "created_at": created_at,
        "primary_email": None,
        "can_edit": "reply" in buttons,
        "can_reopen": "reopen" in buttons,
        "escalated": None,
        "total_messages": len(messages) if whole_thread else None,
        "next_token": None,
        "messages": messages,
    }


