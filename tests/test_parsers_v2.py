"""The parsers read PORTAL.md version 2, from files: layout b pages (kat-expander, one-line
times with seconds), chat and phone contacts, Transferred, the reopen notice, both lobby
layouts found by header, case ids of 8 to 14 digits, zones as offsets. The pages and JSON
in tests/data are captures of the bundled portal (scripts/capture_v2_data.py) and its
ground truth (``truth_v2_*.json``) is the reference; the hand-made variants below stand
for other conforming portals."""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

import pytest

from scrapers.errors import LayoutError
from scrapers.parse import locales
from scrapers.parse.channels import chat_turns
from scrapers.parse.monsapi import (
    apply_full_messages,
    parse_contact_message,
    parse_search,
    parse_view_case,
)
from scrapers.parse.pages import parse_case_page, parse_lobby

DATA = Path(__file__).parent / "data"
LOCALES = ["en_US", "en_GB", "de_DE"]
ZONES = {"en_US": "America/Los_Angeles", "en_GB": "Europe/London", "de_DE": "Europe/Berlin",
         "gmt+5": "Asia/Karachi", "gmt-330": "America/St_Johns"}
NAMES = ["mixed", "transferred", "long"]


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def truth(tag: str) -> dict:
    return json.loads(read(f"truth_v2_{tag}.json"))


def truth_case(tag: str, name: str) -> dict:
    t = truth(tag)
    return next(c for c in t["cases"] if c["case_id"] == t["picks"][name])


def page(name: str, tag: str = "en_US", layout: str = "b") -> dict:
    file = f"case_v2{layout}_{tag}_{name}.html" if tag in LOCALES else \
        f"case_v2{layout}_en_US_{tag}_{name}.html"
    return parse_case_page(read(file), timezone=ZONES[tag])


def json_case(name: str, locale: str = "en_US") -> dict:
    """The case from its ViewCase JSON, truncated messages filled from GetContactMessage."""
    case_id = truth(locale)["picks"][name]
    case = parse_view_case(read(f"view_case_v2_{locale}_{case_id}.json"), case_id)
    full = {}
    for m in case["messages"]:
        if m["truncated"]:
            got = parse_contact_message(
                read(f"contact_message_v2_{locale}_{m['contact_id']}.json"))
            full[got["contact_id"]] = got["html"]
    return apply_full_messages(case, full)


def as_truth(case: dict, minute: bool = False) -> list[dict]:
    """A parsed case's messages in the export format of the truth (oldest first)."""
    return [{"sender": m["sender"], "sent_at": m["sent_at"][:16] if minute else m["sent_at"],
             "text": m["text"], "channel": m["channel"],
             "attachments": [a["name"] for a in m["attachments"]]}
            for m in reversed(case["messages"])]


def truth_messages(case: dict, minute: bool = False) -> list[dict]:
    return [{"sender": m["sender"], "sent_at": m["sent_at"][:16] if minute else m["sent_at"],
             "text": m["text"], "channel": m["channel"],
             "attachments": [a["name"] for a in m["attachments"]]} for m in case["messages"]]


def comparable(case: dict) -> dict:
    """What a rendered layout-b page and the JSON must agree on, to the second."""
    return {
        **{k: case[k] for k in ("case_id", "subject", "status", "category", "created_at",
                                "can_edit", "can_reopen", "total_messages")},
        "messages": [{k: m[k] for k in ("sender", "sender_address", "sent_at", "text",
                                        "truncated", "channel", "turns")}
                     | {"attachments": [(a["attachment_id"], a["name"])
                                        for a in m["attachments"]]}
                     for m in case["messages"]],
    }


# ------------------------------------------------------------------ against the truth

@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", NAMES)
def test_layout_b_pages_equal_the_truth_to_the_second(locale, name):
    want = truth_case(locale, name)
    got = page(name, locale)
    assert got["case_id"] == want["case_id"] and got["status"] == want["status"]
    assert got["subject"] == want["subject"] and got["category"] == want["category"]
    assert got["created_at"] == want["created_at"]  # the oldest one-line time
    assert as_truth(got) == truth_messages(want)
    assert any(not m["sent_at"].endswith(":00Z") for m in got["messages"])  # seconds kept


@pytest.mark.parametrize("locale", LOCALES)
def test_layout_a_v2_pages_equal_the_truth_to_the_minute(locale):
    got = page("mixed", locale, layout="a")
    want = truth_case(locale, "mixed")
    assert as_truth(got, minute=True) == truth_messages(want, minute=True)
    assert all(m["sent_at"].endswith(":00Z") for m in got["messages"])
    assert {m["channel"] for m in got["messages"]} == {"email", "chat", "phone"}


@pytest.mark.parametrize("tag, name, zones", [("gmt+5", "mixed", {"GMT+5"}),
                                              ("gmt-330", "long", {"GMT-3:30", "GMT-2:30"})])
def test_zones_shown_as_offsets(tag, name, zones):
    html = read(f"case_v2b_en_US_{tag}_{name}.html")
    shown = set(re.findall(r"(GMT[+-]\d{1,2}(?::\d\d)?)</div>", html))
    assert shown and shown <= zones
    got = parse_case_page(html)  # offsets need no hint
    assert as_truth(got) == truth_messages(truth_case(tag, name))


@pytest.mark.parametrize("locale", LOCALES)
def test_json_equals_the_truth(locale):
    for name in NAMES:
        assert as_truth(json_case(name, locale)) == truth_messages(truth_case(locale, name))


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", NAMES)
def test_layout_b_page_equals_json(locale, name):
    assert comparable(page(name, locale)) == comparable(json_case(name, locale))


# ------------------------------------------------------------------ channels

def test_chat_phone_and_email_contacts():
    case = json_case("mixed")
    by_channel = {m["channel"]: m for m in case["messages"]}
    assert set(by_channel) == {"email", "chat", "phone"}
    chat, phone = by_channel["chat"], by_channel["phone"]
    assert chat["sender"] == "seller" and phone["sender"] == "amazon"
    assert phone["turns"] == [] and all(m["turns"] == [] for m in case["messages"]
                                        if m["channel"] == "email")
    lines = chat["text"].split("\n")
    assert len(chat["turns"]) == len(lines) == 7
    assert chat["turns"][0] == {"at": chat["sent_at"], "name": "Mei Tanaka", "text": (
        "Hello, I was told to contact chat support about order 114-1202077-0895201.")}
    assert [t["name"] for t in chat["turns"]][:3] == ["Mei Tanaka", "Marco", "Marco"]
    times = [t["at"] for t in chat["turns"]]
    assert times == sorted(times) and all(re.fullmatch(r"\d{4}-.*\d\d:\d\dZ", t) for t in times)
    for line, turn in zip(lines, chat["turns"], strict=True):
        assert line == f"{turn['at'][11:19]} UTC {turn['name']}: {turn['text']}"


@pytest.mark.parametrize("locale", LOCALES)
def test_channel_labels_in_every_locale(locale):
    html = read(f"case_v2b_{locale}_mixed.html")
    shown = set(re.findall(r'data-testid="channel">([^<]+)<', html))
    assert shown == ({"Chat", "Telefonat"} if locale == "de_DE" else {"Chat", "Phone call"})
    assert [m["channel"] for m in page("mixed", locale)["messages"]] == [
        m["channel"] for m in json_case("mixed")["messages"]]


def test_channel_type_values():
    raw = json.loads(read("view_case_v2_en_US_348604730.json"))
    raw["contactList"][0]["channelType"] = "chat"
    del raw["contactList"][1]["channelType"]  # a portal before v2: e-mail
    case = parse_view_case(json.dumps(raw), "348604730")
    assert [m["channel"] for m in case["messages"]][:2] == ["chat", "email"]
    raw["contactList"][2]["channelType"] = "FAX"
    with pytest.raises(LayoutError, match=r'"channelType" \(EMAIL, CHAT or PHONE\).*\'FAX\''):
        parse_view_case(json.dumps(raw), "348604730")
    raw["contactList"][2]["channelType"] = 3
    with pytest.raises(LayoutError, match="contactList\\[2\\]"):
        parse_view_case(json.dumps(raw), "348604730")


def test_an_unknown_channel_label_is_a_layout_error():
    html = read("case_v2b_en_US_mixed.html").replace(">Phone call<", ">Carrier pigeon<")
    with pytest.raises(LayoutError, match=r"kat-expander> #1.*Carrier pigeon"):
        parse_case_page(html)


@pytest.mark.parametrize("line, turn", [
    ("18:09:51 UTC Mei Tanaka: Hi: there", ("2026-11-09T18:09:51Z", "Mei Tanaka", "Hi: there")),
    ("[18:10] UTC Marco: Hello", ("2026-11-09T18:10:00Z", "Marco", "Hello")),
    ("10:11:12 AM PST Ann: x", ("2026-11-09T18:11:12Z", "Ann", "x")),
    ("19:12 MEZ Bea: y", ("2026-11-09T18:12:00Z", "Bea", "y")),
    ("23:13:00 GMT+5 Cy: z", ("2026-11-09T18:13:00Z", "Cy", "z")),
    ("2026-11-09 18:14:00 UTC Dee: w", ("2026-11-09T18:14:00Z", "Dee", "w")),
    ("18:15 Eve: no zone", (None, "Eve", "no zone")),
    ("18:16:00 UTC AL Smith: caps", ("2026-11-09T18:16:00Z", "AL Smith", "caps")),
    ("Marco joined the chat", (None, None, "Marco joined the chat")),
    ("Note: no time, no turn", (None, None, "Note: no time, no turn")),
    ("18:17 UTC " + "x" * 200 + ": long", (None, None, "18:17 UTC " + "x" * 200 + ": long")),
])
def test_transcript_lines_are_read_tolerantly(line, turn):
    (got,) = chat_turns(line, "2026-11-09T18:09:51Z")
    assert (got["at"], got["name"], got["text"]) == turn


def test_turns_after_midnight_and_before_the_contact_time():
    turns = chat_turns("23:59:50 UTC A: late\n00:00:10 UTC B: early\n\n00:01 UTC A: ok",
                       "2026-03-06T23:59:50Z")
    assert [t["at"] for t in turns] == ["2026-03-06T23:59:50Z", "2026-03-07T00:00:10Z",
                                        "2026-03-07T00:01:00Z"]
    # A portal stamping a chat with its end: the first turn is the day's, not tomorrow's.
    assert chat_turns("23:50 UTC A: x", "2026-03-07T00:05:00Z")[0]["at"] == \
        "2026-03-06T23:50:00Z"


# ------------------------------------------------------------------ statuses, notice, ids

@pytest.mark.parametrize("locale", LOCALES)
def test_transferred_case(locale):
    case = page("transferred", locale)
    assert case["status"] == "Transferred"
    assert case["can_edit"] is False and case["can_reopen"] is False
    assert case["reopen_notice"] is False
    target = truth(locale)["picks"]
    text = case["messages"][0]["text"]
    assert re.search(r"transferred to case (\d{8,14})|an Fall (\d{8,14}) übertragen", text)
    assert target["transferred"] != re.search(r"\d{8,14}", text)[0]
    label = "Übertragen" if locale == "de_DE" else "Transferred"
    assert f"Status: {label}" in read(f"case_v2b_{locale}_transferred.html")
    assert locales.status_value(label) == "Transferred"


@pytest.mark.parametrize("locale", LOCALES)
def test_reopen_notice(locale):
    html = read(f"case_v2b_{locale}_mixed.html")
    assert page("mixed", locale)["reopen_notice"] is True
    assert json_case("mixed")["reopen_notice"] is None  # the JSON has no such field
    without = re.sub(r'<p[^>]*data-testid="reopen-notice"[^>]*>.*?</p>', "", html)
    assert without != html and parse_case_page(without)["reopen_notice"] is False
    quoted = without.replace("<p>Hello from Amazon", '<p data-testid="reopen-notice">x</p>'
                             "<p>Hello from Amazon")
    assert quoted != without and parse_case_page(quoted)["reopen_notice"] is False


def test_case_ids_of_8_to_14_digits():
    listed, total = parse_search(read("search_v2.json"))
    assert total == len(listed) == 13
    assert {len(c["case_id"]) for c in listed} == set(range(8, 15))
    html = read("case_v2b_en_US_mixed.html")
    for bad in ("12345", "1" * 21, "１２３４５６７８"):  # too short, too long, not ASCII
        with pytest.raises(LayoutError, match="ID: <6 to 20 digits>"):
            parse_case_page(html.replace("ID: 348604730", f"ID: {bad}"))
        lobby = _lobby(["Case ID", "Status", "Subject", "Creation Date", ""],
                       ["", "Closed", "S", "Mar 06, 2026", LINK.replace("76396583", bad)])
        with pytest.raises(LayoutError, match="case id of digits"):
            parse_lobby(lobby)


# ------------------------------------------------------------------ lobby

@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("layout", ["a", "b"])
def test_both_lobby_layouts(locale, layout):
    rows, total = parse_lobby(read(f"lobby_v2{layout}_{locale}.html"))
    listed, _ = parse_search(read("search_v2.json"))
    assert total == 13
    keys = ("case_id", "status", "subject")
    assert [{k: r[k] for k in keys} for r in rows] == [{k: c[k] for k in keys} for c in listed]
    assert all(r["dates"] == "day" and r["created_at"].endswith("T00:00:00Z") for r in rows)
    assert all(r["last_reply_known"] is (layout == "a") for r in rows)
    if layout == "b":
        assert all(r["last_amazon_reply_at"] is None for r in rows)
    else:
        assert sum(r["last_amazon_reply_at"] is not None for r in rows) >= 10
    assert "Transferred" in {r["status"] for r in rows}


def _lobby(headers: list[str], cells: list[str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    row = "".join(f"<td>{c}</td>" for c in cells)
    return (f"<h1>Case Log</h1><p>Cases 1 to 1 of 1</p><table><thead><tr>{head}</tr>"
            f"</thead><tbody><tr>{row}</tr></tbody></table>")


LINK = '<a href="/cu/case-dashboard/view-case?caseID=76396583&ref=x">View</a>'


@pytest.mark.parametrize("headers, cells, reply", [
    (["Fall-ID", "Status", "Betreff", "Erstellungsdatum", "Letzte Antwort von Amazon"],
     [LINK.replace("View", "76396583"), "Übertragen", "S", "06.03.2026", "Keine Antwort"],
     None),
    (["Status", "Short Description", "Case Id ▲", "Primary E-mail", "Creation Date", ""],
     ["Transferred", "S", "76396583", "a@b.c", "Friday, March 6, 2026", LINK], "absent"),
    (["Kurzbeschreibung", "Aktionen", "Status", "Fall-ID", "Erstellungsdatum"],
     ["S", LINK, "Übertragen", " 76396583 ", "6. März 2026 um 16:35:07 MEZ"], "absent"),
])
def test_lobby_columns_in_any_order_and_locale(headers, cells, reply):
    ((row,), total) = parse_lobby(_lobby(headers, cells))
    assert total == 1
    assert (row["case_id"], row["status"], row["subject"], row["created_at"]) == (
        "76396583", "Transferred", "S", "2026-03-06T00:00:00Z")
    assert row["last_amazon_reply_at"] is None
    assert row["last_reply_known"] is (reply is None)


def test_lobby_headers_that_match_neither_layout_are_named():
    html = _lobby(["Case", "State", "Title", "Opened"], ["1", "2", "3", "4"])
    with pytest.raises(LayoutError) as info:
        parse_lobby(html)
    assert "'Case', 'State', 'Title', 'Opened'" in str(info.value)
    with pytest.raises(LayoutError, match="the same case id"):
        parse_lobby(_lobby(["Case ID", "Status", "Subject", "Creation Date", ""],
                           ["76396584", "Closed", "S", "Mar 06, 2026", LINK]))
    with pytest.raises(LayoutError, match="case id of digits"):
        parse_lobby(_lobby(["Case ID", "Status", "Subject", "Creation Date"],
                           ["soon", "Closed", "S", "Mar 06, 2026"]))


def test_a_no_cases_row_is_not_a_case():
    html = _lobby(["Case ID", "Status", "Subject", "Creation Date"], []).replace(
        "<tr></tr>", '<tr><td colspan="4">No cases</td></tr>')
    assert parse_lobby(html) == ([], 1)


# ------------------------------------------------------------------ other conforming pages

def test_layout_b_does_not_depend_on_class_names():
    html = read("case_v2b_de_DE_mixed.html")
    rnd = random.Random(5)

    def rehash(m: re.Match) -> str:
        names = [n if n in ("view-case", "contact-expander")
                 else "".join(rnd.choices(string.ascii_letters, k=12)) for n in m[1].split()]
        return f'class="{" ".join(names)}"'

    renamed = re.sub(r'class="([^"]*)"', rehash, html)
    assert renamed != html and parse_case_page(renamed) == parse_case_page(html)


def test_an_expander_without_its_class_and_a_wrapping_expander():
    html = read("case_v2b_en_US_mixed.html")
    want = parse_case_page(html)
    bare = re.sub(r'(<kat-expander class="[^"]*?) ?contact-expander"', r'\1"', html)
    assert bare.count("contact-expander") == 0 and parse_case_page(bare) == want
    wrapped = bare.replace('aria-label="Messages">',
                           'aria-label="Messages"><kat-expander label="All">', 1).replace(
        "</kat-expander></div></div>", "</kat-expander></kat-expander></div></div>", 1)
    assert wrapped.count("<kat-expander") == 6 and parse_case_page(wrapped) == want


def test_either_time_form_in_either_element():
    b = read("case_v2b_en_US_transferred.html")
    boxes = b.replace("<kat-expander", "<kat-box").replace("</kat-expander>", "</kat-box>")
    assert parse_case_page(boxes)["messages"] == parse_case_page(b)["messages"]
    a = read("case_v2a_en_GB_mixed.html")
    expanders = a.replace("<kat-box", '<kat-expander class="contact-expander"').replace(
        "</kat-box>", "</kat-expander>")
    assert parse_case_page(expanders)["messages"] == parse_case_page(a)["messages"]


@pytest.mark.parametrize("shown, iso", [
    ("March 6, 2026 at 04:35:07 PM PST", "2026-03-07T00:35:07Z"),
    ("6 March 2026 at 16:35:07 GMT", "2026-03-06T16:35:07Z"),
    ("6. März 2026 um 16:35:07 MEZ", "2026-03-06T15:35:07Z"),
    ("6. Juli 2026 um 16:35:07 MESZ", "2026-07-06T14:35:07Z"),
    ("March 19, 2025 at 07:17:06 PM GMT+5", "2025-03-19T14:17:06Z"),
    ("6 March 2026 at 16:35:07 GMT-3:30", "2026-03-06T20:05:07Z"),
    ("Friday, March 6, 2026 at 4:35 PM PST", "2026-03-07T00:35:00Z"),
    ("Mar 6, 2026, 4:35:07\u202fPM GMT-8", "2026-03-07T00:35:07Z"),
    ("Fr., 6. März 2026, 16:35 Uhr MEZ", "2026-03-06T15:35:00Z"),
    ("2026-03-06 16:35:07 UTC", "2026-03-06T16:35:07Z"),
])
def test_one_line_times(shown, iso):
    assert locales.iso_utc(locales.parse_one_line(shown)) == iso


@pytest.mark.parametrize("shown", ["Mar 06, 2026", "4:35 PM PST", "March 6, 2026 at noon",
                                   "31 February 2026 at 10:00:00 GMT", "x" * 300])
def test_not_one_line_times(shown):
    with pytest.raises(LayoutError):
        locales.parse_one_line(shown)
