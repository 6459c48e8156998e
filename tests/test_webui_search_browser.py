"""Search, the keyboard and small screens in a real Chromium, against a real ``caselog
serve`` over a ``benchmarks/make_db.py`` archive (ids shaped like Seller Central's,
Japanese, Chinese and Korean cases, long unbroken message text, hostile markup).

The one test that syncs (Sync now keeps the focus) runs last: it writes a syncs row.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_db import generate  # noqa: E402

from fixtures.harness import UIServer  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    home = tmp_path_factory.mktemp("search-home")
    db = generate(home / "caselog.db", cases=400, messages=4000, seed=11)
    server = UIServer(db, home)
    yield SimpleNamespace(home=home, db=db, url=server.url)
    server.stop()


def sql(archive, query, *params):
    con = sqlite3.connect(archive.db)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def focused(page: Page) -> dict:
    return page.evaluate("""() => { const a = document.activeElement;
        return {tag: a.tagName, id: a.id, text: (a.textContent || '').trim(),
                role: a.getAttribute('role'), value: a.value || ''}; }""")


def one_id(archive, pattern: str) -> tuple[str, str]:
    """A case and an id of it (ASIN, shipment) that its subject or a message names."""
    for case_id, text in sql(archive, "select case_id, subject from cases union all "
                                      "select case_id, text from messages"):
        found = re.search(pattern, text or "")
        if found:
            return case_id, found.group(0)
    raise AssertionError(f"no {pattern} in the archive")


# ---- search ----------------------------------------------------------------------------

def test_a_case_id_typed_in_the_header_opens_the_case(page: Page, archive):
    case_id, subject = sql(archive, "select case_id, subject from cases "
                                    "where subject not like '%<%' limit 1")[0]
    page.goto(archive.url + "/timeline")
    box = page.get_by_label("Search all messages")
    box.fill(case_id)
    box.press("Enter")
    expect(page).to_have_url(f"{archive.url}/cases/{case_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)


@pytest.mark.parametrize("kind, pattern", [("shipment", r"FBA1\d[0-9A-Z]{7}"),
                                           ("ASIN", r"B0[0-9A-Z]{8}")])
def test_six_characters_of_an_id_find_its_case_with_id_status_and_date(
        page: Page, archive, kind, pattern):
    case_id, ident = one_id(archive, pattern)
    status, = sql(archive, "select status from cases where case_id = ?", case_id)[0]
    page.goto(archive.url + "/search")
    page.get_by_label(re.compile("^Words, a case id")).fill(ident[:6])
    expect(page).to_have_url(re.compile(r"q=" + ident[:6]))
    hit = page.locator("#search-results li", has=page.locator(
        f"a[href^='/cases/{case_id}']")).first
    expect(hit).to_be_visible()
    expect(hit).to_contain_text(case_id)
    expect(hit.locator(".badge")).not_to_have_text("")
    expect(hit.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    expect(hit.locator("mark").first).to_have_text(re.compile(ident[:6], re.I))
    assert status  # the badge shows the status label (the portal's words)
    labels = hit.locator(".badge").all_inner_texts()
    assert not any(label in ("PendingMerchantAction", "PendingAmazonAction")
                   for label in labels)


def test_two_characters_of_a_japanese_subject_find_it(page: Page, archive):
    case_id, subject = sql(archive, "select case_id, subject from cases "
                                    "where subject like '%返金請求%' limit 1")[0]
    page.goto(archive.url + "/search")
    page.get_by_label(re.compile("^Words, a case id")).fill("返金")
    subjects = page.get_by_test_id("subject-hits")
    expect(subjects.locator(f"a[href='/cases/{case_id}']")).to_be_visible()
    expect(subjects.locator("mark").first).to_have_text("返金")
    expect(page.locator("#search-results h2").nth(0)).to_contain_text("Subjects")
    # The cases table filters the same way: two characters, then six of a shipment id.
    page.goto(archive.url + "/cases")
    page.get_by_label(re.compile("^Subject, case ID")).fill("返金")
    expect(page).to_have_url(re.compile("q="))
    expect(page.locator(f"table.cases a[href='/cases/{case_id}']")).to_be_visible()
    rows = page.locator("table.cases tbody tr td:nth-child(2)").all_inner_texts()
    assert rows and all("返金" in r for r in rows), rows
    other, ship = one_id(archive, r"FBA1\d[0-9A-Z]{7}")
    page.get_by_label(re.compile("^Subject, case ID")).fill(ship[:6].lower())
    expect(page.locator(f"table.cases a[href='/cases/{other}']")).to_be_visible()


# ---- keyboard --------------------------------------------------------------------------

def test_slash_focuses_search_but_not_while_typing(page: Page, archive):
    case_id = sql(archive, "select case_id from cases limit 1")[0][0]
    page.goto(f"{archive.url}/cases/{case_id}")
    expect(page.locator("#site-q")).to_have_attribute("aria-keyshortcuts", "/")
    page.keyboard.press("/")
    assert focused(page)["id"] == "site-q"
    page.goto(archive.url + "/timeline")
    page.keyboard.press("/")
    assert focused(page)["id"] == "tl-q"  # the page's own search field first
    page.keyboard.type("a/b")
    assert focused(page)["value"] == "a/b"  # typing: a slash is a slash


def test_focus_stays_on_the_sort_and_pager_links_used(page: Page, archive):
    page.goto(archive.url + "/cases")
    link = page.get_by_role("link", name=re.compile("^Subject"))
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("sort=subject"))
    expect(page.locator("th[aria-sort]")).to_contain_text("Subject")
    assert focused(page)["tag"] == "A" and focused(page)["text"].startswith("Subject")
    page.get_by_role("link", name="Next page").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#cases-count")).to_contain_text("page 2 of")
    # The focus comes back after the swap settles: wait for it, never read it at once.
    expect(page.get_by_role("link", name="Next page")).to_be_focused()
    # The last page has no Next page: the focus goes to the line that says where it is.
    pages = int(re.search(r"of (\d+)", page.locator("#cases-count").inner_text()).group(1))
    for n in range(3, pages + 1):
        expect(page.get_by_role("link", name="Next page")).to_be_focused()  # put back
        page.keyboard.press("Enter")
        expect(page.locator("#cases-count")).to_contain_text(f"page {n} of {pages}")
    expect(page.locator("#cases-count")).to_be_focused()


def test_focus_stays_on_the_checklist_control_after_each_action(page: Page, archive):
    case_id = sql(archive, "select case_id from cases where status = 'PendingMerchantAction' "
                           "and subject not like '%<%' limit 1")[0][0]
    page.goto(f"{archive.url}/cases/{case_id}")
    item = page.get_by_test_id("checklist-item").first
    key = item.get_attribute("data-key")
    item.get_by_role("button", name=re.compile("^Mark done")).focus()
    page.keyboard.press("Enter")
    undo = page.locator(f"[data-key='{key}']").get_by_role("button", name=re.compile("^Mark not"))
    expect(undo).to_be_focused()
    page.keyboard.press("Enter")
    redo = page.locator(f"[data-key='{key}']").get_by_role("button", name=re.compile("^Mark done"))
    expect(redo).to_be_focused()
    # A note saved inside a folded section: the section opens again, the button has focus.
    tools = page.locator(f"[data-key='{key}'] details.item-tools")
    tools.locator("summary").click()
    tools.get_by_label("Note").fill("asked the supplier")
    tools.get_by_role("button", name="Save note").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"[data-key='{key}'] .note")).to_have_text("asked the supplier")
    expect(page.locator(f"[data-key='{key}']").get_by_role("button", name="Save note")
           ).to_be_focused()


def test_timeline_apply_adds_one_history_entry(page: Page, archive):
    page.goto(archive.url + "/timeline")
    before = page.evaluate("history.length")
    page.get_by_label("Search message text").fill("invoices")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"q=invoices"))
    expect(page.locator("li.event mark").first).to_be_visible()
    assert page.evaluate("history.length") == before + 1
    page.get_by_label("From").fill("2020-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"from=2020-01-01"))
    expect(page.locator(".filter-summary")).to_contain_text("from: 2020-01-01")
    assert page.evaluate("history.length") == before + 2
    assert focused(page)["text"] == "Apply"  # the form stays, so does the focus
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=invoices$"))


# ---- small screens ---------------------------------------------------------------------

def test_the_case_page_fits_a_390_pixel_screen(page: Page, archive):
    page.set_viewport_size({"width": 390, "height": 844})
    case_id = sql(archive, "select case_id from messages where html like '%<pre>%' "
                           "order by length(html) desc limit 1")[0][0]
    for url in (f"/cases/{case_id}", f"/cases/{case_id}?order=newest", "/search?q=FBA15",
                "/timeline?q=sellercentral", "/"):
        page.goto(archive.url + url)
        expect(page.locator("main")).to_be_visible()
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], (url, width)
    page.goto(f"{archive.url}/cases/{case_id}")
    expect(page.locator("article.message pre").first).to_be_visible()
    expect(page.locator("#replies")).to_be_visible()


# ---- last: this one writes a syncs row --------------------------------------------------

def test_sync_now_keeps_the_focus_on_the_button_or_its_message(page: Page, archive):
    """No saved session in this CASELOG_HOME: the sync stops at once (sign in first)."""
    page.goto(archive.url + "/")
    button = page.get_by_role("button", name="Sync now")
    button.focus()
    page.keyboard.press("Enter")
    state = page.locator("#sync .sync-state")
    expect(state).to_contain_text("session has expired", timeout=60_000)
    expect(page.get_by_role("button", name="Sync now")).to_be_focused()
