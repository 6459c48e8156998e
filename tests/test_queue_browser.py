"""The seller's day in a real Chromium at 1366 x 768, on the demo's data: the bundled
portal with ``--cases 300 --seed 7 --v2-data`` synced through the CLI, a real ``caselog
serve``. Home's first screen holds Sync now and the top of the queue; the queue holds
every case that needs the seller's answer, by deadline; snooze, nothing to do and undo;
what changed since the person last looked; a reply marked sent in the thread, its status
line and no new draft, then merged with the portal's copy by a later sync; repeated asks
in words; the cases table's CSV read back with ``csv``.

One portal, one sync, one UI server per module; the tests that sync again come last.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from types import SimpleNamespace

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sync_helpers import signed_in_and_synced

from fixtures.harness import UIServer, run_caselog, start_portal

expect.set_options(timeout=20_000)  # a shared, busy machine: conditions, not sleeps
DEMO = ("--cases", "300", "--seed", "7", "--v2-data")  # what `caselog demo` serves
SCREEN = {"width": 1366, "height": 768}
ANSWER = ("Hello,\nplease find attached the invoices from our supplier for the last "
          "twelve months.\nKind regards, Jane Doe, Acme GmbH")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("queue-home")
    portal = start_portal(*DEMO)
    try:
        env = signed_in_and_synced(portal, home, timeout=400)
        yield SimpleNamespace(portal=portal, home=home, db=home / "caselog.db", env=env)
    finally:
        portal.stop()


@pytest.fixture(scope="module")
def ui(demo):
    server = UIServer(demo.db, demo.home, ready_path="/sync/status")
    yield server
    server.stop()


@pytest.fixture
def screen(page: Page, ui) -> Page:
    page.set_viewport_size(SCREEN)
    page.set_default_timeout(20_000)
    return page


def sql(demo, query, *params):
    con = sqlite3.connect(demo.db)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def in_view(page: Page, locator) -> None:
    box = locator.bounding_box()
    assert box is not None, locator
    assert 0 <= box["y"] and box["y"] + box["height"] <= SCREEN["height"], box
    assert 0 <= box["x"] and box["x"] + box["width"] <= SCREEN["width"], box


def rows_of(page: Page, url: str) -> list[tuple[str, str]]:
    """(case, due) of every row a page of the queue shows, following its Next pages."""
    page.goto(url)
    found = []
    while True:
        found += [tuple(x) for x in page.get_by_test_id("queue-row").evaluate_all(
            "els => els.map(e => [e.dataset.case, e.dataset.due])")]
        more = page.get_by_role("link", name="Next page")
        if not more.count():
            return found
        page.goto(page.url.split("/queue")[0] + more.get_attribute("href"))


# ---- reading ----------------------------------------------------------------------------

def test_first_screen_holds_sync_now_and_the_top_of_the_queue(screen: Page, ui):
    screen.goto(ui.url + "/")
    sync_now = screen.get_by_role("button", name="Sync now")
    first = screen.get_by_test_id("queue-row").first
    expect(sync_now).to_be_visible()
    expect(first).to_be_visible()
    assert screen.evaluate("window.scrollY") == 0
    in_view(screen, sync_now)
    in_view(screen, first)
    in_view(screen, screen.get_by_role("heading", name=re.compile("What Amazon wants")))
    # the first row says what is wanted and by when
    expect(first.locator(".qwhat")).to_have_text(re.compile(
        r"Answer Amazon|Reopen window closes|Follow up with Amazon|Send what Amazon asked "
        r"for|Be ready for Amazon's call"))
    expect(first.locator(".qwhen time")).to_have_text(re.compile(r"\w{3} \d\d \w{3} \d\d:\d\d"))
    bad = [v for v in Axe().run(screen).response["violations"]
           if v.get("impact") in ("serious", "critical")]
    assert not bad, [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


def test_the_queue_holds_every_case_that_needs_an_answer_by_deadline(screen: Page, ui, demo):
    listed = rows_of(screen, ui.url + "/queue")
    stale = rows_of(screen, ui.url + "/queue?group=stale")
    snoozed = rows_of(screen, ui.url + "/queue?group=snoozed")
    for part in (listed, stale):
        assert [due for _, due in part] == sorted(due for _, due in part)
    cases = [c for c, _ in listed + stale + snoozed]
    assert len(cases) == len(set(cases))  # one row each
    owing = {c for c, in sql(demo, "select case_id from cases where status = "
                                   "'PendingMerchantAction'")}
    assert owing and owing <= set(cases)
    # home shows the top of the same list, and the stale group with its count
    home = rows_of(screen, ui.url + "/")
    assert home == listed[:len(home)]
    group = screen.get_by_test_id("stale-group")
    expect(group.locator("summary")).to_contain_text(f"{len(stale)} case")
    group.locator("summary").click()  # its rows come when opened
    expect(group.get_by_test_id("queue-row")).to_have_count(min(len(stale), 50))
    assert home[0] == listed[0]


def test_repeated_asks_are_said_on_the_case_and_marked_in_the_queue(screen: Page, ui, demo):
    from companion.replies import repeats
    from companion.schema import open_db

    db = open_db(demo.db)
    try:
        found = {}
        for (cid,) in db.execute("select distinct case_id from case_asks order by case_id"):
            found = {"case": cid, "repeats": repeats.for_case(db, cid)}
            if found["repeats"]:
                break
    finally:
        db.conn.close()
    assert found.get("repeats"), "the demo's data should hold a repeated ask"
    screen.goto(f"{ui.url}/cases/{found['case']}")
    said = screen.get_by_test_id("repeats")
    for rep in found["repeats"]:
        expect(said).to_contain_text(rep["sentence"])
        assert re.match(r"Amazon asked for .+ (on|twice:|\d+ times:) ", rep["sentence"])
    for part in ("", "?group=stale"):
        rows = rows_of(screen, f"{ui.url}/queue{part}")
        at = [n for n, (c, _) in enumerate(rows) if c == found["case"]]
        if at:  # the page of 50 rows that holds it
            screen.goto(f"{ui.url}/queue{part}{'&' if part else '?'}page={at[0] // 50 + 1}")
            row = screen.locator(f'[data-testid=queue-row][data-case="{found["case"]}"]')
            expect(row.get_by_test_id("repeat-mark")).to_contain_text("asked")
            break


def test_csv_download_reads_back_with_the_csv_module(screen: Page, ui, demo, tmp_path):
    screen.goto(ui.url + "/cases?owes=yes&sort=deadline&dir=asc")
    expect(screen.locator("th[aria-sort]")).to_contain_text("Next deadline")
    with screen.expect_download() as got:
        screen.get_by_test_id("download-csv").click()
    path = tmp_path / "cases.csv"
    got.value.save_as(path)
    with open(path, newline="", encoding="utf-8-sig") as f:  # Excel's byte-order mark
        rows = list(csv.DictReader(f))
    owing = {c for c, in sql(demo, "select case_id from cases where status = "
                                   "'PendingMerchantAction'")}
    assert {r["Case ID"] for r in rows} == owing
    assert {r["Status"] for r in rows} == {"Needs your attention"}
    dated = [r["Next deadline"] for r in rows if r["Next deadline"]]
    assert dated == sorted(dated) and all(r["Wanted"] == "Answer Amazon" for r in rows)


# ---- acting (these write: snoozes, marks, a sent reply) ------------------------------------

def test_snooze_nothing_to_do_and_undo(screen: Page, ui):
    screen.goto(ui.url + "/")
    first = screen.get_by_test_id("queue-row").first
    case_id = first.get_attribute("data-case")
    row = screen.locator(f'[data-testid=queue-row][data-case="{case_id}"]')
    row.locator("summary").click()
    row.get_by_role("button", name="Until tomorrow").click()
    status = screen.locator("#queue-status")
    expect(status).to_contain_text(f"case {case_id}: Snoozed until")
    expect(row).to_have_count(0)
    screen.get_by_test_id("undo-last").click()
    expect(status).to_contain_text("is back in the queue")
    expect(screen.get_by_test_id("queue-row").first).to_have_attribute("data-case", case_id)
    # nothing to do: out of the list, into the snoozed group, and back with its Undo
    row.get_by_role("button", name=f"Nothing to do for case {case_id}").click()
    expect(status).to_contain_text("Nothing to do until the case moves")
    expect(screen.locator(f'[data-testid=queue] [data-case="{case_id}"]')).to_have_count(0)
    group = screen.get_by_test_id("snoozed-group")
    group.locator("summary").click()
    marked = group.locator(f'[data-case="{case_id}"]')
    expect(marked).to_contain_text("Nothing to do until the case moves")
    marked.get_by_role("button", name=f"Undo for case {case_id}").click()
    expect(status).to_contain_text("is back in the queue")
    expect(screen.get_by_test_id("queue-row").first).to_have_attribute("data-case", case_id)
    screen.goto(f"{ui.url}/timeline?case={case_id}")
    events = screen.locator("li.event[data-kind^=mark_]")
    expect(events).to_have_count(4)
    expect(events.first).to_contain_text("You undid a snooze or mark")
    expect(screen.locator("li.event[data-kind=mark_snooze]")).to_contain_text("You snoozed")


def _owing_case(demo) -> str:
    """A case that owes an answer, not an account-health appeal (its draft asks for a
    plan the test does not write), with a draft that can be marked sent."""
    rows = sql(demo, "select case_id from cases where status = 'PendingMerchantAction' "
                     "and coalesce(category, '') not like '%Health%' order by case_id")
    return rows[0][0]


def test_mark_sent_shows_the_reply_in_the_thread_and_no_new_draft(screen: Page, ui, demo):
    case_id = _owing_case(demo)
    screen.goto(f"{ui.url}/cases/{case_id}")
    screen.get_by_role("button", name="Write the draft").click()
    screen.locator("#draft-body").fill(ANSWER)
    screen.get_by_role("button", name="Mark ready").click()
    expect(screen.get_by_test_id("draft-state")).to_have_text("Ready to send")
    screen.get_by_role("button", name="Mark sent").click()
    expect(screen.locator("#replies-status")).to_contain_text("Marked sent")
    copy = screen.get_by_test_id("sent-copy")
    expect(copy).to_have_count(1)
    expect(copy).to_contain_text("please find attached the invoices")
    expect(copy.get_by_test_id("sent-from")).to_contain_text("Sent from caselog")
    expect(screen.get_by_test_id("status-line")).to_contain_text(
        re.compile(r"You answered on \d\d \w{3} \d{4} \d\d:\d\d; waiting for Amazon"))
    expect(screen.locator("#draft-body")).to_have_count(0)
    expect(screen.get_by_test_id("answered")).to_contain_text(
        "A new draft starts when Amazon writes again")
    screen.reload()  # still no draft: nothing starts one by itself
    expect(screen.locator("#draft-body")).to_have_count(0)
    screen.goto(ui.url + "/queue")
    expect(screen.locator(f'[data-testid=queue-row][data-case="{case_id}"]')).to_have_count(0)


# ---- syncing again (last: they change the portal and the database) --------------------------

def test_a_later_sync_merges_the_sent_reply_and_home_says_what_changed(screen: Page, ui,
                                                                        demo):
    case_id = _owing_case(demo)
    screen.goto(ui.url + "/")
    screen.get_by_role("button", name="Mark as seen").click()
    expect(screen.locator("#changes")).to_contain_text("Nothing new since then.")
    expect(screen.get_by_test_id("since-look")).to_contain_text("nothing new")
    # Amazon answers two other cases; the seller sends the text in Seller Central
    replied = demo.portal.sim("mutate", {"new_replies": 2})["new_replies"]
    assert case_id not in replied  # the portal's picks are seeded: always the same
    sent = demo.portal.sim("seller-reply", {"case_id": case_id, "text": ANSWER})
    sync = run_caselog("sync", "--portal", demo.portal.url, env=demo.env, timeout=400)
    assert sync.returncode == 0, sync.stderr
    screen.goto(f"{ui.url}/cases/{case_id}")
    expect(screen.get_by_test_id("sent-copy")).to_have_count(0)
    merged = screen.get_by_test_id("sent-merged")
    expect(merged).to_have_count(1)
    expect(merged).to_contain_text("please find attached the invoices")
    expect(merged.locator("time")).to_have_attribute("datetime", sent["sent_at"])
    expect(screen.get_by_test_id("status-line")).to_contain_text("waiting for Amazon")
    expect(screen.locator("#draft-body")).to_have_count(0)  # Amazon has not written
    screen.goto(ui.url + "/")
    changes = screen.locator("#changes")
    expect(changes).to_contain_text("What changed since you last looked")
    expect(changes).to_contain_text(f"New replies from Amazon ({len(set(replied))})")
    for other in replied:
        expect(changes).to_contain_text(other)
    expect(screen.get_by_test_id("since-look")).to_contain_text(re.compile(r"\d+ changes?"))
    owing_now = {c for c, in sql(demo, "select case_id from cases where status = "
                                       "'PendingMerchantAction'")}
    for other in set(replied) & owing_now:  # Amazon's new word makes it wanted, and new
        row = screen.locator(f'[data-testid=queue] [data-case="{other}"]')
        if row.count():
            expect(row.get_by_test_id("new-since-look")).to_be_visible()
