"""A test-only writer of conforming portals: the four answers ``caselog doctor`` reads
(SearchForCases, ViewCase, the case page, the lobby), written here from PORTAL.md alone,
varying everything the contract leaves open. It shares no code with ``fixtures/`` (the
bundled portal) nor with the parsers: dates, times and zones come from Python's own
zoneinfo and the tables of PORTAL.md section 5 written out below.

What varies (``Variant``): the layout of each part (kat-box or kat-expander contacts,
a date box or one-line times or both, lobby columns a or b in any order), the locale
(en_US, en_GB, de_DE), the portal's zone and how it is shown (abbreviation, summer time
too, or offset),
wrapper elements around every part, the order of a contact's head, extra attributes,
hashed class names, whitespace, labels given as Katal ``label`` attributes, summary
lines as ``<dt>/<dd>``, truncated messages and "Show older messages", JSON key order,
a lobby that shows only its own date window,
version 3's extra fields, ``caseTags: null``, no ``canReopenCase``, contact ids such as
``ekko:us-east-1:...``, a seller address starting with "amazon", decimals in epoch
times, and more than 1,000 results.
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

STATUS = {
    "en": {"PendingAmazonAction": "Work in progress", "PendingMerchantAction":
           "Needs your attention", "Answered": "Answered", "Reopened": "Reopened",
           "Resolved": "Resolved", "Closed": "Closed", "Transferred": "Transferred"},
    "de": {"PendingAmazonAction": "In Bearbeitung", "PendingMerchantAction":
           "Ihre Aktion ist erforderlich", "Answered": "Beantwortet",
           "Reopened": "Erneut geöffnet", "Resolved": "Gelöst", "Closed": "Geschlossen",
           "Transferred": "Übertragen"},
}
WORDS = {
    "en": {"id": "ID:", "status": "Status:", "created": "Created:", "category": "Category:",
           "you": "You", "reply": "Reply", "reopen": "Reopen case", "see_more": "See more",
           "older": "Show older messages", "no_reply": "No reply", "chat": "Chat",
           "phone": "Phone call", "cases": "Cases {a} to {b} of {n}", "log": "Case Log",
           "notice": "Answered cases cannot be reopened after 5 days with no activity",
           "case_id": "Case ID", "subject_a": "Subject", "subject_b": "Short Description",
           "creation": "Creation Date", "last_reply": "Last Amazon Reply",
           "email": "Primary Email", "view": "View"},
    "de": {"id": "ID:", "status": "Status:", "created": "Erstellt:", "category": "Kategorie:",
           "you": "Sie", "reply": "Antworten", "reopen": "Fall erneut öffnen",
           "see_more": "Mehr anzeigen", "older": "Ältere Nachrichten anzeigen",
           "no_reply": "Keine Antwort", "chat": "Chat", "phone": "Telefonat",
           "cases": "Fälle {a} bis {b} von {n}", "log": "Fallprotokoll",
           "notice": "Beantwortete Fälle können nach 5 Tagen ohne Aktivität nicht erneut "
                     "geöffnet werden",
           "case_id": "Fall-ID", "subject_a": "Betreff", "subject_b": "Kurzbeschreibung",
           "creation": "Erstellungsdatum", "last_reply": "Letzte Antwort von Amazon",
           "email": "Primäre E-Mail", "view": "Anzeigen"},
}
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]
MONTHS_DE = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
             "September", "Oktober", "November", "Dezember"]
GERMAN_ZONES = {"CET": "MEZ", "CEST": "MESZ", "EET": "OEZ", "EEST": "OESZ", "WET": "WEZ",
                "WEST": "WESZ"}
TRUNCATE_AT = 600
PAGE_SIZE = 10
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC).timestamp()
SUMMER = datetime(2026, 7, 15, 23, 30, tzinfo=UTC).timestamp()  # PDT, BST, MESZ


@dataclass(frozen=True)
class Variant:
    layout: str = "a"            # a: kat-box, b: kat-expander (and the lobby's columns)
    locale: str = "en_US"
    zone: str = "America/Los_Angeles"
    zone_style: str = "abbr"     # abbr | offset
    times: str = "layout"        # layout (a: date box, b: one line) | box | line | mixed
    seed: int = 1
    wrappers: int = 0            # extra wrapper elements around each part
    shuffle: bool = False        # head order, lobby column order, JSON key order
    attrs: bool = False          # extra attributes everywhere
    spaces: bool = False         # newlines and indentation between and inside elements
    kat_labels: bool = False     # sender and channel labels as <kat-badge label=...>
    dl_summary: bool = False     # the summary as <dl><dt>Status:</dt><dd>...</dd>
    v3: bool = False             # version 3's extra JSON fields and forms
    contacts: int = 6
    over_cap: bool = False       # totalNumberOfResults past 1,000
    status: str = "Answered"
    now: float = NOW
    lobby_days: int | None = None  # the lobby's own date window (the real default: 30)
    name: str = ""

    def __str__(self):
        return self.name or f"{self.layout}-{self.locale}-{self.seed}"


@dataclass
class Answers:
    """The four captures, as documents and text (drifts edit them), then bytes."""
    search: dict
    view: dict
    page: str
    lobby: str
    case_id: str
    notes: dict = field(default_factory=dict)

    def raws(self) -> dict[str, bytes]:
        return {"search": json.dumps(self.search).encode(),
                "viewcase": json.dumps(self.view).encode(),
                "case_page": self.page.encode(), "lobby": self.lobby.encode()}


class Writer:
    def __init__(self, v: Variant):
        self.v = v
        self.rng = random.Random(v.seed)
        self.lang = "de" if v.locale == "de_DE" else "en"
        self.words = WORDS[self.lang]
        self.tz = ZoneInfo(v.zone)

    # -- small pieces ----------------------------------------------------------------

    def cls(self) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return "m" + "".join(self.rng.choice(alphabet) for _ in range(19))

    def attrs(self, also: str = "") -> str:
        out = f' class="{self.cls()}{also}"'
        if self.v.attrs:
            out += (f' data-v-{self.rng.randrange(10**6):06x}="" aria-hidden="false"'
                    f' id="x{self.rng.randrange(10**9)}" data-ref="{self.cls()}"')
        return out

    def ws(self, depth: int = 1) -> str:
        return "\n" + "  " * depth if self.v.spaces else ""

    def el(self, tag: str, inner: str, extra: str = "") -> str:
        return f"<{tag}{self.attrs()}{extra}>{self.ws(2)}{inner}{self.ws(1)}</{tag}>"

    def wrap(self, inner: str, tag: str = "div") -> str:
        for _ in range(self.v.wrappers):
            inner = self.el(tag, inner)
        return inner

    def text(self, words: str) -> str:
        return f"  {html.escape(words)}\n " if self.v.spaces else html.escape(words)

    # -- dates and times (PORTAL.md section 5) ---------------------------------------

    def local(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, tz=UTC).astimezone(self.tz)

    def zone_name(self, d: datetime) -> str:
        if self.v.zone_style == "offset":
            minutes = int(d.utcoffset().total_seconds() // 60)
            hours, mins = divmod(abs(minutes), 60)
            return f"GMT{'-' if minutes < 0 else '+'}{hours}" + (f":{mins:02d}" if mins else "")
        name = d.tzname()
        return GERMAN_ZONES.get(name, name) if self.lang == "de" else name

    def date(self, epoch: float) -> str:
        d = self.local(epoch)
        if self.v.locale == "en_US":
            return f"{MONTHS_EN[d.month - 1][:3]} {d.day:02d}, {d.year}"
        if self.v.locale == "en_GB":
            return f"{d.day} {MONTHS_EN[d.month - 1][:3]} {d.year}"
        return f"{d.day:02d}.{d.month:02d}.{d.year}"

    def clock(self, epoch: float) -> str:
        d = self.local(epoch)
        if self.v.locale == "en_US":
            return f"{(d.hour % 12) or 12}:{d.minute:02d} {'PM' if d.hour >= 12 else 'AM'} " \
                   f"{self.zone_name(d)}"
        return f"{d.hour:02d}:{d.minute:02d} {self.zone_name(d)}"

    def one_line(self, epoch: float) -> str:
        d = self.local(epoch)
        zone = self.zone_name(d)
        if self.v.locale == "en_US":
            return (f"{MONTHS_EN[d.month - 1]} {d.day}, {d.year} at {(d.hour % 12) or 12:02d}:"
                    f"{d.minute:02d}:{d.second:02d} {'PM' if d.hour >= 12 else 'AM'} {zone}")
        if self.v.locale == "en_GB":
            return (f"{d.day} {MONTHS_EN[d.month - 1]} {d.year} at {d.hour:02d}:{d.minute:02d}:"
                    f"{d.second:02d} {zone}")
        return (f"{d.day}. {MONTHS_DE[d.month - 1]} {d.year} um {d.hour:02d}:{d.minute:02d}:"
                f"{d.second:02d} {zone}")

    def time_element(self, epoch: float, n: int) -> str:
        form = self.v.times
        if form == "layout":
            form = "box" if self.v.layout == "a" else "line"
        if form == "mixed":
            form = "box" if n % 2 else "line"
        if form == "box":
            return self.el("div", self.el("div", self.text(self.date(epoch))) + self.ws()
                           + self.el("div", self.text(self.clock(epoch))))
        return self.el("div", self.text(self.one_line(epoch)))

    # -- the data --------------------------------------------------------------------

    def cases(self) -> list[dict]:
        """Twelve cases, newest first; the first is the one the doctor opens."""
        out = []
        t = self.v.now - 86400 * 6  # before the first case's whole thread
        for i in range(12):
            length = self.rng.choice((8, 11, 11, 14))
            case_id = str(self.rng.randrange(10 ** (length - 1), 10 ** length))
            status = self.v.status if i == 0 else self.rng.choice(list(STATUS["en"]))
            replied = None if i % 4 == 3 else t + 7200
            out.append({"caseId": case_id, "status": status,
                        "shortDescription": f"Listing question number {i} about a pallet",
                        "creationDate": t + (0.731 if self.v.v3 else 0),
                        "lastAmazonReplyDate": replied})
            t -= 86400 * 1.7 + self.rng.randrange(7200)
        return out

    def contacts(self, case_id: str, created: float) -> list[dict]:
        """The thread, newest first: e-mails, a chat, a call, an attachment, a long one."""
        out = []
        t = self.v.now - 600.25
        address = "amazon.seller@example.com" if self.v.v3 else "owner@example.com"
        for n in range(self.v.contacts):
            kind = ("PHONE" if n == 1 else "CHAT" if n == 3 else "EMAIL")
            outbound = kind == "PHONE" or (kind == "EMAIL" and n % 2 == 0)
            body = (f"Hello,<br>this is message {n}.<p>Order &amp; shipment details</p>"
                    if kind == "EMAIL" else
                    "10:01 UTC Sam: Hello<br>10:02 UTC Support: How can I help?"
                    if kind == "CHAT" else "Call notes: the seller asked about the listing.")
            if n == 2:
                body = "A long account of the issue. " * 30
            contact_id = (f"ekko:us-east-1:{self.rng.randrange(10**12)}" if self.v.v3
                          else f"{self.rng.randrange(10**10)}")
            item = {"contactId": contact_id, "channelType": kind, "outbound": outbound,
                    "sender": "Amazon" if outbound else address,
                    "timestamp": t, "message": body, "messageTruncated": False,
                    "attachments": ([{"attachmentId": f"a{n}x{self.rng.randrange(10**6)}",
                                      "fileName": f"invoice-{n}.pdf", "fileSize": 20480,
                                      "contentType": "application/pdf"}]
                                    if n == 4 else None)}
            if self.v.v3:
                item.update(expired=False, hmdContact=None, hmdMetaData=None, messageList=[],
                            parentContact=None)
            out.append(item)
            t -= 3600 * 9 + self.rng.randrange(3600) + 0.5
        out[-1]["timestamp"] = created + 30
        return out

    def order(self, doc: dict) -> dict:
        if not self.v.shuffle:
            return doc
        keys = list(doc)
        self.rng.shuffle(keys)
        return {k: doc[k] for k in keys}

    # -- the answers -----------------------------------------------------------------

    def build(self) -> Answers:
        rows = self.cases()
        total = 1534 if self.v.over_cap else len(rows)
        search = {"caseSearchResultList": [self.order(r) for r in rows],
                  "totalNumberOfResults": total}
        first = rows[0]
        contacts = self.contacts(first["caseId"], first["creationDate"])
        tags = None if self.v.v3 else ["Listings", "Seller fulfilled orders"]
        meta = {"caseTitle": first["shortDescription"], "caseStatus": first["status"],
                "creationDate": first["creationDate"], "primaryEmail": "owner@example.com",
                "ccList": [], "caseTags": tags, "canEditCase": True,
                "canReopenCase": first["status"] == "Answered", "escalated": False}
        if self.v.v3:
            del meta["canReopenCase"]
            meta.update(caseSupportType="Expert", crmType="CASE", escalateMotivationId=None,
                        transfer=False)
        view = {"viewCaseMetaData": self.order(meta),
                "contactList": [self.order(c) for c in contacts],
                "totalNumberOfContacts": len(contacts), "currentToken": None}
        if self.v.v3:
            view.update(appointmentMetadata=None, liveConversation={"state": "none"})
        view = self.order(view)
        shown = rows
        if self.v.lobby_days:
            shown = [r for r in rows
                     if r["creationDate"] >= self.v.now - 86400 * self.v.lobby_days]
        return Answers(search, view, self.case_page(first, meta, contacts),
                       self.lobby_page(shown, len(shown) if self.v.lobby_days else total),
                       first["caseId"])

    def page(self, title: str, inner: str) -> str:
        lang = self.v.locale.replace("_", "-")
        return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
                f"<title>{html.escape(title)}</title></head><body{self.attrs()}>"
                f"<header{self.attrs()}><a href=\"/cu/case-lobby\">seller central</a></header>"
                f"<main{self.attrs()}>{self.wrap(inner)}</main></body></html>")

    def case_page(self, case: dict, meta: dict, contacts: list[dict]) -> str:
        w = self.words
        status = STATUS[self.lang][case["status"]]
        lines = [("id", case["caseId"]), ("status", status),
                 ("created", self.date(case["creationDate"]))]
        if meta["caseTags"]:
            lines.append(("category", meta["caseTags"][0]))
        if self.v.shuffle:
            self.rng.shuffle(lines)
        if self.v.dl_summary:
            body = self.el("dl", "".join(self.el("dt", self.text(w[k])) + self.ws()
                                         + self.el("dd", self.text(value))
                                         for k, value in lines))
        else:
            body = "".join(self.wrap(self.el("div", self.text(f"{w[k]} {value}")), "span")
                           + self.ws() for k, value in lines)
        summary = self.el("section", self.el("h1", self.text(case["shortDescription"]))
                          + self.ws() + body, ' data-testid="case-summary"')
        buttons = f'<kat-button{self.attrs()} label="{w["reply"]}"></kat-button>'
        if case["status"] == "Answered":
            buttons += f'<kat-button{self.attrs()} label="{w["reopen"]}"></kat-button>'
        notice = (self.el("p", self.text(w["notice"]), ' data-testid="reopen-notice"')
                  if case["status"] == "Answered" else "")
        shown = contacts[:PAGE_SIZE]
        thread = self.ws().join(self.contact(c, case["caseId"], n)
                                for n, c in enumerate(shown))
        older = (f'<kat-button{self.attrs()} label="{w["older"]}"></kat-button>'
                 if len(contacts) > PAGE_SIZE else "")
        view = (f'<div{self.attrs(" view-case")} id="view-case">' + self.ws()
                + self.wrap(summary) + self.el("div", buttons) + notice
                + self.el("div", self.wrap(thread), ' aria-label="Messages"') + older
                + '<textarea placeholder="Tell us how we did (feedback)"></textarea></div>')
        return self.page(case["shortDescription"], view)

    def label(self, testid: str, words: str) -> str:
        if self.v.kat_labels:
            return f'<kat-badge{self.attrs()} data-testid="{testid}" label="{words}"></kat-badge>'
        return self.wrap(self.el("div", self.text(words), f' data-testid="{testid}"'), "span")

    def contact(self, c: dict, case_id: str, n: int) -> str:
        w = self.words
        head = [self.label("sender-label", "Amazon" if c["outbound"] else w["you"]),
                self.el("div", self.text(c["sender"]), ' data-testid="reciever"')]
        if c["channelType"] != "EMAIL":
            head.append(self.label("channel", w["chat" if c["channelType"] == "CHAT"
                                                 else "phone"]))
        time = self.time_element(c["timestamp"], n)
        if self.v.shuffle:
            self.rng.shuffle(head)
            head.insert(self.rng.randrange(len(head) + 1), time)
        else:
            head.append(time)
        message = c["message"]
        more = ""
        if len(message) > TRUNCATE_AT:
            message = html.escape(html.unescape(message)[:TRUNCATE_AT]) + "…"
            more = f'<kat-button{self.attrs()} label="{w["see_more"]}"></kat-button>'
        parts = self.wrap(self.el("div", self.ws().join(head))) + self.ws() + more \
            + self.el("div", message)
        for a in c["attachments"] or []:
            href = (f"/cu/case-dashboard/attachment?caseID={case_id}"
                    f"&amp;attachmentId={a['attachmentId']}")
            parts += self.el("div", f'<a data-testid="attachment" href="{href}">'
                                    f"{html.escape(a['fileName'])}</a>")
        if self.v.wrappers:
            parts = self.el("div", parts)  # one wrapper holding everything
        if self.v.layout == "a":
            return f"<kat-box{self.attrs()}>{parts}</kat-box>"
        return (f'<kat-expander{self.attrs(" contact-expander")} expanded="" '
                f'label="Show or hide this message">{parts}</kat-expander>')

    def lobby_page(self, rows: list[dict], total: int) -> str:
        w = self.words
        link = "/cu/case-dashboard/view-case?caseID={}&ref=lobby"
        if self.v.layout == "a":
            columns = [(w["case_id"], lambda r: f'<a href="{link.format(r["caseId"])}">'
                                                f'{r["caseId"]}</a>'),
                       ("Status", lambda r: self.text(STATUS[self.lang][r["status"]])),
                       (w["subject_a"], lambda r: self.text(r["shortDescription"])),
                       (w["creation"], lambda r: self.text(self.date(r["creationDate"]))),
                       (w["last_reply"], lambda r: self.text(
                           self.date(r["lastAmazonReplyDate"]) if r["lastAmazonReplyDate"]
                           else w["no_reply"]))]
        else:
            columns = [(w["creation"], lambda r: self.text(self.date(r["creationDate"]))),
                       (w["case_id"], lambda r: self.text(r["caseId"])),
                       ("Status", lambda r: self.text(STATUS[self.lang][r["status"]])),
                       (w["email"], lambda r: self.text("owner@example.com")),
                       (w["subject_b"], lambda r: self.text(r["shortDescription"])),
                       ("", lambda r: f'<a href="{link.format(r["caseId"])}">{w["view"]}</a>')]
        if self.v.shuffle:
            self.rng.shuffle(columns)
        head = "".join(self.el("th", self.text(name)) for name, _ in columns)
        body = "".join(f"<tbody{self.attrs()}><tr{self.attrs()}>"
                       + "".join(self.el("td", cell(r)) for _, cell in columns)
                       + "</tr></tbody>" for r in rows)
        count = f"{total:,}".replace(",", "." if self.lang == "de" else ",")
        line = w["cases"].format(a=1, b=len(rows), n=count)
        inner = (self.el("h1", w["log"]) + self.wrap(self.el("div", self.text(line)))
                 + self.wrap(f"<table{self.attrs()}><thead><tr>{head}</tr></thead>{body}"
                             "</table>"))
        return self.page(w["log"], inner)


def answers(v: Variant) -> Answers:
    return Writer(v).build()


def variants() -> list[Variant]:
    """Every layout and locale, each with a different mix of the freedoms."""
    base = [Variant(layout=lay, locale=loc, seed=i + 1)
            for i, (lay, loc) in enumerate((l_, o) for l_ in "ab"
                                           for o in ("en_US", "en_GB", "de_DE"))]
    zones = {"en_US": "America/Los_Angeles", "en_GB": "Europe/London",
             "de_DE": "Europe/Berlin"}
    out = []
    for v in base:
        z = zones[v.locale]
        out += [
            replace(v, zone=z, name=f"{v.layout}-{v.locale}-plain"),
            replace(v, zone=z, wrappers=2, shuffle=True, attrs=True, spaces=True,
                    name=f"{v.layout}-{v.locale}-wrapped-shuffled"),
            replace(v, zone="Asia/Karachi", zone_style="offset", times="mixed",
                    kat_labels=True, dl_summary=True, seed=v.seed + 10,
                    name=f"{v.layout}-{v.locale}-offset-mixed-times-kat-labels"),
            replace(v, zone=z, now=SUMMER, times="mixed", seed=v.seed + 30,
                    name=f"{v.layout}-{v.locale}-summer-time"),
            replace(v, zone="America/St_Johns", zone_style="offset",
                    times="line" if v.layout == "a" else "box", v3=True, contacts=13,
                    over_cap=True, status="PendingAmazonAction", seed=v.seed + 20,
                    name=f"{v.layout}-{v.locale}-v3-older-messages-over-cap"),
        ]
    out += [
        Variant(layout="a", locale="en_US", zone="Asia/Tokyo", wrappers=1, spaces=True,
                status="Closed", name="a-en_US-tokyo-closed"),
        Variant(layout="b", locale="de_DE", zone="Europe/Berlin", times="mixed", v3=True,
                shuffle=True, seed=42, name="b-de_DE-v3-shuffled-mixed"),
        Variant(layout="a", locale="en_GB", zone="Europe/London", over_cap=True,
                lobby_days=14, name="a-en_GB-lobby-of-the-last-14-days"),
        Variant(layout="b", locale="en_US", zone="America/New_York", v3=True,
                lobby_days=30, seed=7, name="b-en_US-lobby-of-the-last-30-days"),
    ]
    return out
