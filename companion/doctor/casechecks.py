"""The checks of the rendered case page (PORTAL.md section 3), each a small named function
of the captured DOM; where the page must agree with ViewCase of the same case (as many
contacts, a channel label per chat or call, a reopen notice on an Answered case, an
attachment link per attachment), the JSON says what to expect.
"""

from __future__ import annotations

from collections import Counter

from companion.doctor import html
from companion.doctor.findings import NotShown, check, count, number
from companion.doctor.jsonchecks import RE_CASE_ID, contacts, meta, parsed_by, why
from companion.doctor.privacy import zone_shown
from scrapers.errors import AmbiguousTimeZone
from scrapers.parse import locales
from scrapers.parse.dom import detect_locale, labelled_values, text_of

SUMMARY = 'section[data-testid="case-summary"]'
ATTACHMENT = 'a[data-testid="attachment"]'
REOPEN_NOTICE = '[data-testid="reopen-notice"]'


def view(c):
    """The page's view-case container, or NotShown (case_page.answer says it is gone)."""
    node = html.view_of(c.tree("case_page"))
    if node is None:
        raise NotShown('no <div class="view-case"> on the page')
    return node


def page_contacts(c) -> list:
    """The contacts, or NotShown (case_page.contacts says none were found)."""
    found = html.contacts_of(c.tree("case_page"))
    if not found:
        raise NotShown("no contact element on the page")
    return found


def summary_values(c) -> dict:
    """ID/Status/Created/Category values of the summary, any locale."""
    node = view(c).css_first(SUMMARY)
    if node is None:
        raise NotShown(f"no {SUMMARY}")
    return labelled_values(text_of(node))


def page_locale(c) -> str:
    """The locale the summary is in (labels, then how Created: is written)."""
    node = view(c).css_first(SUMMARY)
    text = text_of(node) if node is not None else ""
    return detect_locale(text, labelled_values(text).get("created"))


def whole_json(c) -> list | None:
    """ViewCase's contacts when that one page holds the whole thread, else None (the
    page then shows more than the JSON the doctor asked for)."""
    try:
        listed, top = contacts(c), c.json("viewcase")
    except NotShown:
        return None
    total = top.get("totalNumberOfContacts")
    whole = isinstance(total, int | float) and total <= len(listed)
    return [o for o in listed if isinstance(o, dict)] if whole else None


@check("case_page.answer", "case_page", 'HTTP 200, a page holding <div class="view-case">')
def case_answer(c):
    """The page rendered and holds the view-case container."""
    raw = c.answered("case_page")
    if raw is None:
        return "missing", f"no page ({why(c, 'case_page')})"
    present = html.view_of(c.tree("case_page")) is not None
    return ("ok" if present and raw.status == 200 else "missing" if not present else "differs",
            f"HTTP {raw.status}, view-case {'present' if present else 'absent'}")


@check("case_page.summary", "case_page",
       f"{SUMMARY} with an <h1> and the lines ID:, Status:, Created:, Category:")
def case_summary(c):
    """The summary block and its four labelled lines."""
    node = view(c).css_first(SUMMARY)
    if node is None:
        return "missing", "no case-summary"
    values = labelled_values(text_of(node))
    absent = [label for key, label in (("id", "ID:"), ("status", "Status:"),
                                       ("created", "Created:"), ("category", "Category:"))
              if key not in values]
    if node.css_first("h1") is None:
        absent.insert(0, "<h1>")
    return ("missing", "absent: " + ", ".join(absent)) if absent else ("ok", "all there")


@check("case_page.case_id", "case_page", "ID: 8 to 14 digits, the case asked for")
def case_id(c):
    """The id pattern, and the page is the case asked for (said without the id)."""
    shown = summary_values(c).get("id", "").strip()
    if not shown:
        return "missing", "no ID: value"
    if not RE_CASE_ID.fullmatch(shown):
        return "differs", f"{len(shown)} characters, not 8 to 14 digits"
    same = c.case_id is None or shown == c.case_id
    return ("ok" if same else "differs"), \
        f"{len(shown)} digits, {'the case asked for' if same else 'another case'}"


def label_locale(label: str) -> str | None:
    """Which locale a status label belongs to (en_US stands for en_GB too)."""
    for loc in ("en_US", "de_DE"):
        if label in locales.STATUS_LABELS[loc].values():
            return loc
    return None


def labels_found(c, labels: list[str], locale: str) -> tuple[str, str]:
    """Status labels as shown, each one of the seven of the page's own locale."""
    if not labels:
        raise NotShown("no status label on the page")
    own = "de_DE" if locale == "de_DE" else "en_US"
    seen = Counter()
    odd = 0
    for label in labels:
        words = " ".join(label.split())
        home = label_locale(words)
        seen[c.seen(words) + ("" if home in (own, None) else f" (a {home} label)")] += 1
        odd += home != own
    listing = ", ".join(f"{v} ({n})" for v, n in sorted(seen.items()))
    return ("differs" if odd else "ok"), f"{locale}: {listing}"


@check("case_page.status_label", "case_page",
       "Status: one of the seven labels of the page's locale, the same status as ViewCase")
def case_status_label(c):
    """The shown label is known in the page's locale and means ViewCase's
    status: a page and JSON that disagree would make the two parsers disagree."""
    label = summary_values(c).get("status", "")
    result, found = labels_found(c, [label] if label else [], page_locale(c))
    try:
        json_status = meta(c).get("caseStatus")
    except NotShown:
        return result, found
    try:
        same = locales.status_value(label) == json_status
    except ValueError:
        same = False
    return ("ok" if result == "ok" and same else "differs"), \
        found + ("" if same else "; not ViewCase's caseStatus")


@check("case_page.created", "case_page", "Created: a date in the page's locale")
def case_created(c):
    """The Created: date parses in the page's locale."""
    shown = summary_values(c).get("created", "")
    if not shown:
        raise NotShown("no Created: value")
    try:
        locales.parse_date(shown, page_locale(c))
    except ValueError:
        return "differs", f"a date caselog cannot read ({len(shown)} characters)"
    return "ok", "a date that parses"


def kind_of(contact) -> str:
    """Which of the contract's contact elements a contact is."""
    if contact.tag == "kat-box":
        return "kat-box"
    classes = (contact.attributes.get("class") or "").split()
    return "kat-expander.contact-expander" if "contact-expander" in classes \
        else "kat-expander (no contact-expander class)"


@check("case_page.contacts", "case_page",
       '<kat-box> (layout a) or <kat-expander class="contact-expander"> (layout b), '
       "one per contact of ViewCase")
def case_contacts(c):
    """One contact element per contact (kat-box, or kat-expander with its
    one stable class), as many as ViewCase counts: fewer means the driver or the page
    missed some."""
    found = html.contacts_of(c.tree("case_page")) if html.view_of(c.tree("case_page")) \
        else []
    if not found:
        return "missing", "no contact element"
    kinds = Counter(kind_of(n) for n in found)
    words = ", ".join(f"{n} {k}" for k, n in kinds.items())
    odd = any(k.endswith("class)") for k in kinds)
    try:
        total = c.json("viewcase").get("totalNumberOfContacts")
    except (NotShown, AttributeError):
        total = None
    if isinstance(total, int | float) and total != len(found):
        return "differs", f"{words}; ViewCase says {number(total)}"
    return ("differs" if odd else "ok"), words


@check("case_page.sender_labels", "case_page",
       '[data-testid="sender-label"] in each contact: Amazon or You (Sie)')
def case_sender_labels(c):
    """The sender label the parser takes the side from."""
    found = page_contacts(c)
    labels = [n.css_first(html.SENDER_LABEL) for n in found]
    absent = sum(1 for n in labels if n is None)
    words = Counter(c.seen(html.shown(n)) for n in labels if n is not None)
    odd = sum(n for w, n in words.items() if locales.ui_meaning(w) not in ("amazon", "you"))
    listing = ", ".join(f"{w} ({n})" for w, n in sorted(words.items()))
    if absent:
        return "missing", f"absent in {absent} of {count(len(found), 'contact')}"
    return ("differs" if odd else "ok"), listing


@check("case_page.receivers", "case_page", '[data-testid="reciever"] in each contact')
def case_receivers(c):
    """The receiver, in the real portal's spelling; the parser also reads
    `receiver`, but a fixed spelling is still a change worth reporting."""
    found = page_contacts(c)
    real = sum(1 for n in found if n.css_first(html.TESTID_RECEIVER) is not None)
    other = sum(1 for n in found if n.css_first(html.TESTID_RECEIVER) is None
                and n.css_first(html.OTHER_RECEIVER) is not None)
    if real == len(found):
        return "ok", f"in all {count(len(found), 'contact')}"
    if other:
        return "differs", f'spelt "receiver" in {other} of {len(found)} (caselog reads both)'
    return "missing", f"in {real} of {count(len(found), 'contact')}"


@check("case_page.channels", "case_page",
       '[data-testid="channel"] (Chat, Phone call / Telefonat) on each chat or call '
       "contact of ViewCase, on no e-mail")
def case_channels(c):
    """A channel label exactly on the chats and calls ViewCase names: a
    missing one would make a chat read as an e-mail."""
    found = page_contacts(c)
    labels = [n.css_first(html.CHANNEL) for n in found]
    shown = Counter(c.seen(html.shown(n)) for n in labels if n is not None)
    odd = [w for w in shown if w.casefold() not in locales.CHANNEL_LABELS]
    listing = ", ".join(f"{w} ({n})" for w, n in sorted(shown.items())) or "none"
    listed = whole_json(c)
    if listed is not None:
        wanted = sum(1 for o in listed if o.get("channelType") in ("CHAT", "PHONE"))
        if wanted != sum(shown.values()):
            result = "missing" if wanted > sum(shown.values()) else "differs"
            return result, f"{listing}; ViewCase has {count(wanted, 'chat or call')}"
        if not wanted:
            raise NotShown("the newest case has no chat or call")
    elif not shown:
        raise NotShown("no channel label on the page")
    return ("differs" if odd else "ok"), listing


def _read_time(node, timezone: str | None, locale: str) -> tuple[str, str, bool]:
    """(form, zone, ambiguous) of one shown time, parsed; ValueError when it does not."""
    first, second = html.time_parts(node)
    if second is None:
        parts = locales.split_one_line(first)
        if parts is None:
            raise ValueError("not a time")
        form, (first, second) = "one line", parts
    else:
        form = "date box"
    zone = locales.parse_time(second)[3]
    try:
        locales.parse_datetime(first, second, timezone_hint=timezone, locale=locale)
    except AmbiguousTimeZone:  # the contract allows it; caselog then needs --timezone
        return form, zone, True
    return form, zone, False


@check("case_page.times", "case_page",
       "every contact's time parses: a date box of two <div>s (layout a) or one line "
       "(layout b), with a zone")
def case_times(c):
    """Every shown time parses with ``scrapers.parse.locales`` (a time the
    parser cannot read fails the whole page)."""
    found = page_contacts(c)
    forms, zones, bad = Counter(), Counter(), 0
    locale = page_locale(c)
    for contact in found:
        node = html.time_of(contact)
        try:
            if node is None:
                raise ValueError("no time")
            form, zone, ambiguous = _read_time(node, c.timezone, locale)
        except ValueError:
            bad += 1
            continue
        forms[form] += 1
        zones[zone_shown(zone) + (" (ambiguous without --timezone)" if ambiguous else "")] += 1
    words = ", ".join(f"{n} {f}" for f, n in forms.items()) or "none read"
    zone_words = ", ".join(sorted(zones))
    if bad:
        return "differs", f"{bad} of {len(found)} do not parse; {words}"
    return "ok", f"all {len(found)} parse: {words}; zones {zone_words}"


@check("case_page.attachments", "case_page",
       '<a data-testid="attachment"> to /cu/case-dashboard/attachment?caseID=&attachmentId= '
       "for each attachment of ViewCase")
def case_attachments(c):
    """Attachment links the sync can download, one per attachment."""
    links = view(c).css(ATTACHMENT)
    good = sum(1 for a in links if "caseID=" in (a.attributes.get("href") or "")
               and "attachmentId=" in (a.attributes.get("href") or ""))
    listed = whole_json(c)
    wanted = None if listed is None else sum(
        len(o["attachments"]) for o in listed if isinstance(o.get("attachments"), list))
    if not links and not wanted:
        raise NotShown("the newest case has no attachment")
    words = f"{count(len(links), 'link')}, {good} with caseID and attachmentId"
    if wanted is not None and wanted != len(links):
        return ("missing" if wanted > len(links) else "differs"), \
            f"{words}; ViewCase has {count(wanted, 'attachment')}"
    return ("ok" if good == len(links) else "differs"), words


@check("case_page.reopen_notice", "case_page",
       '[data-testid="reopen-notice"] on an Answered case')
def case_reopen_notice(c):
    """The 5-day notice of an Answered case (v2), read into reopen_notice."""
    try:
        status = meta(c).get("caseStatus")
    except NotShown:
        status = locales.STATUS_LABELS["en_US"].get(summary_values(c).get("status", ""))
    notices = [n for n in view(c).css(REOPEN_NOTICE) if n.text(deep=True).strip()]
    if status != "Answered":
        raise NotShown("the newest case is not Answered" +
                       ("; a notice shows anyway" if notices else ""))
    return ("ok", "present") if notices else ("missing", "absent")


@check("case_page.actions", "case_page",
       '<kat-button label="Reply"> when canEditCase, label="Reopen case" when canReopenCase')
def case_actions(c):
    """The Reply and Reopen case buttons the page's can_edit / can_reopen
    come from, as ViewCase's flags say."""
    from scrapers.parse.dom import buttons_of

    m = meta(c)
    buttons = buttons_of(view(c))
    for contact in page_contacts(c):
        buttons -= buttons_of(contact) - {"reply", "reopen"}
    wrong = [f"{word} {'absent' if want else 'shown'}"
             for key, word, want in (("reply", "Reply", m.get("canEditCase")),
                                     ("reopen", "Reopen case", m.get("canReopenCase")))
             if isinstance(want, bool) and want != (key in buttons)]
    shown = sorted(b for b in buttons if b in ("reply", "reopen"))
    return ("differs", "; ".join(wrong)) if wrong else \
        ("ok", "buttons: " + (", ".join(shown) or "none"))


@check("case_page.parser", "case_page", "caselog's parser reads the page")
def case_parser(c):
    """caselog's case page parser reads the page."""
    from scrapers.parse.pages import parse_case_page

    kwargs = {"timezone": c.timezone} if c.timezone else {}
    return parsed_by(lambda: parse_case_page(
        c.raw("case_page").body, case_id=c.case_id, **kwargs))
