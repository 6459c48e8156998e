"""One contact of a rendered case page (PORTAL.md section 3) -> ParsedMessage, in either
real layout: a `<kat-box>` whose time is a date box of two `<div>`s (`Mar 06, 2026` +
`4:35 PM PST`, minutes), or a `<kat-expander class="contact-expander">` whose time is one
line (`March 6, 2026 at 04:35:07 PM PST`, seconds kept). Either form is read in either
element, since the contract ties neither to the other.

Inside, elements are found by `data-testid`, tag and position, never by class: the
sender label, the receiver, the channel (v2, absent for e-mail), the time, and the body
as the last child `<div>` that is none of those. Each contact costs a bounded number of
walks of its own element (candidate time elements and wrapper levels are capped).
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
    buttons_of,
    children,
    text_of,
)
from scrapers.parse.records import message as make_message

CHANNEL = '[data-testid="channel"]'
# Test ids of the contact's head: a child holding one of these is not the body.
HEAD_IDS = f"{SENDER_LABEL}, {RECEIVER}, {CHANNEL}"
# A time sits near the top of its contact: look at this many elements at most, and
# through at most this many wrapper levels.
MAX_TIME_CANDIDATES = 64
MAX_WRAPPERS = 16
_TIME_TAGS = "div, span, time, p"


def is_contact(node: LexborNode) -> bool:
    """A contact element: any `<kat-box>`, a `<kat-expander>` with the stable class, or one
    without it that holds a sender label and no contact element of its own (a portal that
    dropped the class; an expander wrapping several contacts is not one)."""
    if node.tag == "kat-box":
        return True
    if node.tag != "kat-expander":
        return False
    if "contact-expander" in (node.attributes.get("class") or "").split():
        return True
    inner = node.css("kat-box, kat-expander")
    return len(inner) == 1 and node.css_first(SENDER_LABEL) is not None


def find_contacts(view: LexborNode) -> list[LexborNode]:
    """The contacts under `view` in page order, not those inside a contact (a box in a
    box is its content). The candidates come from one selector walk in C; each is then
    checked up its ancestors, which the depth limit bounds."""
    memo: dict[int, bool] = {}

    def contact(node: LexborNode) -> bool:
        if node.mem_id not in memo:
            memo[node.mem_id] = is_contact(node)
        return memo[node.mem_id]

    found = []
    for node in view.css("kat-box, kat-expander"):
        if not contact(node):
            continue
        parent = node.parent
        while parent is not None and parent.mem_id != view.mem_id:
            if parent.tag in ("kat-box", "kat-expander") and contact(parent):
                break
            parent = parent.parent
        else:
            found.append(node)
    return found


def _short(node: LexborNode) -> bool:
    """Could the element show a date or time? Its raw text (read in C, no re-parse) is
    short, so a message body is not converted to text only to be ruled out."""
    return len(node.text(deep=True).strip()) <= locales.MAX_SHOWN_CHARS


def time_of(node: LexborNode) -> tuple[str, str] | None:
    """(date, time) if `node` shows a contact's time: the date box (two `<div>`s, a date
    then a time) or the one-line form. Parsed here only to know it is one."""
    kids = [c for c in children(node) if c.tag == "div"]
    if len(kids) >= 2:
        if _short(kids[0]) and _short(kids[1]):
            date_text, time_text = text_of(kids[0]), text_of(kids[1])
            try:
                locales.parse_date(date_text)
                locales.parse_time(time_text)
                return date_text, time_text
            except ValueError:
                pass
    if len(kids) > 1 or not _short(node):
        return None
    line = text_of(node)
    parts = locales.split_one_line(line) if "\n" not in line else None
    if parts is None:
        return None
    try:
        locales.parse_date(parts[0])
        locales.parse_time(parts[1])
    except ValueError:
        return None
    return parts


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


def _container(box: LexborNode) -> LexborNode:
    """The element whose children are the head, time and body: the contact itself, or
    a wrapper `<div>` holding everything."""
    container = box
    for _ in range(MAX_WRAPPERS):
        kids = [c for c in children(container) if c.tag not in ("kat-button", "button")]
        if len(kids) == 1 and kids[0].tag == "div" and kids[0].css_first(SENDER_LABEL):
            container = kids[0]
        else:
            break
    return container


def _body(container: LexborNode) -> LexborNode | None:
    """The last child `<div>` that is neither the head, a time nor links only. A body of
    links only is taken when there is no other, and so is one that reads as a time (a
    message saying just `March 6, 2026 at 4:35 PM PST`)."""
    fallback = timeish = None
    for child in reversed(children(container)):
        if child.tag != "div" or child.css_first(HEAD_IDS):
            continue
        if _is_attachment_only(child):  # links under the body, or a body of links only
            fallback = fallback or child
        elif time_of(child):
            timeish = timeish or child
        else:
            return child
    return fallback or timeish


def _time(container: LexborNode, body: LexborNode) -> tuple[str, str] | None:
    """The first time shown outside the body, in page order."""
    for child in children(container):
        if child.mem_id == body.mem_id:
            continue
        candidates = child.css(_TIME_TAGS)  # the child first, when it is one of them
        found = next((t for t in map(time_of, candidates[:MAX_TIME_CANDIDATES]) if t), None)
        if found:
            return found
    return None


def _sender(box: LexborNode, where: str, case_id) -> str:
    label_el = box.css_first(SENDER_LABEL)
    if label_el is None:
        raise LayoutError(SENDER_LABEL, case_id=case_id, where=where)
    label = " ".join(label_el.text(deep=True).split())
    meaning = locales.ui_meaning(label)
    if meaning not in ("amazon", "you"):
        raise LayoutError('sender label "Amazon", "You" or "Sie"', case_id=case_id,
                          where=where, found=repr(label))
    return "amazon" if meaning == "amazon" else "seller"


def _channel(container: LexborNode, body: LexborNode, where: str, case_id) -> str:
    """The channel label outside the body (none: an e-mail)."""
    for child in children(container):
        if child.mem_id == body.mem_id:
            continue
        label = child.css_first(CHANNEL)
        if label is not None:
            try:
                return locales.channel_value(" ".join(label.text(deep=True).split()))
            except LayoutError as exc:
                raise LayoutError(exc.expected, case_id=case_id, where=where,
                                  found=exc.found) from None
    return "email"


def parse_contact(box: LexborNode, index: int, *, case_id, timezone, locale):
    """One contact -> (ParsedMessage, the calendar date it shows)."""
    where = f"<{box.tag}> #{index}"
    container = _container(box)
    sender = _sender(box, where, case_id)
    receiver_el = box.css_first(RECEIVER)
    address = " ".join(receiver_el.text(deep=True).split()) if receiver_el else ""
    body = _body(container)
    if body is None:
        raise LayoutError("the message body (last child <div>)", case_id=case_id, where=where)
    shown = _time(container, body)
    if shown is None:
        raise LayoutError("the time (a date box <div>date</div><div>time zone</div>, or "
                          "one line)", case_id=case_id, where=where)
    try:
        moment = locales.parse_datetime(shown[0], shown[1], timezone_hint=timezone,
                                        locale=locale)
    except TimeZoneError as exc:
        raise type(exc)(f"case {case_id}, {where}: {exc}") from None
    channel = _channel(container, body, where, case_id)
    # A link without a file name names no file (a page drawing an odd value): not one.
    attachments = [a for a in map(_attachment, box.css(ATTACHMENT)) if a["name"]]
    for node in body.css(f"{ATTACHMENT}, kat-button"):
        node.decompose()
    buttons = buttons_of(box)
    return make_message(
        contact_id=None,
        sender=sender,
        sender_address=address if "@" in address else None,
        sent_at=locales.iso_utc(moment),
        html=body.inner_html or "",
        truncated="see_more" in buttons and "see_less" not in buttons,
        attachments=attachments,
        channel=channel,
    ), locales.parse_date(shown[0], locale)
