"""Version 2 of the portal's pages in a real Chromium: layout b (the six-column lobby
found by its headers, kat-expander contacts, one-line times) in every locale, zones shown
as offsets, chat and phone labels, the reopen notice, a transferred case, the outage
page, the page-only API rule with the portal's own pages, the real lobby query names and
the 1,000-result cap. Expected values come from the truth, formatted in Python."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlparse

import pytest
from playwright.sync_api import Page, expect
from portal_pages import (
    LOBBY,
    ONE_LINE,
    VIEW,
    Live,
    fmt_date,
    fmt_one_line,
    fmt_time,
    labels,
    live_with_cookies,
    open_as,
    sign_in,
    squash,
    when,
)

from fixtures.harness import start_portal

LOCALES = ["en_US", "en_GB", "de_DE"]
HEADERS_B = {"en": ["Creation Date", "Case ID", "Status", "Primary Email",
                    "Short Description", "Actions"],
             "de": ["Erstellungsdatum", "Fall-ID", "Status", "Primäre E-Mail",
                    "Kurzbeschreibung", "Aktionen"]}
CHANNEL = {"en": {"chat": "Chat", "phone": "Phone call"},
           "de": {"chat": "Chat", "phone": "Telefonat"}}
NOTICE = {"en": "Answered cases cannot be reopened after 5 days with no activity",
          "de": "Beantwortete Fälle können nach 5 Tagen ohne Aktivität nicht erneut "
                "geöffnet werden"}
EXPANDER = ".view-case kat-expander.contact-expander"
UNAVAILABLE = "case log system is currently unavailable"


def lang(locale: str) -> str:
    return locale[:2]


@pytest.fixture(scope="module")
def b_live(browser):
    """Layout b with v2 data and mixed id lengths (en_US, Los Angeles), read-only."""
    portal = start_portal("--cases", "40", "--seed", "7", "--layout", "b", "--v2-data",
                          "--mixed-id-lengths")
    try:
        yield live_with_cookies(portal, browser)
    finally:
        portal.stop()


@pytest.fixture(scope="module")
def a_live(browser):
    """Layout a with v2 data (Berlin), read-only."""
    portal = start_portal("--cases", "40", "--seed", "7", "--v2-data",
                          "--timezone", "Europe/Berlin")
    try:
        yield live_with_cookies(portal, browser)
    finally:
        portal.stop()


def with_channels(live: Live, *channels: str) -> dict:
    """A case whose newest ten messages hold each of the given channels."""
    return live.case(lambda c: set(channels) <= {m["channel"] for m in c["messages"][-10:]})


def column(page: Page, header: str):
    """The cells under the header with this text: found by header, never by position."""
    names = page.locator("table thead th").all_inner_texts()
    return page.locator(f"table tbody tr td:nth-child({names.index(header) + 1})")


# ---------------------------------------------------------------- layout b lobby

@pytest.mark.parametrize("locale", LOCALES)
def test_layout_b_lobby_columns_found_by_header(page: Page, b_live: Live, locale: str):
    open_as(page, b_live, LOBBY + "?window=all&size=25", locale=locale)
    heads = HEADERS_B[lang(locale)]
    expect(page.locator("table thead th")).to_have_text(heads)
    shown = b_live.cases[:25]
    expect(page.locator("table tbody tr")).to_have_count(25)
    expect(page.locator("table tbody tr").first.locator("td")).to_have_count(6)
    created, case_id, status, email, subject, actions = heads
    expect(column(page, created)).to_have_text(
        [fmt_date(c["created_at"], b_live.tz, locale) for c in shown])
    expect(column(page, case_id)).to_have_text([c["case_id"] for c in shown])
    expect(column(page, status)).to_have_text([labels(locale)[c["status"]] for c in shown])
    expect(column(page, email)).to_have_text([b_live.cfg["email"]] * 25)
    expect(column(page, subject)).to_have_text([c["subject"] for c in shown])
    view = "Anzeigen" if locale == "de_DE" else "View"
    expect(column(page, actions).locator("a")).to_have_text([view] * 25)
    hrefs = column(page, actions).locator("a").evaluate_all("as => as.map(a => a.href)")
    for href, case in zip(hrefs, shown, strict=True):
        assert "view-case" in href and f"caseID={case['case_id']}" in href
    assert column(page, case_id).locator("a").count() == 0  # the View link is the link
    assert len({len(c["case_id"]) for c in shown}) >= 3  # ids of several lengths
    column(page, actions).locator("a").nth(2).click()
    expect(page.locator('[data-testid="case-summary"] h1')).to_have_text(shown[2]["subject"])


# ---------------------------------------------------------------- layout b case page

@pytest.mark.parametrize("locale", LOCALES)
def test_layout_b_case_page_expanders_and_one_line_times(page: Page, b_live: Live,
                                                         locale: str):
    case = with_channels(b_live, "chat", "phone")
    open_as(page, b_live, VIEW + case["case_id"], locale=locale)
    newest = case["messages"][::-1][:10]
    boxes = page.locator(EXPANDER)
    expect(boxes).to_have_count(len(newest))
    assert page.locator("kat-box").count() == 0
    you = "Sie" if locale == "de_DE" else "You"
    expect(page.locator('[data-testid="sender-label"]')).to_have_text(
        ["Amazon" if m["sender"] == "amazon" else you for m in newest])
    expect(page.locator('[data-testid="reciever"]')).to_have_text(
        ["Amazon" if m["sender"] == "amazon" else b_live.cfg["email"] for m in newest])
    times = page.locator("kat-expander > div:first-child > div:last-child")
    expect(times).to_have_text([fmt_one_line(m["sent_at"], b_live.tz, locale)
                                for m in newest])
    assert all(ONE_LINE.match(t) for t in times.all_inner_texts())
    names = CHANNEL[lang(locale)]
    for i, m in enumerate(newest):
        label = boxes.nth(i).locator('[data-testid="channel"]')
        if m["channel"] == "email":
            expect(label).to_have_count(0)
        else:
            expect(label).to_have_text(names[m["channel"]])
    summary = page.locator('[data-testid="case-summary"]')
    created = fmt_date(case["created_at"], b_live.tz, locale)
    expect(summary.get_by_text(f"{'Erstellt' if locale == 'de_DE' else 'Created'}: "
                               f"{created}", exact=True)).to_be_visible()
    # The body is the expander's last child, and the expander really folds it away.
    body = boxes.first.locator(":scope > div:last-child")
    expect(body).to_be_visible()
    toggle = boxes.first.locator("button[part=toggle]")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(body).to_be_hidden()
    toggle.click()
    expect(body).to_be_visible()


def test_layout_b_bodies_are_the_message_html(page: Page, b_live: Live):
    case = b_live.case(lambda c: len(c["messages"]) > 10)
    open_as(page, b_live, VIEW + case["case_id"])
    expect(page.locator(EXPANDER)).to_have_count(10)
    api = page.request.get(
        f"{b_live.url}/hill/hillservice/mons-api/ViewCase?caseId={case['case_id']}"
        f"&timeZone={quote(b_live.tz)}&pageSize=10").json()["contactList"]
    same = page.evaluate("""(messages) => Array.from(
        document.querySelectorAll('.view-case kat-expander'), (box, i) => {
            const want = document.createElement('div');
            want.innerHTML = messages[i].message;
            return box.lastElementChild.innerHTML === want.innerHTML; })""", api)
    assert same == [True] * 10
    older = page.locator('kat-button[label="Show older messages"]')
    older.click()
    expect(page.locator(EXPANDER)).to_have_count(min(20, len(case["messages"])))


# ---------------------------------------------------------------- zones as offsets

@pytest.mark.parametrize("tz,layout,offsets", [
    ("Asia/Karachi", "b", {"GMT+5"}), ("America/St_Johns", "a", {"GMT-3:30", "GMT-2:30"})])
def test_zones_without_a_known_abbreviation_show_offsets(page: Page, portal_factory, tz,
                                                         layout, offsets):
    portal = portal_factory("--cases", "8", "--seed", "6", "--timezone", tz,
                            "--layout", layout)
    live = Live(portal)
    case = max(live.cases, key=lambda c: len(c["messages"]))
    page.goto(live.url + VIEW + case["case_id"])
    sign_in(page, live.cfg)
    newest = case["messages"][::-1][:10]
    if layout == "b":
        shown = page.locator("kat-expander > div:first-child > div:last-child")
        expected = [fmt_one_line(m["sent_at"], tz, "en_US") for m in newest]
    else:
        shown = page.locator("kat-box > div:first-child > div:last-child > div:last-child")
        expected = [fmt_time(m["sent_at"], tz, "en_US") for m in newest]
    expect(shown).to_have_text(expected)
    zones = {t.rsplit(" ", 1)[1] for t in shown.all_inner_texts()}
    assert zones and zones <= offsets, zones


# ---------------------------------------------------------------- channels (layout a)

def test_channel_labels_in_kat_boxes_and_a_locale_free_transcript(page: Page, a_live: Live):
    case = with_channels(a_live, "chat", "phone")
    newest = case["messages"][::-1][:10]
    bodies = {}
    for locale in ("en_US", "de_DE"):
        open_as(page, a_live, VIEW + case["case_id"], locale=locale)
        boxes = page.locator(".view-case kat-box")
        expect(boxes).to_have_count(len(newest))
        for i, m in enumerate(newest):
            label = boxes.nth(i).locator(':scope > div:first-child [data-testid="channel"]')
            if m["channel"] == "email":
                expect(label).to_have_count(0)
            else:
                expect(label).to_have_text(CHANNEL[lang(locale)][m["channel"]])
        # The date box stays the head's last child, two <div>s.
        expect(boxes.first.locator(":scope > div:first-child > div:last-child > div")
               ).to_have_count(2)
        chat = newest.index(next(m for m in newest if m["channel"] == "chat"))
        bodies[locale] = boxes.nth(chat).locator(":scope > div:last-child").inner_html()
    assert bodies["en_US"] == bodies["de_DE"]
    text = next(m for m in newest if m["channel"] == "chat")["text"]
    assert all(re.match(r"\d\d:\d\d:\d\d UTC ", line) for line in text.split("\n"))
    phone = next(m for m in newest if m["channel"] == "phone")
    box = page.locator(".view-case kat-box").nth(newest.index(phone))
    expect(box.locator('[data-testid="sender-label"]')).to_have_text("Amazon")
    assert squash(box.locator(":scope > div:last-child").inner_text()) == squash(phone["text"])


# ---------------------------------------------------------------- reopen window

def _answered(live: Live, fresh: bool) -> dict:
    now = datetime.now(UTC).timestamp()
    return live.case(lambda c: c["status"] == "Answered" and (
        now - when(c["messages"][-1]["sent_at"], "UTC").timestamp() <= 5 * 86400) == fresh)


@pytest.mark.parametrize("locale", ["en_US", "de_DE"])
def test_reopen_notice_and_the_five_day_window(page: Page, b_live: Live, locale: str):
    reopen = "Fall erneut öffnen" if locale == "de_DE" else "Reopen case"
    notice = page.locator('[data-testid="reopen-notice"]')
    for fresh in (True, False):
        case = _answered(b_live, fresh)
        open_as(page, b_live, VIEW + case["case_id"], locale=locale)
        expect(notice).to_have_text(NOTICE[lang(locale)])
        expect(page.locator(f'kat-button[label="{reopen}"]')).to_have_count(1 if fresh else 0)
        expect(page.locator(f'kat-button[label="{"Antworten" if locale == "de_DE" else "Reply"}"]')
               ).to_have_count(1)
    other = b_live.case(lambda c: c["status"] == "Resolved")
    page.goto(b_live.url + VIEW + other["case_id"])
    expect(page.locator(f'kat-button[label="{reopen}"]')).to_have_count(1)
    expect(notice).to_have_count(0)


# ---------------------------------------------------------------- transferred cases

@pytest.mark.parametrize("locale", ["en_GB", "de_DE"])
def test_transferred_case_page_and_its_continuation(page: Page, b_live: Live, locale: str):
    case = b_live.case(lambda c: c["status"] == "Transferred")
    other = re.search(r"transferred to case (\d+)", case["messages"][-1]["text"])[1]
    open_as(page, b_live, VIEW + case["case_id"], locale=locale)
    summary = page.locator('[data-testid="case-summary"]')
    expect(summary.get_by_text(f"Status: {labels(locale)['Transferred']}", exact=True)
           ).to_be_visible()
    expect(page.locator(EXPANDER).first.locator(":scope > div:last-child")).to_contain_text(
        f"transferred to case {other}")
    for label in ("Reply", "Antworten", "Reopen case", "Fall erneut öffnen"):
        expect(page.locator(f'kat-button[label="{label}"]')).to_have_count(0)
    page.goto(b_live.url + LOBBY + "?window=all&size=50")
    row = page.locator("table tbody tr", has=page.locator(f'a[href$="caseID={other}"]'))
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(4)).to_have_text(case["subject"])
    mine = page.locator("table tbody tr", has=page.locator(
        f'a[href$="caseID={case["case_id"]}"]'))
    expect(mine.locator("td").nth(2)).to_have_text(labels(locale)["Transferred"])


# ---------------------------------------------------------------- outage

def test_outage_page_sign_in_still_works_and_the_lobby_shows_it(page: Page, portal_factory):
    portal = portal_factory("--cases", "15", "--seed", "5", "--outage")
    cfg = portal.sim("config")
    page.goto(portal.url + LOBBY)
    sign_in(page, cfg)  # sign-in works through the outage
    expect(page.get_by_text(UNAVAILABLE, exact=False)).to_be_visible()
    portal.sim("faults", {"outage": False})
    page.reload()
    summary = page.locator('[data-testid="summary"]')
    expect(summary).to_have_text(re.compile(r"^Cases 1 to \d+ of \d+$"))
    # It goes down while the person browses: the next call shows them the outage page.
    portal.sim("faults", {"outage": True})
    page.locator('kat-dropdown[data-testid="date-window"] button').click()
    page.get_by_role("option", name="All", exact=True).click()
    expect(page.get_by_text(UNAVAILABLE, exact=False)).to_be_visible()
    page.goto(portal.url + VIEW + portal.sim("truth")["cases"][0]["case_id"])
    expect(page.get_by_text(UNAVAILABLE, exact=False)).to_be_visible()


# ---------------------------------------------------------------- page-only API

def test_page_only_api_portal_pages_still_work(page: Page, portal_factory):
    portal = portal_factory("--cases", "40", "--seed", "7", "--page-only-api")
    live = Live(portal)
    page.goto(live.url + LOBBY + "?window=all")
    sign_in(page, live.cfg)
    expect(page.locator("table tbody tr")).to_have_count(10)
    expect(page.locator("table tbody tr td a").first).to_have_text(live.cases[0]["case_id"])
    case = live.case(lambda c: any(len(m["text"]) > 700 for m in c["messages"][-10:]))
    page.goto(live.url + VIEW + case["case_id"])
    index = next(i for i, m in enumerate(case["messages"][::-1]) if len(m["text"]) > 700)
    box = page.locator("kat-box").nth(index)
    box.get_by_role("button", name="See more").click()  # GetContactMessage from the page
    expect(box.get_by_role("button", name="See less")).to_be_visible()
    api = f"{live.url}/hill/hillservice/mons-api/ViewCase?caseId={case['case_id']}"
    bare = page.request.get(api)  # the test's own HTTP client: no page made this call
    assert bare.status == 403 and bare.json()["error"] == "forbidden"
    from_page = page.evaluate("(url) => fetch(url, {credentials: 'include'}).then("
                              "(r) => r.status)", api)
    assert from_page == 200


# ---------------------------------------------------------------- lobby query names and cap

def test_lobby_reads_and_writes_the_real_query_names(page: Page, b_live: Live):
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(r.post_data_json)
            if r.url.endswith("/mons-api/SearchForCases") else None)
    open_as(page, b_live, LOBBY + "?tab=needs_attention&size=25&searchText=&sortFilter="
            "creationDate&sortByAscOrDesc=ASC&window=all")
    waiting = [c for c in b_live.cases if c["status"] == "PendingMerchantAction"][::-1]
    expect(column(page, "Case ID")).to_have_text([c["case_id"] for c in waiting[:25]])
    first = bodies[0]
    assert (first["searchPageSize"], first["sortByOrder"]) == (25, "ASC")
    assert first["caseFilters"]["caseStatus"] == "PendingMerchantAction"
    page.get_by_role("tab", name="All cases").click()
    expect(page).to_have_url(re.compile(r"window=all&page=1&size=25&tab=all_cases&searchText="
                                        r"&sortFilter=creationDate&sortByAscOrDesc=ASC$"))
    oldest = b_live.cases[::-1][:25]
    expect(column(page, "Case ID")).to_have_text([c["case_id"] for c in oldest])
    search = page.locator('kat-input[data-testid="search"] input')
    search.fill(oldest[0]["subject"].split()[0])
    search.press("Enter")
    expect(page).to_have_url(re.compile("searchText=" + re.escape(
        quote(oldest[0]["subject"].split()[0], safe="").replace("%20", "+"))))
    query = parse_qs(urlparse(page.url).query)
    assert query["tab"] == ["all_cases"] and query["sortByAscOrDesc"] == ["ASC"]


def test_lobby_stops_at_1000_results(page: Page, portal_factory):
    portal = portal_factory("--cases", "1100", "--seed", "2", "--layout", "b")
    live = Live(portal)
    page.goto(live.url + LOBBY + "?window=all&size=50&page=20")
    sign_in(page, live.cfg)
    summary = page.locator('[data-testid="summary"]')
    expect(summary).to_have_text("Cases 951 to 1000 of 1000")
    expect(column(page, "Case ID")).to_have_text([c["case_id"] for c in live.cases[950:1000]])
    expect(page.locator('kat-pagination button[aria-label="Next page"]')).to_be_disabled()
    expect(page.locator("kat-pagination")).to_contain_text("Page 20 of 20")
    page.goto(live.url + LOBBY + "?window=all&size=50&page=21")
    expect(page.locator("table tbody tr")).to_have_count(0)
    expect(page.get_by_text("No cases match.")).to_be_visible()


# ---------------------------------------------------------------- hostile JSON, a11y

def test_case_page_with_hostile_json_says_so_instead_of_hanging(page: Page, portal_factory):
    portal = portal_factory("--cases", "12", "--seed", "4", "--hostile-json-cases", "11")
    live = Live(portal)
    ids = portal.sim("faults")["hostile_json_cases"]
    page.goto(live.url + VIEW + ids[1])  # viewCaseMetaData as a list
    sign_in(page, live.cfg)
    for case_id in (ids[1], ids[2], ids[8]):  # a list, 1e20, null
        page.goto(live.url + VIEW + case_id)
        expect(page.locator('[data-testid="load-error"]')).to_contain_text("invalid data")
        expect(page.locator(".view-case")).to_have_attribute("aria-busy", "false")
    for case_id in ids:
        page.goto(live.url + VIEW + case_id)
        expect(page.locator(".view-case")).to_have_attribute("aria-busy", "false")


def test_layout_b_pages_pass_axe(page: Page, b_live: Live):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    case = with_channels(b_live, "chat")
    for path, ready in ((LOBBY + "?window=all", "table tbody tr"), (VIEW + case["case_id"],
                                                                    EXPANDER)):
        open_as(page, b_live, path)
        expect(page.locator(ready).first).to_be_visible()
        violations = axe.run(page).response["violations"]
        assert not violations, [(v["id"], v["nodes"][0]["target"]) for v in violations]
