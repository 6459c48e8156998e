"""The local UI in a real Chromium, against a real ``caselog serve`` subprocess over a
database synced from the simulated portal (40 cases, seed 2: its subjects and messages
hold ``<script>``, ``onerror`` and ``onload`` text).

One portal, one sync and one UI server per module; the tests that sync again (Sync now,
the expired session) run last because they change the portal and the database.
"""

from __future__ import annotations

import re
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sync_helpers import signed_in_and_synced

from fixtures.harness import UIServer, start_portal

PORTAL_ARGS = ("--cases", "40", "--seed", "2")


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    home = tmp_path_factory.mktemp("webui-home")
    portal = start_portal(*PORTAL_ARGS)
    try:
        cfg = portal.sim("config")
        signed_in_and_synced(portal, home, "--download-attachments")
        yield SimpleNamespace(portal=portal, home=home, db=home / "caselog.db", cfg=cfg)
    finally:
        portal.stop()


@pytest.fixture(scope="module")
def ui(synced):
    server = UIServer(synced.db, synced.home, ready_path="/sync/status")
    yield server
    server.stop()


def sql(synced, query, *params):
    con = sqlite3.connect(synced.db)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def no_serious_axe(page: Page) -> None:
    results = Axe().run(page)
    bad = [v for v in results.response["violations"]
           if v.get("impact") in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


# ---- pages ----------------------------------------------------------------------------

def test_home_lists_changes_and_charts(page: Page, ui, synced):
    page.goto(ui.url + "/")
    owing = {c for c, in sql(synced, "select case_id from cases where status = "
                                     "'PendingMerchantAction'")}
    queue = page.locator("#queue")
    expect(queue.get_by_role("heading", name=re.compile("What Amazon wants"))).to_be_visible()
    dues = queue.get_by_test_id("queue-row").evaluate_all("els => els.map(e => e.dataset.due)")
    assert dues == sorted(dues)  # soonest deadline (most overdue) first
    page.goto(ui.url + "/queue")
    listed = set(page.get_by_test_id("queue-row").evaluate_all(
        "els => els.map(e => e.dataset.case)"))
    page.goto(ui.url + "/queue?group=stale")
    listed |= set(page.get_by_test_id("queue-row").evaluate_all(
        "els => els.map(e => e.dataset.case)"))
    assert owing <= listed  # every case that owes an answer, recent or stale
    page.goto(ui.url + "/")
    waiting = sql(synced, "select count(*) from cases "
                          "where status in ('PendingAmazonAction', 'Reopened')")[0][0]
    expect(page.get_by_role("heading", name=re.compile("Waiting on Amazon"))).to_contain_text(
        f"({waiting})")
    rows = page.locator("section[aria-labelledby=waiting-h] li")
    if waiting:
        waits = [int(re.search(r"(\d+) days? waiting", t).group(1))
                 for t in rows.all_inner_texts()]
        assert waits == sorted(waits, reverse=True)  # longest wait first
    expect(page.locator("section[aria-labelledby=changes-h]")).to_contain_text("New cases (40)")
    charts = page.get_by_role("img")
    expect(charts).to_have_count(2)
    expect(page.locator("svg title").first).to_contain_text("opened and resolved per week")
    no_serious_axe(page)


def test_timeline_grouped_by_day_with_infinite_scroll(page: Page, ui, synced):
    page.goto(ui.url + "/timeline")
    events = page.locator("li.event")
    expect(events).to_have_count(50)
    expect(page.locator("li.day h2").first).to_be_visible()
    page.locator("li.sentinel").scroll_into_view_if_needed()
    expect(events).to_have_count(100)
    for _ in range(20):
        if page.locator("li.sentinel").count() == 0:
            break
        page.locator("li.sentinel").scroll_into_view_if_needed()
        page.wait_for_function("n => document.querySelectorAll('li.event').length > n",
                               arg=events.count())
    expect(page.locator("li.end")).to_contain_text("That is everything")
    (msgs, cases, changes), = sql(
        synced, "select (select count(*) from messages), (select count(*) from cases),"
                " (select count(*) from status_history where previous_status is not null)")
    expect(page.locator("li.event-message")).to_have_count(msgs)
    expect(page.locator("li.event-opened")).to_have_count(cases)
    expect(page.locator("li.event-status")).to_have_count(changes)
    keys = events.evaluate_all("els => els.map(e => e.dataset.key)")
    assert len(keys) == len(set(keys))
    times = events.locator("time").evaluate_all("els => els.map(e => e.dateTime)")
    assert times == sorted(times, reverse=True)
    # Days do not repeat across pages.
    days = page.locator("li.day h2").all_inner_texts()
    assert len(days) == len(set(days))
    no_serious_axe(page)


def test_timeline_filters_live_in_the_url_and_back_restores_them(page: Page, ui):
    page.goto(ui.url + "/timeline")
    page.get_by_label("Status").select_option("Resolved")
    expect(page).to_have_url(re.compile(r"status=Resolved"))
    badges = page.locator("li.event .badge")
    expect(badges.first).to_be_visible()
    assert set(badges.all_inner_texts()) == {"Resolved"}
    page.get_by_label("Sender").select_option("amazon")
    expect(page).to_have_url(re.compile(r"sender=amazon"))
    expect(page.locator("li.event .sender").first).to_have_text("Amazon")
    assert set(page.locator("li.event .sender").all_inner_texts()) == {"Amazon"}
    page.go_back()
    expect(page).to_have_url(re.compile(r"status=Resolved$"))
    expect(page.get_by_label("Sender")).to_have_value("")
    expect(page.get_by_label("Status")).to_have_value("Resolved")
    expect(page.locator("li.event-opened").first).to_be_visible()  # not only messages now
    page.go_back()
    expect(page).to_have_url(ui.url + "/timeline")
    expect(page.get_by_label("Status")).to_have_value("")


def test_timeline_search_highlights_matches(page: Page, ui, synced):
    page.goto(ui.url + "/timeline")
    page.get_by_label("Search message text").fill("invoices")
    expect(page).to_have_url(re.compile(r"q=invoices"))
    marks = page.locator("li.event mark")
    expect(marks.first).to_be_visible()
    # Search is stemmed (migration 5): every mark is a form of the word asked for.
    forms = {m.lower() for m in marks.all_inner_texts()}
    assert forms and forms <= {"invoice", "invoices", "invoiced"}, forms
    expected = sql(synced, "select count(*) from messages_fts where messages_fts match 'invoices'")
    expect(page.locator("li.event")).to_have_count(min(50, expected[0][0]))


def test_search_page_marks_subjects_and_messages(page: Page, ui):
    page.goto(ui.url + "/")
    page.get_by_label("Search all messages").fill("shipment")
    page.get_by_label("Search all messages").press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=shipment"))
    expect(page.locator("#search-results mark").first).to_have_text(re.compile("shipment", re.I))
    no_serious_axe(page)


def test_cases_table_sorts_and_filters(page: Page, ui, synced):
    page.goto(ui.url + "/cases")
    expect(page.locator("#cases-count")).to_contain_text("40 cases")
    page.get_by_label("You owe an answer").select_option("yes")
    owing = sql(synced, "select count(*) from cases where status = 'PendingMerchantAction'")[0][0]
    expect(page.locator("#cases-count")).to_contain_text(f"{owing} case")
    expect(page).to_have_url(re.compile("owes=yes"))
    for cell in page.locator("table.cases tbody tr td:nth-child(7)").all_inner_texts():
        assert cell == "Yes"
    page.get_by_label("You owe an answer").select_option("")
    expect(page.locator("#cases-count")).to_contain_text("40 cases")
    page.get_by_role("link", name=re.compile("^Case ID")).click()
    expect(page).to_have_url(re.compile("sort=id"))
    ids = page.locator("table.cases tbody tr td:first-child").all_inner_texts()
    assert ids == sorted(ids, reverse=True)
    page.get_by_role("link", name=re.compile("^Case ID")).click()
    expect(page).to_have_url(re.compile("dir=asc"))
    expect(page.locator("table.cases tbody tr td:first-child").first).to_have_text(min(ids))
    no_serious_axe(page)


def test_case_page_summary_history_thread_and_toggle(page: Page, ui, synced):
    case_id, subject, n = sql(synced, "select c.case_id, c.subject, count(*) from cases c "
                                      "join messages m using (case_id) group by c.case_id "
                                      "order by count(*) desc limit 1")[0]
    page.goto(f"{ui.url}/cases/{case_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    link = page.get_by_role("link", name="Open this case in Seller Central")
    expect(link).to_have_attribute(
        "href", f"{synced.portal.url}/cu/case-dashboard/view-case?caseID={case_id}")
    expect(page.locator("ol.history li")).not_to_have_count(0)
    messages = page.locator("article.message")
    expect(messages).to_have_count(n)
    first = messages.first.locator("time").get_attribute("datetime")
    page.locator("#order-toggle").click()
    expect(page).to_have_url(re.compile("order=newest"))
    assert messages.first.locator("time").get_attribute("datetime") >= first
    assert messages.last.locator("time").get_attribute("datetime") == first
    no_serious_axe(page)


def test_downloaded_attachment_is_served_as_a_download(page: Page, ui, synced):
    rows = sql(synced, "select case_id, attachment_id, name, local_path from attachments "
                       "where local_path is not null limit 1")
    assert rows, "the sync with --download-attachments should have stored a file"
    case_id, _, name, local_path = rows[0]
    page.goto(f"{ui.url}/cases/{case_id}")
    with page.expect_download() as info:
        page.locator("ul.attachments a", has_text=name).first.click()
    download = info.value
    assert download.suggested_filename == name
    assert Path(download.path()).read_bytes() == (synced.home / local_path).read_bytes()


def test_hostile_portal_content_stays_inert_text(page: Page, ui, synced):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    hostile = sql(synced, "select distinct case_id from messages where text like '%<script>%' "
                          "union select case_id from cases where subject like '%<script>%' "
                          "or subject like '%onerror%' or subject like '%onload%'")
    assert hostile, "the seed-2 portal should hold hostile text"
    for (case_id,) in hostile:
        page.goto(f"{ui.url}/cases/{case_id}")
        expect(page.locator("article.case")).to_be_visible()
        expect(page.locator("main img, main iframe, main [onload], main [onerror], "
                            "main script:not([src^='/static/'])")).to_have_count(0)
    page.goto(ui.url + "/search?q=script")
    expect(page.locator("#search-results").get_by_text("<script>alert(1)</script>").first
           ).to_be_visible()
    page.goto(ui.url + "/cases?q=alert")
    expect(page.locator("table.cases").get_by_text(re.compile("alert")).first).to_be_visible()
    page.goto(ui.url + "/timeline?q=alert")
    expect(page.locator("li.event").first).to_be_visible()
    page.goto(ui.url + "/")
    assert dialogs == []
    # Only scripts served from /static: nothing inline, nothing from the portal's data.
    srcs = page.locator("script").evaluate_all("els => els.map(e => e.getAttribute('src'))")
    assert srcs and all(s and s.startswith("/static/") for s in srcs)


def test_security_headers_host_allowlist_and_csrf(ui):
    with urllib.request.urlopen(ui.url + "/") as r:
        h = r.headers
        assert "script-src 'self'" in h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "no-referrer"
    req = urllib.request.Request(ui.url + "/", headers={"Host": f"rebind.example:{ui.port}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 403 and b"Unknown host" in err.value.read()
    req = urllib.request.Request(ui.url + "/sync/", data=b"x=1", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    body = err.value.read()
    assert err.value.code == 403 and b"<h1>" in body and b"Traceback" not in body


# ---- sync now (these change the portal and the database: keep them last) -----------------

def test_sync_now_shows_progress_then_result(page: Page, ui, synced):
    changed = synced.portal.sim("mutate", {"new_cases": 3, "new_replies": 4,
                                           "status_changes": 2})
    synced.portal.sim("faults", {"latency_ms": 700})
    try:
        page.goto(ui.url + "/")
        page.get_by_role("button", name="Sync now").click()
        expect(page.locator("#sync-progress")).to_be_visible()
        expect(page.get_by_role("button", name="Sync now")).to_be_disabled()
        expect(page.locator("#sync-progress")).to_have_attribute("value", re.compile(r"\d+"),
                                                                 timeout=30_000)
        state = page.locator("#sync .sync-state")
        expect(state).to_contain_text("Sync finished", timeout=60_000)
        expect(state).to_contain_text(f"{len(changed['new_cases'])} new cases")
        expect(page.get_by_role("button", name="Sync now")).to_be_enabled()
    finally:
        synced.portal.sim("faults", {"latency_ms": 0})
    page.get_by_role("link", name="Reload to see what changed").click()
    changes = page.locator("section[aria-labelledby=changes-h]")
    expect(changes).to_contain_text(f"New cases ({len(changed['new_cases'])})")
    expect(changes).to_contain_text(changed["new_cases"][0])


def test_sync_now_with_expired_session_says_to_log_in(page: Page, ui, synced):
    synced.portal.sim("expire-sessions", {})
    page.goto(ui.url + "/")
    page.get_by_role("button", name="Sync now").click()
    state = page.locator("#sync .sync-state")
    expect(state).to_contain_text("session has expired", timeout=60_000)
    expect(state).to_contain_text(f"caselog login --portal {synced.portal.url}")
    no_serious_axe(page)
    # The stopped sync saved nothing: home still shows what the previous sync found.
    page.reload()
    expect(page.locator("section[aria-labelledby=changes-h]")).to_contain_text("New cases (3)")
