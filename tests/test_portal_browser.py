"""The simulated portal's pages as a person sees them in a real Chromium (PORTAL.md 2, 3, 5).

Expected values come from the portal's ground truth (`/__sim/truth`) and are formatted
here with Python's own zoneinfo, never with the portal's JS. Most tests share one
read-only portal and its session cookies; the ones that sign in with MFA, expire sessions
or switch on the robot check start their own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlparse

import pyotp
import pytest
from playwright.sync_api import Page, expect
from portal_pages import (
    LOBBY,
    STATUS_DE,
    STATUS_EN,
    VIEW,
    Live,
    fmt_date,
    fmt_time,
    last_amazon,
    load_whole_thread,
    open_as,
    sign_in,
    squash,
    when,
)
from portal_pages import live_with_cookies as _live_with_cookies

from fixtures.harness import start_portal

# ---------------------------------------------------------------- portals and sessions

@pytest.fixture(scope="module")
def live(browser):
    """A read-only 40-case portal (en_US, America/Los_Angeles) with a signed-in session."""
    portal = start_portal("--cases", "40", "--seed", "7")
    try:
        yield _live_with_cookies(portal, browser)
    finally:
        portal.stop()


@pytest.fixture(scope="module")
def berlin(browser):
    """A second start, in Europe/Berlin: other hashed classes, MEZ/MESZ times."""
    portal = start_portal("--cases", "12", "--seed", "3", "--timezone", "Europe/Berlin")
    try:
        yield _live_with_cookies(portal, browser)
    finally:
        portal.stop()


# ---------------------------------------------------------------- sign-in paths

def test_sign_in_returns_to_the_page_asked_for(page: Page, live: Live):
    case = live.cases[0]
    page.goto(live.url + VIEW + case["case_id"] + "&ref=xx_caselog&ie=UTF8")
    assert urlparse(page.url).path == "/ap/signin"
    back = parse_qs(urlparse(page.url).query)["openid.return_to"][0]
    assert back.startswith(VIEW + case["case_id"])
    sign_in(page, live.cfg)
    expect(page).to_have_url(re.compile(re.escape(VIEW + case["case_id"])))
    expect(page.locator('[data-testid="case-summary"] h1')).to_have_text(case["subject"])


def test_sign_in_with_mfa_then_session_loss_and_robot_check(page: Page, portal_factory):
    portal = portal_factory("--cases", "15", "--seed", "5",
                            "--mfa-secret", pyotp.random_base32())
    cfg = portal.sim("config")
    page.goto(portal.url + LOBBY + "?window=all")
    sign_in(page, cfg, mfa=True, remember=True)
    expect(page).to_have_url(re.compile(r"/cu/case-lobby\?window=all$"))
    expect(page.locator('[data-testid="summary"]')).to_have_text("Cases 1 to 10 of 15")

    # A transient server error shows an alert with a retry button instead of a table.
    portal.sim("faults", {"error_rate": 1.0})
    page.locator('kat-pagination button[aria-label="Next page"]').click()
    alert = page.locator('[data-testid="load-error"]')
    expect(alert).to_contain_text(re.compile(r"\(50[023]\)"))
    portal.sim("faults", {"error_rate": 0})
    alert.locator("kat-button button").click()
    expect(page.locator('[data-testid="summary"]')).to_have_text("Cases 11 to 15 of 15")
    expect(alert).to_have_count(0)

    # A session that expires mid-browse: the page's next API call sends the person to
    # sign-in, asking to come back to the page as it now is.
    portal.sim("expire-sessions", {})
    page.locator('kat-pagination button[aria-label="Previous page"]').click()
    expect(page).to_have_url(re.compile(r"/ap/signin\?"))
    back = parse_qs(urlparse(page.url).query)["openid.return_to"][0]
    assert back.startswith(LOBBY) and "page=1" in back
    mfa_pages: list[str] = []
    page.on("request", lambda r: mfa_pages.append(r.url) if "/ap/mfa" in r.url else None)
    sign_in(page, cfg)  # this browser was remembered: no one-time code this time
    expect(page.locator('[data-testid="summary"]')).to_have_text("Cases 1 to 10 of 15")
    assert mfa_pages == []

    # A robot check on the API: the page reloads and the person sees the check.
    portal.sim("robot", {"on": True})
    page.locator('kat-pagination button[aria-label="Next page"]').click()
    expect(page).to_have_title(re.compile("Robot Check"))
    expect(page.get_by_text("Enter the characters you see below")).to_be_visible()
    # Only a person passes it: they type what they see and are back on their page.
    page.fill("#captchacharacters", "WRONG1")
    page.press("#captchacharacters", "Enter")
    expect(page.locator("#auth-error-message-box")).to_be_visible()
    chars = page.get_by_label("Type the characters shown").inner_text()
    page.fill("#captchacharacters", chars.lower())
    page.press("#captchacharacters", "Enter")
    expect(page).to_have_url(re.compile(r"/cu/case-lobby\?"))
    expect(page.locator('[data-testid="summary"]')).to_have_text(re.compile(r"^Cases \d+ to"))
    assert portal.sim("faults")["robot_active"] is False


# ---------------------------------------------------------------- lobby

def rows(page: Page):
    return page.locator("table tbody tr")


def test_lobby_default_window_table_and_dates(page: Page, live: Live):
    open_as(page, live, LOBBY)
    expect(page.locator("h1")).to_have_text("Case Log")
    cutoff = datetime.now(UTC).timestamp() - 30 * 86400
    recent = [c for c in live.cases
              if when(c["created_at"], "UTC").timestamp() >= cutoff]
    shown = recent[:10]
    expect(page.locator('[data-testid="summary"]')).to_have_text(
        f"Cases 1 to {len(shown)} of {len(recent)}")
    expect(rows(page)).to_have_count(len(shown))
    # One <tbody><tr> per case, five cells in the contract's order.
    assert page.locator("table > tbody").count() == len(shown)
    for i, case in enumerate(shown):
        cells = rows(page).nth(i).locator("td")
        expect(cells).to_have_count(5)
        link = cells.nth(0).locator("a")
        expect(link).to_have_text(case["case_id"])
        expect(link).to_have_attribute("href", VIEW + case["case_id"])
        expect(cells.nth(1)).to_have_text(STATUS_EN[case["status"]])
        expect(cells.nth(2)).to_have_text(case["subject"])
        expect(cells.nth(3)).to_have_text(fmt_date(case["created_at"], live.tz, "en_US"))
        reply = last_amazon(case)
        expect(cells.nth(4)).to_have_text(
            fmt_date(reply, live.tz, "en_US") if reply else "No reply")


def test_lobby_paging_window_and_page_size_keep_the_url(page: Page, live: Live):
    total = len(live.cases)
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(r.post_data_json)
            if r.url.endswith("/mons-api/SearchForCases") else None)
    open_as(page, live, LOBBY)
    summary = page.locator('[data-testid="summary"]')
    expect(summary).to_have_text(re.compile(r"^Cases \d+ to \d+ of \d+$"))
    first = bodies[0]
    assert (first["page"], first["searchPageSize"], first["sortBy"], first["sortByOrder"]) == (
        0, 10, "CreationDate", "DESC")
    filters = first["caseFilters"]
    assert filters["caseOwner"] == "MerchantCases" and filters["searchText"] == ""
    assert abs(filters["creationDateFrom"] - (datetime.now(UTC).timestamp() - 30 * 86400)) < 120

    window = page.locator('kat-dropdown[data-testid="date-window"]')
    window.locator("button").click()
    window.get_by_role("option", name="All", exact=True).click()
    expect(page).to_have_url(re.compile(r"window=all"))
    expect(summary).to_have_text(f"Cases 1 to 10 of {total}")
    expect(window).to_have_attribute("value", "all")

    nxt = page.locator('kat-pagination button[aria-label="Next page"]')
    prev = page.locator('kat-pagination button[aria-label="Previous page"]')
    expect(prev).to_be_disabled()
    nxt.click()
    expect(page).to_have_url(re.compile(r"window=all&page=2&size=10"))
    expect(summary).to_have_text(f"Cases 11 to 20 of {total}")
    expect(rows(page).first.locator("td a")).to_have_text(live.cases[10]["case_id"])
    assert bodies[-1]["page"] == 1 and bodies[-1]["caseFilters"]["creationDateFrom"] is None
    nxt.click()
    expect(summary).to_have_text(f"Cases 21 to 30 of {total}")
    prev.click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(rows(page).first.locator("td a")).to_have_text(live.cases[10]["case_id"])

    size = page.locator('kat-dropdown[data-testid="page-size"]')
    size.locator("button").click()
    size.get_by_role("option", name="50", exact=True).click()
    expect(page).to_have_url(re.compile(r"window=all&page=1&size=50"))
    expect(summary).to_have_text(f"Cases 1 to {total} of {total}")
    expect(rows(page)).to_have_count(total)
    expect(nxt).to_be_disabled()

    # Back steps through the history the clicks made.
    page.go_back()
    expect(page).to_have_url(re.compile(r"page=2&size=10"))
    expect(summary).to_have_text(f"Cases 11 to 20 of {total}")

    # The query string alone selects the same state.
    page.goto(live.url + LOBBY + "?window=all&page=3&pageSize=10")
    expect(summary).to_have_text(f"Cases 21 to 30 of {total}")
    expect(rows(page).first.locator("td a")).to_have_text(live.cases[20]["case_id"])
    expect(window.locator("button")).to_contain_text("All")
    expect(page.locator("kat-pagination")).to_have_attribute("page", "3")

    # A person opens a case from the table.
    rows(page).first.locator("td a").click()
    expect(page).to_have_url(re.compile(r"view-case\?caseID=" + live.cases[20]["case_id"]))
    expect(page.locator('[data-testid="case-summary"] h1')).to_have_text(
        live.cases[20]["subject"])


def test_lobby_search_tabs_and_windows(page: Page, live: Live):
    open_as(page, live, LOBBY + "?window=all&pageSize=50")
    summary = page.locator('[data-testid="summary"]')
    expect(summary).to_have_text(f"Cases 1 to {len(live.cases)} of {len(live.cases)}")

    # The search matches subjects only: a case's own subject finds it.
    target = live.case(lambda c: "<" not in c["subject"] and len(c["subject"]) > 12)
    words = target["subject"].split()
    term = max(words, key=len)
    expected = [c for c in live.cases if term.casefold() in c["subject"].casefold()]
    search = page.locator('kat-input[data-testid="search"] input')
    search.fill(term)
    search.press("Enter")
    expect(summary).to_have_text(f"Cases 1 to {len(expected)} of {len(expected)}")
    expect(page.locator("table tbody tr td:first-child a")).to_have_text(
        [c["case_id"] for c in expected])
    assert "searchText=" + quote(term, safe="") in page.url.replace("+", "%20")

    # "Needs your attention" lists only the cases waiting on the seller.
    search.fill("")
    page.locator('kat-button[data-testid="search-button"]').click()
    expect(summary).to_have_text(f"Cases 1 to {len(live.cases)} of {len(live.cases)}")
    page.locator('kat-tab[tab-id="attention"] button').click()
    waiting = [c for c in live.cases if c["status"] == "PendingMerchantAction"]
    expect(summary).to_have_text(f"Cases 1 to {len(waiting)} of {len(waiting)}")
    expect(page.locator("table tbody tr td:nth-child(2)")).to_have_text(
        ["Needs your attention"] * len(waiting))

    # The dropdown works from the keyboard too.
    header = page.locator('kat-dropdown[data-testid="date-window"] button')
    header.focus()
    page.keyboard.press("ArrowDown")   # opens on the chosen option (All)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"window=365"))
    expect(header).to_be_focused()

    # Each window asks for cases created within it.
    now = datetime.now(UTC).timestamp()
    for value, days in (("90", 90), ("365", 365)):
        page.goto(live.url + LOBBY + f"?window={value}&pageSize=50")
        n = sum(1 for c in live.cases
                if when(c["created_at"], "UTC").timestamp() >= now - days * 86400)
        expect(summary).to_have_text(f"Cases 1 to {min(n, 50)} of {n}")


def test_hostile_subjects_and_messages_stay_text(page: Page, live: Live):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    hostile = live.case(lambda c: "<" in c["subject"])
    open_as(page, live, LOBBY + "?window=all&pageSize=50")
    cell = page.locator("table tbody tr", has=page.get_by_role(
        "link", name=hostile["case_id"])).locator("td").nth(2)
    expect(cell).to_have_text(hostile["subject"])
    assert cell.locator("script, img").count() == 0
    page.goto(live.url + VIEW + hostile["case_id"])
    summary = page.locator('[data-testid="case-summary"]')
    expect(summary.locator("h1")).to_have_text(hostile["subject"])
    expect(page).to_have_title(hostile["subject"])
    assert summary.locator("script, img, svg, iframe").count() == 0

    # A thread whose messages quote markup: shown as text in the portal's own markup.
    quoting = live.case(lambda c: any("<" in m["text"] for m in c["messages"]))
    quoted = next(m["text"] for m in quoting["messages"] if "<" in m["text"])
    fragment = quoted[quoted.index("<"):].split("\n")[0].strip()
    page.goto(live.url + VIEW + quoting["case_id"])
    expect(page.locator("kat-box").first).to_be_visible()
    load_whole_thread(page)
    expect(page.locator("kat-box")).to_have_count(len(quoting["messages"]))
    bodies = page.locator("kat-box > div:last-child")
    expect(bodies.filter(has_text=fragment)).to_have_count(
        sum(1 for m in quoting["messages"] if fragment in m["text"]))
    assert bodies.locator("script, img, svg, iframe, [onerror], [onload]").count() == 0
    assert dialogs == []


# ---------------------------------------------------------------- case page

def test_case_page_thread_summary_and_controls(page: Page, live: Live):
    case = max(live.cases, key=lambda c: len(c["messages"]))
    assert len(case["messages"]) > 10, "seeded portal should have a long thread"
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/mons-api/ViewCase" in r.url else None)
    open_as(page, live, VIEW + case["case_id"] + "&mons_sel_mkid=x")
    summary = page.locator('.view-case section[data-testid="case-summary"]')
    expect(summary.locator("h1")).to_have_text(case["subject"])
    for line in (f"ID: {case['case_id']}", f"Status: {STATUS_EN[case['status']]}",
                 f"Created: {fmt_date(case['created_at'], live.tz, 'en_US')}",
                 f"Category: {case['category']}"):
        expect(summary.get_by_text(line, exact=True)).to_be_visible()

    boxes = page.locator(".view-case kat-box")
    expect(boxes).to_have_count(10)
    load_whole_thread(page)
    expect(page.locator('kat-button[label="Show older messages"]')).to_have_count(0)
    newest_first = case["messages"][::-1]
    expect(boxes).to_have_count(len(newest_first))
    asked = [parse_qs(urlparse(u).query) for u in calls]
    assert asked[0] == {"caseId": [case["case_id"]], "timeZone": [live.tz], "pageSize": ["10"]}
    assert len(asked) == -(-len(newest_first) // 10)
    assert all("pageToken" in q for q in asked[1:])
    expect(page.locator('[data-testid="sender-label"]')).to_have_text(
        ["Amazon" if m["sender"] == "amazon" else "You" for m in newest_first])
    expect(page.locator('[data-testid="reciever"]')).to_have_text(
        ["Amazon" if m["sender"] == "amazon" else live.cfg["email"] for m in newest_first])
    first = boxes.first
    date_box = first.locator(":scope > div").first.locator(":scope > div").last
    expect(date_box.locator(":scope > div")).to_have_text(
        [fmt_date(newest_first[0]["sent_at"], live.tz, "en_US"),
         fmt_time(newest_first[0]["sent_at"], live.tz, "en_US")])

    # The API's truth for this case's buttons.
    meta = page.request.get(
        f"{live.url}/hill/hillservice/mons-api/ViewCase?caseId={case['case_id']}"
        f"&timeZone={quote(live.tz)}&pageSize=10").json()["viewCaseMetaData"]
    expect(page.locator('kat-button[label="Reply"]')).to_have_count(
        1 if meta["canEditCase"] else 0)
    expect(page.locator('kat-button[label="Reopen case"]')).to_have_count(
        1 if meta["canReopenCase"] else 0)
    expect(page.locator('textarea[placeholder="Tell us how we did (feedback)"]')).to_have_count(1)


def test_reply_and_reopen_buttons_render_a_real_button(page: Page, live: Live):
    reopenable = live.case(lambda c: c["status"] == "Resolved")
    open_as(page, live, VIEW + reopenable["case_id"])
    button = page.locator('kat-button[label="Reopen case"]')
    expect(button.locator("button")).to_have_text("Reopen case")
    expect(page.get_by_role("button", name="Reopen case")).to_be_visible()
    expect(page.locator('kat-button[label="Reply"]')).to_have_count(0)

    editable = live.case(lambda c: c["status"] == "PendingMerchantAction")
    page.goto(live.url + VIEW + editable["case_id"])
    expect(page.get_by_role("button", name="Reply")).to_be_visible()
    expect(page.locator('kat-button[label="Reopen case"]')).to_have_count(0)


def test_see_more_and_see_less(page: Page, live: Live):
    def long_message(c):
        return any(len(m["text"]) > 700 for m in c["messages"][-10:])
    case = live.case(long_message)
    open_as(page, live, VIEW + case["case_id"])
    index = next(i for i, m in enumerate(case["messages"][::-1]) if len(m["text"]) > 700)
    full = case["messages"][::-1][index]["text"]
    box = page.locator("kat-box").nth(index)
    body = box.locator(":scope > div:last-child")
    more = box.locator('kat-button[label="See more"]')
    expect(more.locator("button")).to_have_text("See more")
    short = body.inner_text()
    assert len(squash(short)) < len(squash(full))
    with page.expect_request(re.compile(r"/mons-api/GetContactMessage\?caseId=")):
        more.click()
    less = box.locator('kat-button[label="See less"]')
    expect(less).to_be_visible()
    expect(body).not_to_have_text(short)
    assert squash(body.inner_text()) == squash(full)
    less.click()
    expect(box.locator('kat-button[label="See more"]')).to_be_visible()
    assert body.inner_text() == short


def test_attachments_link_and_download(page: Page, live: Live):
    case = live.case(lambda c: any(m["attachments"] for m in c["messages"][-10:]))
    open_as(page, live, VIEW + case["case_id"])
    newest = case["messages"][::-1][:10]
    names = [a["name"] for m in newest for a in m["attachments"]]
    links = page.locator('kat-box a[data-testid="attachment"]')
    expect(links).to_have_text(names)
    href = links.first.get_attribute("href")
    assert href.startswith(f"/cu/case-dashboard/attachment?caseID={case['case_id']}&attachmentId=")
    # The body stays the last child of its box; the links sit outside it.
    assert page.locator('kat-box > div:last-child a[data-testid="attachment"]').count() == 0
    with page.expect_download() as info:
        links.first.click()
    download = info.value
    assert download.suggested_filename.endswith(names[0].rsplit(".", 1)[-1])
    first = next(a for m in newest for a in m["attachments"])
    assert download.path().stat().st_size == first["size"]


def test_unknown_case_is_a_404_page(page: Page, live: Live):
    page.context.add_cookies(live.cookies)
    response = page.goto(live.url + VIEW + "99999999999")
    assert response.status == 404
    expect(page.get_by_text("We couldn't find that case")).to_be_visible()


# ---------------------------------------------------------------- locales, zones, classes

@pytest.mark.parametrize("locale", ["en_GB", "de_DE"])
def test_locale_labels_and_formats(page: Page, live: Live, locale: str):
    de = locale == "de_DE"
    open_as(page, live, LOBBY + "?window=all", locale=locale)
    expect(page.locator("h1")).to_have_text("Fallprotokoll" if de else "Case Log")
    n = len(live.cases)
    expect(page.locator('[data-testid="summary"]')).to_have_text(
        f"Fälle 1 bis 10 von {n}" if de else f"Cases 1 to 10 of {n}")
    labels = STATUS_DE if de else STATUS_EN
    first10 = live.cases[:10]
    expect(page.locator("table tbody tr td:nth-child(2)")).to_have_text(
        [labels[c["status"]] for c in first10])
    expect(page.locator("table tbody tr td:nth-child(4)")).to_have_text(
        [fmt_date(c["created_at"], live.tz, locale) for c in first10])
    no_reply = "Keine Antwort" if de else "No reply"
    expect(page.locator("table tbody tr td:nth-child(5)")).to_have_text(
        [fmt_date(r, live.tz, locale) if (r := last_amazon(c)) else no_reply for c in first10])
    window = page.locator('kat-dropdown[data-testid="date-window"] button')
    expect(window).to_contain_text("Alle" if de else "All")

    case = live.case(lambda c: len(c["messages"]) > 10 and c["status"] != "Closed"
                     and any(m["sender"] == "seller" for m in c["messages"][-10:]))
    page.goto(live.url + VIEW + case["case_id"])
    summary = page.locator('[data-testid="case-summary"]')
    created = fmt_date(case["created_at"], live.tz, locale)
    for line in (f"ID: {case['case_id']}", f"Status: {labels[case['status']]}",
                 f"{'Erstellt' if de else 'Created'}: {created}",
                 f"{'Kategorie' if de else 'Category'}: {case['category']}"):
        expect(summary.get_by_text(line, exact=True)).to_be_visible()
    newest = case["messages"][::-1][:10]
    you = "Sie" if de else "You"
    expect(page.locator('[data-testid="sender-label"]')).to_have_text(
        ["Amazon" if m["sender"] == "amazon" else you for m in newest])
    dates = page.locator("kat-box > div:first-child > div:last-child")
    expect(dates.first.locator("div")).to_have_text(
        [fmt_date(newest[0]["sent_at"], live.tz, locale),
         fmt_time(newest[0]["sent_at"], live.tz, locale)])
    if case["status"] == "Resolved":
        action = "Fall erneut öffnen" if de else "Reopen case"
    else:
        action = "Antworten" if de else "Reply"
    expect(page.locator(f'kat-button[label="{action}"] button')).to_have_text(action)
    older = "Ältere Nachrichten anzeigen" if de else "Show older messages"
    expect(page.locator(f'kat-button[label="{older}"]')).to_have_count(1)
    feedback = page.locator("textarea[placeholder]")
    expect(feedback).to_have_count(1)
    box = page.locator("kat-box").filter(has=page.locator('kat-button[label]')).first
    if box.count():
        more = "Mehr anzeigen" if de else "See more"
        expect(box.locator("kat-button").first).to_have_attribute("label", more)


def test_german_time_zone_names_and_per_start_classes(page: Page, live: Live, berlin: Live):
    case = berlin.case(lambda c: len(c["messages"]) >= 2)
    open_as(page, berlin, VIEW + case["case_id"], locale="de_DE")
    newest = case["messages"][-1]
    expected_time = fmt_time(newest["sent_at"], "Europe/Berlin", "de_DE")
    assert re.search(r" MES?Z$", expected_time)
    dates = page.locator("kat-box > div:first-child > div:last-child")
    expect(dates.first.locator("div")).to_have_text(
        [fmt_date(newest["sent_at"], "Europe/Berlin", "de_DE"), expected_time])
    expect(page.get_by_text("Erstellt: ", exact=False)).to_be_visible()

    def classes(p: Page) -> set[str]:
        return set(p.evaluate("""() => {
            const out = [];
            const walk = (root) => root.querySelectorAll('*').forEach((el) => {
                if (el.hasAttribute('class')) out.push(...el.classList);
                if (el.shadowRoot) walk(el.shadowRoot);
            });
            walk(document);
            return out; }"""))

    berlin_classes = classes(page)
    open_as(page, live, VIEW + live.cases[0]["case_id"])
    expect(page.locator("kat-box").first).to_be_visible()
    la_case = classes(page)
    open_as(page, live, LOBBY)
    expect(page.locator("table tbody tr").first).to_be_visible()
    la_lobby = classes(page)
    for found in (berlin_classes, la_case | la_lobby):
        readable = {c for c in found
                    if c != "view-case" and not re.fullmatch(r"[A-Za-z0-9]{16,}", c)}
        assert not readable, readable
    assert "view-case" in berlin_classes and "view-case" in la_case
    # The same logical element has another hashed name after a restart.
    assert berlin_classes & la_case == {"view-case"}


def test_pages_pass_axe(page: Page, live: Live):
    """The shadow-DOM controls are real, labelled controls (axe reads open shadow roots)."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    case = live.case(lambda c: len(c["messages"]) > 10)
    for path, ready in ((LOBBY + "?window=all", "table tbody tr"),
                        (VIEW + case["case_id"], "kat-box")):
        open_as(page, live, path)
        expect(page.locator(ready).first).to_be_visible()
        violations = axe.run(page).response["violations"]
        assert not violations, [(v["id"], v["nodes"][0]["target"]) for v in violations]


# ---------------------------------------------------------------- contract gaps (audit)

WINDOW_OPTIONS = ["Last 30 days", "Last 90 days", "Last 12 months", "All"]
SHADOW_PROBE = """() => {
    const hosts = ['kat-dropdown[data-testid="date-window"]',
                   'kat-dropdown[data-testid="page-size"]', 'kat-pagination', 'kat-tab',
                   'kat-input[data-testid="search"]',
                   'kat-button[data-testid="search-button"]'];
    const modes = hosts.map((sel) => {
        const el = document.querySelector(sel);
        return el && el.shadowRoot ? el.shadowRoot.mode : null;
    });
    // The clickable parts are only in shadow roots: the light DOM has none of them.
    const light = document.querySelectorAll('button, input, [role=option]').length;
    return {modes, light};
}"""


def test_lobby_controls_are_in_open_shadow_roots_with_the_contract_options(page: Page,
                                                                        live: Live):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    open_as(page, live, LOBBY)
    summary = page.locator('[data-testid="summary"]')
    expect(rows(page).first).to_be_visible()
    probe = page.evaluate(SHADOW_PROBE)
    assert probe == {"modes": ["open"] * 6, "light": 0}

    window = page.locator('kat-dropdown[data-testid="date-window"]')
    expect(window.locator("button")).to_have_text("Last 30 days ▾")
    expect(window.locator("[role=option]")).to_have_text(WINDOW_OPTIONS)  # listbox closed
    size = page.locator('kat-dropdown[data-testid="page-size"]')
    expect(size.locator("button")).to_have_text("10 ▾")
    expect(size.locator("[role=option]")).to_have_text(["10", "25", "50"])
    expect(page.get_by_role("tab")).to_have_text(["All cases", "Needs your attention"])

    # A person picks "Last 90 days", then 25 per page, by the options' visible names.
    now = datetime.now(UTC).timestamp()
    in90 = [c for c in live.cases if when(c["created_at"], "UTC").timestamp() >= now - 90 * 86400]
    window.locator("button").click()
    window.get_by_role("option", name="Last 90 days").click()
    expect(page).to_have_url(re.compile(r"window=90&page=1&size=10"))
    expect(summary).to_have_text(f"Cases 1 to {min(10, len(in90))} of {len(in90)}")
    size.locator("button").click()
    size.get_by_role("option", name="25").click()
    expect(page).to_have_url(re.compile(r"window=90&page=1&size=25"))
    expect(rows(page)).to_have_count(min(25, len(in90)))

    # The status tabs go both ways.
    page.get_by_role("tab", name="Needs your attention").click()
    expect(page).to_have_url(re.compile(r"tab=needs_attention"))
    page.get_by_role("tab", name="All cases").click()
    expect(summary).to_have_text(f"Cases 1 to {min(25, len(in90))} of {len(in90)}")
    assert "tab=all_cases" in page.url
    assert problems == []  # no failed resource (favicon included) and no script error


def test_case_page_messages_are_light_dom_and_bodies_are_the_message_html(page: Page,
                                                                       live: Live):
    case = live.case(lambda c: len(c["messages"]) > 10)
    open_as(page, live, VIEW + case["case_id"])
    expect(page.locator("kat-box")).to_have_count(10)
    api = page.request.get(
        f"{live.url}/hill/hillservice/mons-api/ViewCase?caseId={case['case_id']}"
        f"&timeZone={quote(live.tz)}&pageSize=10").json()["contactList"]
    same = page.evaluate("""(messages) => {
        const boxes = document.querySelectorAll('.view-case kat-box');  // light DOM only
        return Array.from(boxes, (box, i) => {
            const body = box.lastElementChild;
            const want = document.createElement('div');
            want.innerHTML = messages[i].message;
            return [body.tagName === 'DIV' && body.innerHTML === want.innerHTML,
                    body.querySelectorAll('p, br, a, b').length > 0];
        });
    }""", api)
    assert [s for s, _ in same] == [True] * 10
    assert any(markup for _, markup in same)  # rendered as HTML, not shown as text
    newest = case["messages"][::-1][:10]
    expect(page.locator("kat-box > div:first-child > div:last-child")).to_have_text(
        [fmt_date(m["sent_at"], live.tz, "en_US") + fmt_time(m["sent_at"], live.tz, "en_US")
         for m in newest])

    short = live.case(lambda c: len(c["messages"]) <= 10)
    page.goto(live.url + VIEW + short["case_id"])
    expect(page.locator("kat-box")).to_have_count(len(short["messages"]))
    expect(page.locator(".view-case")).to_have_attribute("aria-busy", "false")
    expect(page.locator('kat-button[label="Show older messages"]')).to_have_count(0)


@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE"])
def test_every_status_label_and_no_reply_in_each_locale(page: Page, live: Live, locale: str):
    labels = STATUS_DE if locale == "de_DE" else STATUS_EN
    assert {c["status"] for c in live.cases} == set(labels) - {"Transferred"}  # v1 data
    assert any(last_amazon(c) is None for c in live.cases)
    open_as(page, live, LOBBY + "?window=all&pageSize=50", locale=locale)
    expect(page.locator("table tbody tr td:nth-child(2)")).to_have_text(
        [labels[c["status"]] for c in live.cases])
    no_reply = "Keine Antwort" if locale == "de_DE" else "No reply"
    expect(page.locator("table tbody tr td:nth-child(5)")).to_have_text(
        [fmt_date(r, live.tz, locale) if (r := last_amazon(c)) else no_reply
         for c in live.cases])


def test_german_see_more_see_less_reply_and_reopen(page: Page, live: Live):
    case = live.case(lambda c: any(len(m["text"]) > 700 for m in c["messages"][-10:]))
    open_as(page, live, VIEW + case["case_id"], locale="de_DE")
    index = next(i for i, m in enumerate(case["messages"][::-1]) if len(m["text"]) > 700)
    box = page.locator("kat-box").nth(index)
    box.get_by_role("button", name="Mehr anzeigen").click()
    expect(box.get_by_role("button", name="Weniger anzeigen")).to_be_visible()
    expect(box.locator(":scope > div:last-child")).to_contain_text(
        case["messages"][::-1][index]["text"].split("\n")[-1].strip())
    box.get_by_role("button", name="Weniger anzeigen").click()
    expect(box.get_by_role("button", name="Mehr anzeigen")).to_be_visible()

    resolved = live.case(lambda c: c["status"] == "Resolved")
    page.goto(live.url + VIEW + resolved["case_id"])
    expect(page.get_by_role("button", name="Fall erneut öffnen")).to_be_visible()
    expect(page.get_by_role("button", name="Antworten")).to_have_count(0)
    open_case = live.case(lambda c: c["status"] == "PendingAmazonAction")
    page.goto(live.url + VIEW + open_case["case_id"])
    expect(page.get_by_role("button", name="Antworten")).to_be_visible()
    expect(page.locator('textarea[placeholder="Sagen Sie uns, wie wir waren (Feedback)"]')
           ).to_have_count(1)


def test_german_summer_time_is_mesz(page: Page, berlin: Live):
    """Berlin times in summer carry MESZ (winter MEZ is checked above)."""
    summer = [(c, i) for c in berlin.cases for i, m in enumerate(c["messages"][::-1])
              if when(m["sent_at"], "Europe/Berlin").tzname() == "CEST"]
    assert summer, "12 cases over 400 days should include a summer message"
    case, index = min(summer, key=lambda ci: ci[1])
    message = case["messages"][::-1][index]
    open_as(page, berlin, VIEW + case["case_id"], locale="de_DE")
    expect(page.locator("kat-box").first).to_be_visible()
    if index >= 10:
        load_whole_thread(page, "Ältere Nachrichten anzeigen")
    dates = page.locator("kat-box").nth(index).locator(":scope > div:first-child > div:last-child")
    expect(dates.locator("div")).to_have_text(
        [fmt_date(message["sent_at"], "Europe/Berlin", "de_DE"),
         fmt_time(message["sent_at"], "Europe/Berlin", "de_DE")])
    expect(dates.locator("div").last).to_have_text(re.compile(r"^\d\d:\d\d MESZ$"))


def test_locale_flag_without_cookie_and_london_times(page: Page, portal_factory):
    """--locale is the default when the browser sends no lc-main; London shows GMT/BST."""
    portal = portal_factory("--cases", "6", "--seed", "4", "--locale", "en_GB",
                            "--timezone", "Europe/London")
    london = Live(portal)
    page.goto(london.url + LOBBY + "?window=all")
    sign_in(page, london.cfg)
    expect(page.locator('[data-testid="summary"]')).to_have_text("Cases 1 to 6 of 6")
    assert not [c for c in page.context.cookies() if c["name"] == "lc-main"]
    expect(page.locator("table tbody tr td:nth-child(4)")).to_have_text(
        [fmt_date(c["created_at"], "Europe/London", "en_GB") for c in london.cases])
    case = london.cases[0]
    page.locator("table tbody tr td a").first.click()
    newest = case["messages"][::-1][:10]
    expect(page.locator("kat-box > div:first-child > div:last-child > div:last-child")
           ).to_have_text([fmt_time(m["sent_at"], "Europe/London", "en_GB") for m in newest])
    expect(page.locator("kat-box > div:first-child > div:last-child > div:last-child").first
           ).to_have_text(re.compile(r"^\d\d:\d\d (GMT|BST)$"))
