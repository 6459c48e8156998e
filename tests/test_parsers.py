"""The pure parsers, from files: hand-written captures in tests/data written from
PORTAL.md alone (the same case as JSON and as rendered pages in en_US, en_GB, de_DE)."""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

import pytest

from scrapers.errors import (
    AmbiguousTimeZone,
    CaseNotFound,
    LayoutError,
    RobotCheck,
    SessionExpired,
    TimeZoneError,
    UnknownTimeZone,
)
from scrapers.parse import locales
from scrapers.parse.monsapi import (
    apply_full_messages,
    merge_pages,
    parse_contact_message,
    parse_search,
    parse_view_case,
)
from scrapers.parse.pages import parse_case_page, parse_lobby
from scrapers.parse.records import epoch_to_iso, html_message_key
from scrapers.parse.text import html_to_text

DATA = Path(__file__).parent / "data"
CASE = "40718231605"
TITLE = 'Listing blocked: "Teekanne <Keramik>" & ASIN B0C1234567 \U0001FAD6'


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# ------------------------------------------------------------------ dates and times

@pytest.mark.parametrize("shown, expected", [
    ("Mar 06, 2026", "2026-03-06"),
    ("Mar 6, 2026", "2026-03-06"),
    ("March 6, 2026", "2026-03-06"),
    ("Sept 30, 2026", "2026-09-30"),
    ("Sep 30, 2026", "2026-09-30"),
    ("6 Mar 2026", "2026-03-06"),
    ("06 March 2026", "2026-03-06"),
    ("30 Sept 2026", "2026-09-30"),
    ("06.03.2026", "2026-03-06"),
    ("6.3.2026", "2026-03-06"),
    ("6. März 2026", "2026-03-06"),
    ("6. Mrz. 2026", "2026-03-06"),
    ("1. Dezember 2026", "2026-12-01"),
    ("14. Mai 2026", "2026-05-14"),
    ("2026-03-06", "2026-03-06"),
    ("  Dec\u00a031,  2026 ", "2026-12-31"),
])
def test_parse_date(shown, expected):
    assert locales.parse_date(shown).isoformat() == expected


@pytest.mark.parametrize("shown", ["Foo 06, 2026", "31.02.2026", "06/03", "", "Mar 2026"])
def test_parse_date_rejects(shown):
    with pytest.raises(ValueError):
        locales.parse_date(shown)


def test_slashed_dates_need_the_locale():
    assert locales.parse_date("03/06/2026", "en_US").isoformat() == "2026-03-06"
    assert locales.parse_date("06/03/2026", "en_GB").isoformat() == "2026-03-06"
    with pytest.raises(ValueError):
        locales.parse_date("03/06/2026")


@pytest.mark.parametrize("day, shown, hint, expected", [
    # the contract's own examples
    ("Mar 06, 2026", "4:35 PM PST", None, "2026-03-07T00:35:00Z"),
    ("6 Mar 2026", "16:35 GMT", None, "2026-03-06T16:35:00Z"),
    ("06.03.2026", "16:35 MEZ", None, "2026-03-06T15:35:00Z"),
    ("06.07.2026", "16:35 MESZ", None, "2026-07-06T14:35:00Z"),
    # 12-hour edge cases, seconds, dotted am/pm, "Uhr"
    ("Mar 06, 2026", "12:05 AM PST", None, "2026-03-06T08:05:00Z"),
    ("Mar 06, 2026", "12:05 PM PST", None, "2026-03-06T20:05:00Z"),
    ("Mar 06, 2026", "4:35:12 p.m. EST", None, "2026-03-06T21:35:12Z"),
    ("06.03.2026", "16:35 Uhr MEZ", None, "2026-03-06T15:35:00Z"),
    # US fall-back hour happens twice: the abbreviation says which
    ("Nov 01, 2026", "1:30 AM PDT", None, "2026-11-01T08:30:00Z"),
    ("Nov 01, 2026", "1:30 AM PST", None, "2026-11-01T09:30:00Z"),
    ("Nov 01, 2026", "1:30 AM PDT", "America/Los_Angeles", "2026-11-01T08:30:00Z"),
    ("Nov 01, 2026", "1:30 AM PST", "America/Los_Angeles", "2026-11-01T09:30:00Z"),
    # US spring-forward
    ("Mar 08, 2026", "1:59 AM PST", "America/Los_Angeles", "2026-03-08T09:59:00Z"),
    ("Mar 08, 2026", "3:00 AM PDT", "America/Los_Angeles", "2026-03-08T10:00:00Z"),
    # EU transitions (Berlin and London)
    ("29.03.2026", "01:59 MEZ", None, "2026-03-29T00:59:00Z"),
    ("29.03.2026", "03:00 MESZ", "Europe/Berlin", "2026-03-29T01:00:00Z"),
    ("25.10.2026", "02:30 MESZ", "Europe/Berlin", "2026-10-25T00:30:00Z"),
    ("25.10.2026", "02:30 MEZ", "Europe/Berlin", "2026-10-25T01:30:00Z"),
    ("29 Mar 2026", "02:30 BST", None, "2026-03-29T01:30:00Z"),
    ("25 Oct 2026", "01:30 BST", "Europe/London", "2026-10-25T00:30:00Z"),
    ("25 Oct 2026", "01:30 GMT", "Europe/London", "2026-10-25T01:30:00Z"),
    # other zones by abbreviation
    ("6 Mar 2026", "09:00 JST", None, "2026-03-06T00:00:00Z"),
    ("6 Mar 2026", "09:00 AEDT", None, "2026-03-05T22:00:00Z"),
    ("6 Jul 2026", "09:00 AEST", None, "2026-07-05T23:00:00Z"),
    ("Mar 06, 2026", "9:00 AM HST", None, "2026-03-06T19:00:00Z"),
    ("Mar 06, 2026", "9:00 AM AKST", None, "2026-03-06T18:00:00Z"),
    ("Mar 06, 2026", "9:00 AM MST", None, "2026-03-06T16:00:00Z"),
    ("Jul 06, 2026", "9:00 AM CDT", None, "2026-07-06T14:00:00Z"),
    ("Jul 06, 2026", "9:00 AM EDT", None, "2026-07-06T13:00:00Z"),
    ("6 Jul 2026", "09:00 EEST", None, "2026-07-06T06:00:00Z"),
    ("6 Jul 2026", "09:00 WEST", None, "2026-07-06T08:00:00Z"),
    ("6 Mar 2026", "09:00 UTC", None, "2026-03-06T09:00:00Z"),
    # numeric offsets, as IANA prints zones without an abbreviation
    ("6 Mar 2026", "16:35 GMT+1", None, "2026-03-06T15:35:00Z"),
    ("6 Mar 2026", "16:35 UTC+05:30", None, "2026-03-06T11:05:00Z"),
    ("6 Mar 2026", "16:35 +0530", None, "2026-03-06T11:05:00Z"),
    ("6 Mar 2026", "16:35 -03", None, "2026-03-06T19:35:00Z"),
    ("6 Mar 2026", "16:35 gmt+1", None, "2026-03-06T15:35:00Z"),
    ("6 Mar 2026", "16:35 UTC\u22128", None, "2026-03-07T00:35:00Z"),
    # what a browser's Intl.DateTimeFormat prints (narrow no-break space, GMT offsets)
    ("Mar 6, 2026", "4:35\u202fPM GMT-8", None, "2026-03-07T00:35:00Z"),
    ("06.03.2026", "16:35 GMT+5:30", None, "2026-03-06T11:05:00Z"),
    ("6 Jul 2026", "16:35 OESZ", None, "2026-07-06T13:35:00Z"),
    # ambiguous abbreviations settled by the hint
    ("6 Mar 2026", "16:35 IST", "Asia/Kolkata", "2026-03-06T11:05:00Z"),
    ("6 Jul 2026", "16:35 IST", "Europe/Dublin", "2026-07-06T15:35:00Z"),
    ("6 Mar 2026", "16:35 IST", "Asia/Jerusalem", "2026-03-06T14:35:00Z"),
    ("Mar 06, 2026", "4:35 PM CST", "America/Chicago", "2026-03-06T22:35:00Z"),
    ("Mar 06, 2026", "4:35 PM CST", "Asia/Shanghai", "2026-03-06T08:35:00Z"),
    ("Mar 06, 2026", "4:35 PM PST", "Asia/Manila", "2026-03-06T08:35:00Z"),
    # an unknown abbreviation takes the hint's offset
    ("6 Mar 2026", "16:35 XYZT", "Asia/Tokyo", "2026-03-06T07:35:00Z"),
])
def test_parse_datetime(day, shown, hint, expected):
    moment = locales.parse_datetime(day, shown, timezone_hint=hint)
    assert locales.iso_utc(moment) == expected


@pytest.mark.parametrize("shown, hint, error", [
    ("16:35 IST", None, AmbiguousTimeZone),
    ("4:35 PM CST", None, AmbiguousTimeZone),
    ("4:35 PM CST", "Europe/Berlin", AmbiguousTimeZone),
    ("16:35 XYZT", None, UnknownTimeZone),
    ("16:35", None, UnknownTimeZone),
    ("16:35 MEZ", "Mars/Olympus_Mons", TimeZoneError),
])
def test_zones_that_need_a_hint(shown, hint, error):
    with pytest.raises(error) as info:
        locales.parse_datetime("6 Mar 2026", shown, timezone_hint=hint)
    assert isinstance(info.value, ValueError)
    if hint is None:
        assert "timezone=" in str(info.value)


def test_status_labels_every_locale():
    for loc in locales.LOCALES:
        for api, label in locales.STATUS_LABELS[loc].items():
            assert locales.status_value(label) == api
            assert locales.status_value(f"  {label.upper()} ") == api
    assert locales.status_value("Erneut geöffnet") == "Reopened"
    assert locales.status_value("PendingAmazonAction") == "PendingAmazonAction"
    with pytest.raises(ValueError):
        locales.status_value("Pending")


# ------------------------------------------------------------------ html_to_text

@pytest.mark.parametrize("html, text", [
    ("plain text", "plain text"),
    ("a &amp; b &lt; c &gt; d &quot;e&quot; &#39;f&#39; &#x2603; &mdash;",
     "a & b < c > d \"e\" 'f' ☃ —"),
    ("&amp;nbsp; stays text", "&nbsp; stays text"),
    ("line1<br>line2<br/>line3<BR />line4", "line1\nline2\nline3\nline4"),
    ("<p>one</p><p>two</p>", "one\ntwo"),
    ("<div>a<div>b</div>c</div>", "ab\nc"),  # block ENDS only, as DESIGN.md says
    ("<ul><li>x</li><li>y</li></ul>after", "x\ny\n\nafter"),
    ("<h2>Title</h2>Body", "Title\nBody"),
    ("<blockquote>quoted</blockquote>reply", "quoted\nreply"),
    ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "ab\nc"),
    ("<b>bold <i>nested <a href='x'>link</a></i></b> end", "bold nested link end"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
    ("<script>alert(1)</script>safe<style>p{}</style>", "safe"),
    ("&lt;img src=x onerror=alert(1)&gt;", "<img src=x onerror=alert(1)>"),
    ("two  spaces kept", "two  spaces kept"),
    ("  <p>  padded  </p>  ", "padded"),
    ("Grüße 🙏 ご不便", "Grüße 🙏 ご不便"),
    ("unclosed <b>bold", "unclosed bold"),
    ("a &amp b", "a & b"),
    ("<!-- comment -->visible", "visible"),
    ("", ""),
])
def test_html_to_text(html, text):
    assert html_to_text(html) == text


def test_html_to_text_50kb():
    para = ("<p>Hello &amp; welcome, " + "word " * 40
            + "<br>line <b>bold</b> &lt;script&gt;x&lt;/script&gt;</p>\n")
    html = para * (50_000 // len(para) + 1)
    assert len(html) >= 50_000
    text = html_to_text(html)
    assert text.count("<script>") == html.count("&lt;script&gt;")
    assert text.startswith("Hello & welcome, word") and "line bold <script>x</script>" in text


# ------------------------------------------------------------------ JSON

def test_parse_search_exact():
    cases, total = parse_search((DATA / "search_page0.json").read_bytes())
    assert total == 556
    assert cases == [
        {"case_id": CASE, "status": "PendingMerchantAction", "subject": TITLE,
         "created_at": "2026-03-07T00:35:07Z", "last_amazon_reply_at": "2026-11-01T08:45:59Z"},
        {"case_id": "40718231598", "status": "Closed",
         "subject": "Refund for order 114-1234567-7654321 not received",
         "created_at": "2026-03-03T01:06:40Z", "last_amazon_reply_at": "2026-03-04T04:53:20Z"},
        {"case_id": "40718231577", "status": "PendingAmazonAction",
         "subject": '<b>Bold</b> claim & "quotes" \u2014 \u00c4nderung der Adresse',
         "created_at": "2026-03-01T21:20:00Z", "last_amazon_reply_at": None},
    ]


def test_parse_view_case_exact():
    case = parse_view_case((DATA / f"view_case_{CASE}.json").read_bytes(), CASE)
    messages = case.pop("messages")
    assert case == {
        "case_id": CASE, "subject": TITLE, "status": "PendingMerchantAction",
        "tags": ["Listing issues", "Blocked listing"], "category": "Listing issues",
        "created_at": "2026-03-07T00:35:07Z", "primary_email": "seller@example.com",
        "can_edit": True, "can_reopen": False, "reopen_notice": None, "escalated": False,
        "total_messages": 4, "next_token": None,
    }
    assert [m["contact_id"] for m in messages] == ["c-1004", "c-1003", "c-1002", "c-1001"]
    assert [m["message_key"] for m in messages] == ["c-1004", "c-1003", "c-1002", "c-1001"]
    assert [m["sender"] for m in messages] == ["amazon", "seller", "amazon", "seller"]
    assert [m["sent_at"] for m in messages] == [
        "2026-11-01T08:45:59Z", "2026-03-29T01:30:00Z", "2026-03-09T10:02:44Z",
        "2026-03-07T00:35:07Z"]
    assert [m["truncated"] for m in messages] == [False, False, True, False]
    assert messages[0]["sender_address"] is None  # "Amazon" is no address
    assert messages[1]["sender_address"] == "seller@example.com"
    assert messages[3] == {
        "contact_id": "c-1001", "message_key": "c-1001", "sender": "seller",
        "sender_address": "seller@example.com", "sent_at": "2026-03-07T00:35:07Z",
        "html": ('<p>Hello,</p><p>our listing &quot;Teekanne &lt;Keramik&gt;&quot; (ASIN '
                 'B0C1234567) was blocked &amp; removed.<br>Please check &mdash; it&#39;s '
                 'compliant.</p>'),
        "text": ('Hello,\nour listing "Teekanne <Keramik>" (ASIN B0C1234567) was blocked & '
                 "removed.\nPlease check \u2014 it's compliant."),
        "truncated": False, "attachments": [], "channel": "email", "turns": [],
    }
    assert messages[1]["attachments"] == [
        {"attachment_id": "a-5001", "name": "Rechnung_2026-03.pdf", "size": 48213,
         "content_type": "application/pdf"},
        {"attachment_id": "a-5002", "name": "lab report (EU 1935).jpg", "size": 1024000,
         "content_type": "image/jpeg"},
    ]
    assert messages[1]["text"].endswith(
        'your form showed <script>alert("x")</script> and <img src=x onerror=alert(1)> '
        "instead of the field, and a literal &nbsp; too.")
    assert messages[0]["text"] == (
        "Guten Tag,\nIhr Artikel \u201eTeekanne\u201c wurde wieder freigeschaltet \u2705.\n"
        "\u3054\u4e0d\u4fbf\u3092\u304a\u304b\u3051\u3057\u3066\u7533\u3057\u8a33\u3054\u3056"
        "\u3044\u307e\u305b\u3093\u3002\U0001F64F\nRef:  A-77 (two spaces kept)\n"
        "Mit freundlichen Gr\u00fc\u00dfen\nAmazon Seller Support")
    assert messages[2]["text"].endswith("address & the\u2026")


def test_pages_merge_into_the_single_page_case():
    whole = parse_view_case(read(f"view_case_{CASE}.json"), CASE)
    p1 = parse_view_case(read(f"view_case_{CASE}_p1.json"), CASE)
    p2 = parse_view_case(read(f"view_case_{CASE}_p2.json"), CASE)
    assert p1["next_token"] == "eyJvZmZzZXQiOjJ9" and p2["next_token"] is None
    assert len(p1["messages"]) == 2
    assert merge_pages([p1, p2]) == whole
    # a message that slid onto the next page (a new one arrived between reads) is kept once
    p2_shifted = {**p2, "messages": [p1["messages"][-1], *p2["messages"]]}
    assert merge_pages([p1, p2_shifted]) == whole
    # resuming: the merge reports the last page's token
    assert merge_pages([p1])["next_token"] == "eyJvZmZzZXQiOjJ9"


def test_full_messages_replace_truncated_ones():
    case = parse_view_case(read(f"view_case_{CASE}.json"), CASE)
    full = parse_contact_message((DATA / "contact_message_c-1002.json").read_bytes())
    assert full["contact_id"] == "c-1002"
    assert full["text"].endswith("Regards,\nPriya S.\nAmazon Seller Support")
    done = apply_full_messages(case, {full["contact_id"]: full["html"]})
    msg = done["messages"][2]
    assert msg["truncated"] is False and msg["html"] == full["html"]
    assert msg["text"] == full["text"] and len(msg["text"]) > 900
    assert case["messages"][2]["truncated"] is True  # input untouched
    assert done["messages"][0] is case["messages"][0]


def test_json_missing_field_names_case_and_field():
    data = json.loads(read(f"view_case_{CASE}.json"))
    del data["contactList"][1]["timestamp"]
    with pytest.raises(LayoutError) as info:
        parse_view_case(json.dumps(data), CASE)
    assert info.value.case_id == CASE and info.value.expected == '"timestamp"'
    assert str(info.value) == f'case {CASE}: expected "timestamp" inside contactList[1], found none'
    with pytest.raises(LayoutError):
        parse_view_case("<html>Service unavailable</html>", CASE)


@pytest.mark.parametrize("value, iso", [
    (1772843707.25, "2026-03-07T00:35:07Z"),
    (1772843707.999, "2026-03-07T00:35:07Z"),
    (1772843707, "2026-03-07T00:35:07Z"),
    (1772843707250, "2026-03-07T00:35:07Z"),
    ("1772843707.5", "2026-03-07T00:35:07Z"),
    ("2026-03-07T00:35:07Z", "2026-03-07T00:35:07Z"),
    (None, None),
])
def test_epoch_to_iso(value, iso):
    assert epoch_to_iso(value) == iso


# ------------------------------------------------------------------ rendered HTML

def _minute(iso: str | None) -> str | None:
    return iso[:16] if iso else iso


def comparable(case: dict) -> dict:
    """What both parsers must agree on: everything a rendered page can show, with
    times to the minute (no ids, sizes, content types, tags beyond the first)."""
    return {
        "case_id": case["case_id"], "subject": case["subject"], "status": case["status"],
        "category": case["category"], "created_at": _minute(case["created_at"]),
        "can_edit": case["can_edit"], "can_reopen": case["can_reopen"],
        "total_messages": case["total_messages"],
        "messages": [{
            "sender": m["sender"], "sender_address": m["sender_address"],
            "sent_at": _minute(m["sent_at"]), "text": m["text"], "truncated": m["truncated"],
            "attachments": [(a["attachment_id"], a["name"]) for a in m["attachments"]],
        } for m in case["messages"]],
    }


@pytest.fixture(scope="module")
def json_case():
    return parse_view_case(read(f"view_case_{CASE}.json"), CASE)


@pytest.fixture(scope="module")
def json_case_full(json_case):
    full = parse_contact_message(read("contact_message_c-1002.json"))
    return apply_full_messages(json_case, {full["contact_id"]: full["html"]})


@pytest.mark.parametrize("locale", ["en_US", "en_GB"])
def test_html_equals_json(locale, json_case):
    html_case = parse_case_page(read(f"case_{CASE}_{locale}.html"))
    assert comparable(html_case) == comparable(json_case)
    assert html_case["messages"][2]["truncated"] is True
    assert all(m["sent_at"].endswith(":00Z") for m in html_case["messages"])
    assert all(m["message_key"].startswith("h:") for m in html_case["messages"])
    assert all(m["contact_id"] is None for m in html_case["messages"])


def test_html_de_de_with_expanded_message_equals_json_with_full_text(json_case_full):
    html_case = parse_case_page(read(f"case_{CASE}_de_DE.html"), timezone="Europe/Berlin")
    assert comparable(html_case) == comparable(json_case_full)
    assert html_case["messages"][2]["truncated"] is False


def test_html_message_keys_are_the_same_in_every_locale():
    keys = {
        loc: [m["message_key"] for m in parse_case_page(read(f"case_{CASE}_{loc}.html"))[
            "messages"]]
        for loc in ("en_US", "en_GB", "de_DE")
    }
    assert keys["en_US"] == keys["en_GB"] == keys["de_DE"]  # de_DE shows one expanded
    assert len(set(keys["en_US"])) == 4
    msg = parse_case_page(read(f"case_{CASE}_en_US.html"))["messages"][3]
    assert msg["message_key"] == html_message_key("seller", "2026-03-07T00:35", msg["text"])


def test_html_does_not_depend_on_class_names():
    html = read(f"case_{CASE}_en_US.html")
    rnd = random.Random(7)

    def rehash(m: re.Match) -> str:
        names = [n if n == "view-case" else "".join(rnd.choices(string.ascii_letters, k=12))
                 for n in m[1].split()]
        return f'class="{" ".join(names)}"'

    renamed = re.sub(r'class="([^"]*)"', rehash, html)
    assert renamed != html
    assert parse_case_page(renamed) == parse_case_page(html)


def test_closed_case_page_with_older_messages_pending():
    case = parse_case_page(read("case_40718231598_closed_en_US.html"))
    assert case["status"] == "Closed" and case["category"] == "Orders"
    assert case["can_edit"] is False and case["can_reopen"] is True
    assert case["total_messages"] is None  # "Show older messages" still on the page
    assert case["created_at"] == "2026-03-02T00:00:00Z"  # the shown date only
    assert [m["sent_at"] for m in case["messages"]] == ["2026-03-04T04:53:00Z"]
    assert case["messages"][0]["text"] == "We have issued the refund.\nThis case is now closed."


def test_renamed_testid_names_case_and_selector():
    html = read(f"case_{CASE}_en_US.html")
    parts = html.split('data-testid="sender-label"')
    assert len(parts) == 5
    broken = 'data-testid="sender-label"'.join(parts[:3]) + 'data-testid="sender-name"' \
        + 'data-testid="sender-label"'.join(parts[3:])
    with pytest.raises(LayoutError) as info:
        parse_case_page(broken)
    err = info.value
    assert err.case_id == CASE and err.expected == '[data-testid="sender-label"]'
    assert str(err) == (f'case {CASE}: expected [data-testid="sender-label"] inside '
                        "<kat-box> #3, found none")


def test_missing_structure_raises_layout_errors():
    html = read(f"case_{CASE}_en_GB.html")
    with pytest.raises(LayoutError) as info:
        parse_case_page(html.replace('data-testid="case-summary"', 'data-testid="summary"'))
    assert info.value.case_id == CASE  # from the saved-from URL
    assert "section[data-testid=\"case-summary\"]" in str(info.value)
    with pytest.raises(LayoutError) as info:
        parse_case_page(re.sub(r"view-case(?= )", "viewcase", html, count=1))
    assert str(info.value) == (f'case {CASE}: expected <div class="view-case">, found none')
    with pytest.raises(LayoutError) as info:
        parse_case_page(html.replace("Status: Needs your attention", "State: open"))
    assert '"Status:" line' in str(info.value)
    with pytest.raises(LayoutError, match=r"<kat-box>"):
        parse_case_page(re.sub(r"<kat-box class=.*?</kat-box>", "", html, flags=re.S))
    with pytest.raises(LayoutError, match=r"date box .* inside <kat-box> #1"):
        parse_case_page(html.replace("1 Nov 2026", "yesterday"))


def test_ambiguous_zone_on_a_page_names_the_case():
    html = read(f"case_{CASE}_en_GB.html").replace(" GMT<", " IST<").replace(" BST<", " IST<")
    with pytest.raises(AmbiguousTimeZone, match=rf"case {CASE}, <kat-box> #1"):
        parse_case_page(html)
    case = parse_case_page(html, timezone="Asia/Kolkata")
    assert case["messages"][0]["sent_at"] == "2026-11-01T03:15:00Z"
    # Irish Standard Time is summer time in Dublin: November's 08:45 cannot be IST there
    with pytest.raises(AmbiguousTimeZone, match="matches no offset"):
        parse_case_page(html, timezone="Europe/Dublin")


@pytest.mark.parametrize("name, error", [
    ("robot_check.html", RobotCheck),
    ("signin.html", SessionExpired),
    ("case_not_found.html", CaseNotFound),
])
def test_special_pages(name, error):
    with pytest.raises(error):
        parse_case_page(read(name))
    with pytest.raises(error):
        parse_lobby(read(name))


def test_a_message_quoting_the_404_sentence_is_still_a_case():
    html = read(f"case_{CASE}_en_US.html").replace(
        "Please check", "They said: We couldn&#39;t find that case. Please check")
    assert "We couldn't find that case" in parse_case_page(html)["messages"][3]["text"]


def test_same_message_twice_in_one_minute_keeps_both():
    html = read(f"case_{CASE}_en_US.html")
    boxes = re.findall(r"<kat-box.*?</kat-box>", html, flags=re.S)
    doubled = html.replace(boxes[3], boxes[3] + "\n" + boxes[3])
    keys = [m["message_key"] for m in parse_case_page(doubled)["messages"]]
    assert len(keys) == 5 and keys[4] == keys[3] + "#2"


# ------------------------------------------------------------------ lobby

LOBBY_DATES = {
    "en_US": [("2026-03-06", "2026-11-01"), ("2026-03-02", "2026-03-03"), ("2026-03-01", None)],
    "en_GB": [("2026-03-07", "2026-11-01"), ("2026-03-03", "2026-03-04"), ("2026-03-01", None)],
    "de_DE": [("2026-03-07", "2026-11-01"), ("2026-03-03", "2026-03-04"), ("2026-03-01", None)],
}


@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE"])
def test_lobby(locale):
    cases, total = parse_lobby(read(f"lobby_{locale}.html"))
    assert total == 556
    listed, _ = parse_search(read("search_page0.json"))
    strip = [{k: c[k] for k in ("case_id", "status", "subject")} for c in cases]
    assert strip == [{k: c[k] for k in ("case_id", "status", "subject")} for c in listed]
    assert [(c["created_at"], c["last_amazon_reply_at"]) for c in cases] == [
        (f"{d}T00:00:00Z", f"{r}T00:00:00Z" if r else None) for d, r in LOBBY_DATES[locale]]


def test_empty_lobby_and_broken_lobby():
    assert parse_lobby("<h1>Case Log</h1><p>Cases 0 to 0 of 0</p><table></table>") == ([], 0)
    with pytest.raises(LayoutError, match="lobby"):
        parse_lobby("<h1>Case Log</h1><p>Loading…</p>")


def test_labels_shown_from_attributes_and_attachment_only_messages():
    html = read(f"case_{CASE}_en_US.html")
    html = html.replace(">Needs your attention<",
                        '><kat-badge label="Needs your attention"></kat-badge><')
    boxes = re.findall(r"<kat-box class=.*?</kat-box>", html, flags=re.S)
    # the seller's attachment message without words: the body holds only the links
    body = re.search(r'</div></div>(<div class="\w+">Attached.*?</div>)(<a .*)</kat-box>',
                     boxes[1], flags=re.S)
    only_links = boxes[1].replace(body[1] + body[2],
                                  '<div class="x1">' + body[2] + "</div>")
    case = parse_case_page(html.replace(boxes[1], only_links))
    assert case["status"] == "PendingMerchantAction"
    msg = case["messages"][1]
    assert msg["text"] == "" and msg["html"] == ""
    assert [a["name"] for a in msg["attachments"]] == [
        "Rechnung_2026-03.pdf", "lab report (EU 1935).jpg"]
    lobby = read("lobby_en_US.html").replace(
        '">Closed</span>', '"><kat-badge label="Closed"></kat-badge></span>')
    assert "kat-badge" in lobby
    assert parse_lobby(lobby)[0][1]["status"] == "Closed"


def test_a_200_message_page_parses():
    html = read(f"case_{CASE}_en_US.html")
    boxes = re.findall(r"<kat-box class=.*?</kat-box>", html, flags=re.S)
    big = html.replace("\n".join(boxes), "\n".join(boxes * 50))
    case = parse_case_page(big)  # its speed: benchmarks/bench_parsers.py
    assert len(case["messages"]) == 200 and len({m["message_key"] for m in
                                                 case["messages"]}) == 200
