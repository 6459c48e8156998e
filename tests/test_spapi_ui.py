"""The Support API in the local UI, in a real browser: Amazon's call-backs on home and
the case page, which source saw what last, and Sync now through the Support API."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sync_helpers import FAST, db, login, spapi_login, spapi_sync, sync

from fixtures.harness import UIServer, start_portal


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A v2 portal synced from both sources, its UI serving the archive."""
    home = tmp_path_factory.mktemp("spapi-ui")
    p = start_portal("--cases", "40", "--seed", "29", "--v2-data", *FAST)
    try:
        login(p, home)
        assert spapi_login(p, home).returncode == 0
        sync(p, home)
        spapi_sync(p, home)
        ui = UIServer(home / "caselog.db", home, env={"CASELOG_KEYRING": "0"})
        try:
            yield p, home, ui
        finally:
            ui.stop()
    finally:
        p.stop()


def test_call_backs_show_on_home_and_on_their_case(world, page: Page):
    p, home, ui = world
    with db(home) as conn:
        row = conn.execute("select case_id, phone from appointments where status = "
                           "'SCHEDULED' and latest >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now') "
                           "order by earliest limit 1").fetchone()
    if row is None:
        pytest.skip("this seed scheduled no call-back still to come")
    page.goto(ui.url + "/queue")  # Amazon's call-back is a row of the queue, by its time
    callback = page.locator(f'[data-testid="queue-row"][data-case="{row["case_id"]}"]')
    expect(callback).to_contain_text(re.compile(r"Amazon will call .* between \d\d:\d\d and"))
    page.goto(f"{ui.url}/cases/{row['case_id']}")
    expect(page.get_by_test_id("callback")).to_contain_text(f"Amazon will call {row['phone']}")


def test_the_case_page_says_which_source_saw_what_last(world, page: Page):
    p, home, ui = world
    with db(home) as conn:
        cid = conn.execute("select case_id from case_sources group by case_id "
                           "having count(*) = 2 limit 1").fetchone()[0]
    page.goto(f"{ui.url}/cases/{cid}")
    seen = page.get_by_test_id("sources")
    expect(seen).to_contain_text("Seller Central")
    expect(seen).to_contain_text("the Support API")
    expect(seen).to_contain_text(re.compile(r"Status from (Seller Central|the Support API), "
                                            r"(just now|\d+ min ago)"))


def test_sync_now_can_use_the_support_api(world, page: Page):
    p, home, ui = world
    page.goto(ui.url + "/")
    choice = page.get_by_label("Sync from", exact=True)
    expect(choice.locator("option")).to_have_count(2)
    choice.select_option(label="Amazon's Support API")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#sync")).to_contain_text("Sync finished", timeout=60_000)
    with db(home) as conn:
        last = conn.execute("select source, state from syncs order by id desc").fetchone()
    assert tuple(last) == ("spapi", "ok")
