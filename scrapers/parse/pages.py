"""Pure parsers for the portal's rendered pages (PORTAL.md sections 2-3), live DOM
snapshots or a browser's "Save page as": the case page and the lobby table.

Elements are found by tag, `data-testid`, `kat-*` custom element, attribute or label,
never by class, with one exception the contract names: the `view-case` token of the
case page's container. Labels are read in en_US, en_GB and de_DE at once, so the
locale never has to be known in advance. Structure the contract promises but the page
lacks raises `LayoutError` saying which case and what was expected; the robot check,
the sign-in form and the 404 page raise their own exceptions (scrapers/errors.py).

Limits of a rendered page, compared with the JSON: it shows minutes, not seconds
(`sent_at` ends in `:00`); no contact ids (`message_key` is `"h:"` + sha1, see
`records.html_message_key`); no attachment sizes or content types (None); dates without a
time (`Created:`, the lobby's two dates) become `YYYY-MM-DDT00:00:00Z` of the date as
shown in the portal's zone, except `created_at` on a case page that shows the whole
thread: there the oldest message's time is used when its shown date is the `Created:`
date, as a case starts with its first message. `total_messages` is None while a
"Show older messages" button says the thread goes on.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scrapers import markers
from scrapers.errors import LayoutError, SessionExpired, TimeZoneError
from scrapers.parse import locales
from scrapers.parse.records import message as make_message
from scrapers.parse.text import decode_html, html_to_text

__all__ = ["parse_case_page", "parse_lobby", "check_special_page", "detect_locale"]

SENDER_LABEL = '[data-testid="sender-label"]'
RECEIVER = '[data-testid="reciever"], [data-testid="receiver"]'
ATTACHMENT = 'a[data-testid="attachment"]'
SUMMARY = 'section[data-testid="case-summary"]'
VIEW_CASE = '<div class="view-case">'

_RE_CASE_ID_IN_URL = re.compile(r"caseI[Dd]=(\d{6,})")
_RE_SIZE_SUFFIX = re.compile(r"\s*\(\s*\d[\d.,\s]*(?:bytes|Bytes|B|KB|kB|MB|GB)\s*\)\s*$")
_RE_TOTAL = re.compile(
    r"(?:Cases|Fälle)\s+[\d.,\u00a0]+\s+(?:to|bis)\s+[\d.,\u00a0]+\s+(?:of|von)\s+([\d.,\u00a0]+)")


def _tree(html: str | bytes) -> LexborHTMLParser:
    html = decode_html(html)
    tree = LexborHTMLParser(html)
    _show_labels(tree)
    return tree


def _show_labels(tree: LexborHTMLParser) -> None:
    """Katal-style elements may show their words from an attribute through a shadow
    root (`<kat-badge label="Closed">`), which a DOM snapshot does not contain: give
    such elements their label as text so labels read the same either way. Buttons
    keep theirs as an attribute; they are actions, not content."""
    for node in tree.css("[label], [text]"):
        tag = node.tag or ""
        if not tag.startswith("kat-") or tag in ("kat-button", "kat-box"):
            continue
        if node.text(deep=True).strip():
            continue
        shown = node.attributes.get("label") or node.attributes.get("text")
        if shown:
            node.insert_child(shown)


def _text(node: LexborNode | None) -> str:
    return html_to_text(node.inner_html) if node is not None else ""


def _children(node: LexborNode) -> list[LexborNode]:
    return [c for c in node.iter() if c.is_element_node]


def _has_view_case_token(node: LexborNode) -> bool:
    return "view-case" in (node.attributes.get("class") or "").split()


def check_special_page(html: str | bytes, tree: LexborHTMLParser | None = None) -> None:
    """Raise the situation (SessionExpired, RobotCheck, Outage, CaseNotFound) when the page
    is the portal's page for one (``scrapers.markers`` knows them)."""
    situation = markers.page_situation(html)
    if situation is None and tree is not None and tree.css_first(markers.SIGNIN_SELECTOR):
        situation = SessionExpired
    if situation is not None:
        raise situation(f"the page is the portal's {situation.__name__} page")


def _case_id_hint(html: str, tree: LexborHTMLParser) -> str | None:
    """The case id from wherever a saved or rendered page carries it outside the summary:
    the `saved from url=` comment, a canonical link, attachment links."""
    m = _RE_CASE_ID_IN_URL.search(html)
    return m[1] if m else None


def _labelled_values(text: str) -> dict[str, str]:
    """`ID:`/`Status:`/`Created:`/`Category:` lines (any locale) -> {meaning: value}.
    A label alone on its line takes the next line as its value (`<dt>`/`<dd>` markup)."""
    labels = {
        label.casefold(): key
        for key in ("id", "status", "created", "category")
        for label in locales.UI[key]
    }
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        head, sep, rest = line.partition(":")
        if not sep:
            continue
        key = labels.get(head.strip().casefold() + ":")
        if key is None or key in found:
            continue
        value = rest.strip()
        if not value and i + 1 < len(lines):
            nxt = lines[i + 1]
            if labels.get(nxt.partition(":")[0].strip().casefold() + ":") is None:
                value = nxt
        found[key] = value
    return found


def detect_locale(labels_text: str, date_text: str | None) -> str:
    """de_DE if German labels show, else en_GB/en_US from how the date is written."""
    if any(label in labels_text for label in locales.GERMAN_ONLY_LABELS):
        return "de_DE"
    shown = locales.date_locale(date_text) if date_text else None
    return shown or "en_US"


def _buttons(node: LexborNode) -> set[str]:
    """UI meanings (`see_more`, `reply`, ...) of the kat-buttons under `node`."""
    found = set()
    for button in node.css("kat-button, button"):
        label = button.attributes.get("label") or button.text(deep=True)
        meaning = locales.ui_meaning(label)
        if meaning:
            found.add(meaning)
    return found


def _date_pair(node: LexborNode) -> tuple[str, str] | None:
    """(date, time) if `node` is the date box: two `<div>`s, a date then a time."""
    kids = [c for c in _children(node) if c.tag == "div"]
    if len(kids) < 2:
        return None
    date_text, time_text = _text(kids[0]), _text(kids[1])
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
    query = parse_qs(urlsplit(a.attributes.get("href") or "").query)
    ids = query.get("attachmentId") or query.get("attachmentID")
    name = a.attributes.get("download") or _text(a)
    name = _RE_SIZE_SUFFIX.sub("", name).strip()
    return {"attachment_id": ids[0] if ids else None, "name": name, "size": None,
            "content_type": a.attributes.get("type") or None}


def _parse_box(box: LexborNode, index: int, *, case_id, timezone, locale):
    where = f"<kat-box> #{index}"
    container = box
    while True:  # a wrapper div holding everything: look inside it
        kids = [c for c in _children(container) if c.tag not in ("kat-button", "button")]
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
    for child in reversed(_children(container)):
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
    for child in _children(container):
        if child.mem_id == body.mem_id:
            continue
        candidates = [child] + child.css("div") if child.tag == "div" else child.css("div")
        pair = next((p for p in map(_date_pair, candidates) if p), None)
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

    attachments = [_attachment(a) for a in box.css(ATTACHMENT)]
    for node in body.css(f"{ATTACHMENT}, kat-button"):
        node.decompose()
    html = body.inner_html or ""
    buttons = _buttons(box)
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
    html = decode_html(html)
    tree = _tree(html)
    view = next((n for n in tree.css("div[class]") if _has_view_case_token(n)), None)
    if view is None:
        check_special_page(html, tree)
        raise LayoutError(VIEW_CASE, case_id=case_id or _case_id_hint(html, tree))
    known_id = case_id or _case_id_hint(html, tree)

    summary = view.css_first(SUMMARY)
    if summary is None:
        raise LayoutError(SUMMARY, case_id=known_id, where=VIEW_CASE)
    h1 = summary.css_first("h1")
    if h1 is None:
        raise LayoutError("<h1>", case_id=known_id, where=SUMMARY)
    subject = _text(h1)
    rest = summary.clone()
    for node in rest.css("h1"):
        node.decompose()
    labels_text = _text(rest)
    values = _labelled_values(labels_text)
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

    boxes = view.css("kat-box")
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

    buttons = _buttons(view)
    for box in boxes:  # per-message buttons are not case actions
        buttons -= _buttons(box) - {"reply", "reopen"}
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


def parse_lobby(html: str | bytes, *, locale: str | None = None
                ) -> tuple[list[dict], int | None]:
    """The rendered lobby -> (ListedCase records in shown order, total or None).

    Dates are the calendar dates shown, in the portal's zone, as `YYYY-MM-DDT00:00:00Z`
    (the lobby shows no time); `No reply` / `Keine Antwort` -> None.
    """
    html = decode_html(html)
    tree = _tree(html)
    body_text = _text(tree.body)
    m = _RE_TOTAL.search(body_text)
    total = int(re.sub(r"\D", "", m[1])) if m else None
    rows = [tr for tr in tree.css("table tr") if len(tr.css("td")) >= 5]
    if not rows and total is None:
        check_special_page(html, tree)
        raise LayoutError("<table> rows of five <td> or a 'Cases 1 to 10 of N' line",
                          where="the lobby")
    cases = []
    for n, tr in enumerate(rows, start=1):
        tds = [c for c in _children(tr) if c.tag == "td"]
        where = f"lobby row #{n}"
        link = tds[0].css_first('a[href*="view-case"]')
        found = _RE_CASE_ID_IN_URL.search(link.attributes.get("href") or "") if link else None
        if found is None:
            raise LayoutError('<a href="...view-case?caseID=...">', where=where)
        case_id = found[1]
        label = _text(tds[1])
        try:
            status = locales.status_value(label)
        except ValueError:
            raise LayoutError("a known status label", case_id=case_id, where=where,
                              found=repr(label)) from None
        try:
            created = locales.iso_day(locales.parse_date(_text(tds[3]), locale))
            reply_text = _text(tds[4])
            last_reply = (None if not reply_text or locales.ui_meaning(reply_text) == "no_reply"
                          else locales.iso_day(locales.parse_date(reply_text, locale)))
        except ValueError as exc:
            raise LayoutError("a date in the 4th and 5th <td>", case_id=case_id,
                              where=where, found=str(exc)) from None
        cases.append({"case_id": case_id, "status": status, "subject": _text(tds[2]),
                      "created_at": created, "last_amazon_reply_at": last_reply})
    return cases, total
