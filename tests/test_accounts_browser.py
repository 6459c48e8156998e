"""The UI across seller accounts in a real Chromium, against a real ``caselog serve``:
two accounts on two simulated portals of different seeds, ``default`` (CASELOG_HOME
itself) through the browser session and ``brand2`` through the Support API. The switcher
keeps the kind of page and puts the account in the URL; the All accounts queue merges
both by deadline, with an account column and a filter that htmx swaps in (Back returns);
Sync all syncs one account after the other, each with its own progress and result, and
each account's new replies land in that account only; the notifications badge, list and
Mark read after a ``caselog watch --once --all``; axe on All accounts and the switcher.

One pair of portals, one first sync through the CLI and one UI server per module; the
tests that sync again come last.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from accounts_helpers import (
    FAST_SPAPI,
    add_portal_account,
    add_spapi_account,
    caselog,
    notify_urls,
    query,
)
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sync_helpers import env

from fixtures.harness import UIServer, run_caselog, start_portal

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)

expect.set_options(timeout=20_000)  # a shared, busy machine: conditions, not sleeps
ACCOUNTS = ("default", "brand2")
ROOTS = {"default": "", "brand2": "/a/brand2"}
SLOW_MS = 250  # per portal request during Sync all: each sync outlives a few 1 s polls


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("accounts-browser")
    p1 = start_portal("--cases", "40", "--seed", "41", "--v2-data")
    p2 = start_portal("--cases", "40", "--seed", "42", "--v2-data", *FAST_SPAPI)
    try:
        add_portal_account(p1, home, "default")
        add_spapi_account(p2, home, "brand2")
        for name in ACCOUNTS:
            caselog(home, name, "sync")
            notify_urls(home, name, [])  # the watch's notifications: stored, sent nowhere
        ui = UIServer(home / "caselog.db", home, env={"CASELOG_KEYRING": "0"},
                      ready_path="/all/")
        try:
            yield SimpleNamespace(home=home, ui=ui, url=ui.url,
                                  portals={"default": p1, "brand2": p2})
        finally:
            ui.stop()
    finally:
        p1.stop()
        p2.stop()


def case_ids(world, name: str) -> set[str]:
    return {r[0] for r in query(world.home, name, "select case_id from cases")}


def open_switcher(page: Page):
    switcher = page.get_by_test_id("account-switcher")
    switcher.locator("summary").click()
    expect(switcher.get_by_role("link", name="All accounts")).to_be_visible()
    return switcher


def shown_cases(page: Page) -> set[str]:
    """The case ids the main part of the page links to (the header left out)."""
    hrefs = page.locator("main a[href*='/cases/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))")
    return {h.split("/cases/")[1].split("#")[0].split("?")[0] for h in hrefs}


def test_the_two_accounts_hold_different_cases(world):
    a, b = case_ids(world, "default"), case_ids(world, "brand2")
    assert len(a) == len(b) == 40 and not a & b  # different seeds, different ids


def test_switcher_keeps_the_page_and_puts_the_account_in_the_url(world, page: Page):
    page.goto(world.url + "/timeline")
    switcher = page.get_by_test_id("account-switcher")
    expect(switcher.locator("summary")).to_have_text("default")
    links = open_switcher(page).get_by_role("link")
    expect(links).to_have_text(["All accounts", "default", "brand2"])
    expect(switcher.get_by_role("link", name="default")).to_have_attribute(
        "aria-current", "page")

    switcher.get_by_role("link", name="brand2").click()
    expect(page).to_have_url(world.url + "/a/brand2/timeline")
    expect(switcher.locator("summary")).to_have_text("brand2")
    expect(page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Timeline")).to_have_attribute("aria-current", "page")
    shown = shown_cases(page)
    assert shown and shown <= case_ids(world, "brand2")
    hrefs = page.locator("main a[href*='/cases/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))")
    assert all(h.startswith("/a/brand2/cases/") for h in hrefs), hrefs[:5]

    page.goto(world.url + "/a/brand2/cases")  # another kind of page, the other way
    open_switcher(page).get_by_role("link", name="default").click()
    expect(page).to_have_url(world.url + "/cases")
    assert shown_cases(page) <= case_ids(world, "default")

    one = sorted(case_ids(world, "brand2"))[0]  # a case of one account has no twin:
    page.goto(f"{world.url}/a/brand2/cases/{one}")  # the switcher goes to the other's home
    open_switcher(page).get_by_role("link", name="default").click()
    expect(page).to_have_url(world.url + "/")

    open_switcher(page).get_by_role("link", name="All accounts").click()
    expect(page).to_have_url(world.url + "/all/")
    expect(page.get_by_role("heading", name="All accounts", exact=True)).to_be_visible()
    expect(switcher.locator("summary")).to_have_text("All accounts")


def queue_rows(page: Page) -> list[dict]:
    return page.get_by_test_id("all-queue-row").evaluate_all(
        "els => els.map(e => ({account: e.dataset.account, case: e.dataset.case,"
        " due: e.dataset.due, shown: e.querySelector('[data-testid=row-account]')"
        ".textContent.trim(), href: e.querySelector('a[href*=\"/cases/\"]')"
        ".getAttribute('href')}))")


def test_all_accounts_queue_merges_by_deadline_and_filters_by_account(world, page: Page):
    page.goto(world.url + "/all/")
    expect(page.get_by_test_id("all-queue-row").first).to_be_visible()
    rows = queue_rows(page)
    assert {r["account"] for r in rows} == set(ACCOUNTS)
    assert [r["due"] for r in rows] == sorted(r["due"] for r in rows)
    mine = {name: case_ids(world, name) for name in ACCOUNTS}
    for r in rows:
        assert r["shown"] == r["account"] and r["case"] in mine[r["account"]], r
        assert r["href"] == f"{ROOTS[r['account']]}/cases/{r['case']}"
    expect(page.get_by_test_id("all-queue").get_by_role("columnheader", name="Account")) \
        .to_be_visible()

    page.evaluate("window.caselogMark = 'same page'")  # survives an htmx swap only
    page.get_by_role("combobox", name="Account").select_option("brand2")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(world.url + "/all/?account=brand2")
    expect(page.locator('[data-testid="all-queue-row"][data-account="default"]')) \
        .to_have_count(0)
    only = [r for r in rows if r["account"] == "brand2"]
    expect(page.get_by_test_id("all-queue-row")).to_have_count(len(only))
    assert page.evaluate("window.caselogMark") == "same page"
    assert [r["case"] for r in queue_rows(page)] == [r["case"] for r in only]

    page.go_back()
    expect(page).to_have_url(world.url + "/all/")
    expect(page.get_by_test_id("all-queue-row")).to_have_count(len(rows))
    expect(page.get_by_role("combobox", name="Account")).to_have_value("")


def serious(page: Page) -> list:
    found = [v for v in Axe().run(page).response["violations"]
             if v.get("impact") in ("serious", "critical")]
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found]


def test_all_accounts_and_the_switcher_pass_axe(world, page: Page):
    page.goto(world.url + "/all/")
    expect(page.get_by_test_id("all-queue-row").first).to_be_visible()
    assert not serious(page)
    open_switcher(page)
    assert not serious(page)
    page.goto(world.url + "/a/brand2/timeline")
    open_switcher(page)
    assert not serious(page)


# --- these sync again --------------------------------------------------------------

WATCH_ROWS = """() => {
  window.caselogSeen = [];
  const note = () => {
    const rows = [...document.querySelectorAll('[data-testid=sync-all-row]')].map(r =>
      r.dataset.account + '=' + r.dataset.state + (r.querySelector('progress') ? '+bar' : ''));
    const now = rows.join(' ');
    if (window.caselogSeen.at(-1) !== now) window.caselogSeen.push(now);
  };
  new MutationObserver(note).observe(document.querySelector('main'),
                                     {subtree: true, childList: true, attributes: true});
  note();
}"""


def last_sync(world, name: str) -> tuple:
    return query(world.home, name, "select id, state, source, started_at, finished_at "
                 "from syncs order by id desc limit 1")[0]


def new_replies(world, name: str, sync_id: int) -> set[str]:
    return {r[0] for r in query(world.home, name, "select case_id from changes where "
                                "sync_id = ? and kind = 'new_reply'", [sync_id])}


def sync_row(page: Page, name: str):
    return page.locator(f'[data-testid="sync-all-row"][data-account="{name}"]')


def test_sync_all_syncs_one_account_after_the_other(world, page: Page):
    mutated = {name: set(p.sim("mutate", {"new_replies": 2})["new_replies"])
               for name, p in world.portals.items()}
    before = {name: last_sync(world, name)[0] for name in ACCOUNTS}
    page.goto(world.url + "/all/")
    expect(page.get_by_test_id("sync-all-row")).to_have_count(2)
    page.evaluate(WATCH_ROWS)
    for p in world.portals.values():
        p.sim("faults", {"latency_ms": SLOW_MS})
    try:
        page.get_by_role("button", name="Sync all").click()
        for name in ACCOUNTS:
            expect(sync_row(page, name)).to_have_attribute("data-state", "ok",
                                                           timeout=120_000)
    finally:
        for p in world.portals.values():
            p.sim("faults", {"latency_ms": 0})
    expect(page.get_by_role("button", name="Sync all")).to_be_enabled()
    seen = page.evaluate("window.caselogSeen")
    print("Sync all, as the page showed it:", seen)
    assert "default=running+bar brand2=waiting" in seen, seen
    assert "default=ok brand2=running+bar" in seen, seen
    assert seen.index("default=running+bar brand2=waiting") \
        < seen.index("default=ok brand2=running+bar"), seen
    assert seen[-1] == "default=ok brand2=ok", seen
    for name in ACCOUNTS:
        expect(sync_row(page, name)).to_contain_text("Sync finished")
        expect(sync_row(page, name)).to_contain_text(
            f"{len(mutated[name])} new Amazon replies")

    synced = {name: last_sync(world, name) for name in ACCOUNTS}
    assert synced["default"][1:3] == ("ok", "portal")
    assert synced["brand2"][1:3] == ("ok", "spapi")
    assert all(synced[n][0] == before[n] + 1 for n in ACCOUNTS)  # one sync each
    assert synced["brand2"][3] >= synced["default"][4]  # the second after the first
    for name in ACCOUNTS:
        assert new_replies(world, name, synced[name][0]) == mutated[name]

    # each account's new replies are on its own timeline, never on the other's
    for name, other in (("default", "brand2"), ("brand2", "default")):
        page.goto(world.url + ROOTS[name] + "/timeline")
        for cid in mutated[name]:
            expect(page.locator("li.event[data-kind=message]", has_text=cid).first) \
                .to_contain_text("Amazon")
        assert not shown_cases(page) & mutated[other]
        for cid in mutated[name]:  # nor a page for it under the other account
            assert page.request.get(f"{world.url}{ROOTS[other]}/cases/{cid}").status == 404


def unread(world, name: str) -> int:
    return query(world.home, name, "select count(*) from notifications where not read")[0][0]


def badge(page: Page):
    return page.get_by_test_id("notify-badge")


def test_notifications_badge_list_and_mark_read(world, page: Page):
    for p in world.portals.values():
        p.sim("mutate", {"new_replies": 2})
    r = run_caselog("watch", "--once", "--all", env=env(world.home, CASELOG_KEYRING="0"))
    assert r.returncode == 0, f"{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    counts = {name: unread(world, name) for name in ACCOUNTS}
    assert all(n >= 2 for n in counts.values()), counts  # two replies each, at least

    page.goto(world.url + "/all/")
    expect(badge(page)).to_have_text(str(sum(counts.values())))
    page.goto(world.url + "/a/brand2/")
    expect(badge(page)).to_have_text(str(counts["brand2"]))

    page.goto(world.url + "/all/notifications")
    items = page.get_by_test_id("notification")
    expect(items).to_have_count(sum(counts.values()))
    for name in ACCOUNTS:
        expect(items.and_(page.locator(f'[data-account="{name}"]'))).to_have_count(
            counts[name])
        expect(items.and_(page.locator(f'[data-account="{name}"]')).first.get_by_test_id(
            "row-account")).to_have_text(name)
    links = items.evaluate_all("els => els.map(e => [e.dataset.account, e.querySelector("
                               "'a[href*=\"/cases/\"]')?.getAttribute('href')])")
    for name, href in links:  # each into its own account's case
        assert href is None or href.startswith(f"{ROOTS[name]}/cases/"), (name, href)
        assert href is None or href.split("/cases/")[1] in case_ids(world, name)

    page.goto(world.url + "/a/brand2/notifications")
    items = page.get_by_test_id("notification")
    expect(items).to_have_count(counts["brand2"])
    assert shown_cases(page) <= case_ids(world, "brand2")
    expect(items.first).to_contain_text("[brand2]")  # titles name a named account
    items.first.get_by_role("button", name="Mark read").click()
    expect(badge(page)).to_have_text(str(counts["brand2"] - 1))
    expect(page).to_have_url(world.url + "/a/brand2/notifications")
    assert unread(world, "brand2") == counts["brand2"] - 1
    page.goto(world.url + "/")
    expect(badge(page)).to_have_text(str(counts["default"]))  # the other one's untouched

    page.goto(world.url + "/all/notifications")
    expect(badge(page)).to_have_text(str(sum(counts.values()) - 1))
    page.get_by_role("button", name="Mark all read").click()
    expect(badge(page)).to_have_count(0)
    assert [unread(world, n) for n in ACCOUNTS] == [0, 0]
