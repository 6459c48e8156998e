"""Preparing a new case end to end, in a real Chromium against a real ``caselog serve``
over a database synced from a simulated portal of its own (it is changed: a case is
opened there).

The portal makes up the new case itself (``POST /__sim/mutate {"new_cases": 1}``: a
category and one seller message, from its seed). So a twin portal with the same seed is
asked first what that case will be, and the test prepares exactly that case: the topic
of its category, the description the seller then "pastes" into Seller Central. Then the
real portal opens it, a sync brings it, and caselog offers to attach the work.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page, expect
from replies_helpers import companion_db
from sync_helpers import signed_in_and_synced

from fixtures.harness import UIServer, run_caselog, start_portal

SEED, CASES = "11", "24"
PDF = b"%PDF-1.4\n% caselog test statement\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STATEMENT = "bank-statement-2026.pdf"


def _coming_case() -> dict:
    """The case the portal's first mutation will open: asked of a twin portal."""
    twin = start_portal("--cases", CASES, "--seed", SEED)
    try:
        cid = twin.sim("mutate", {"new_cases": 1})["new_cases"][0]
        return next(c for c in twin.sim("truth")["cases"] if c["case_id"] == cid)
    finally:
        twin.stop()


def _choose_topic(home: Path, category: str) -> SimpleNamespace:
    """A built-in topic of the coming case's category that a stored open case is on."""
    from companion.newcase import duplicates as matching
    from companion.newcase import topics

    with companion_db(home) as db:
        for topic in topics.library().values():
            if topics.same_category(topic, category):
                warned = matching.warnings(db, topic, "")
                if warned:
                    return SimpleNamespace(id=topic["id"], title=topic["title"],
                                           warned=warned[0]["case_id"],
                                           first_item=topic["evidence"][0]["text"])
    raise AssertionError(f"no stored open case on a topic of {category!r}: change SEED")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    coming = _coming_case()
    portal = start_portal("--cases", CASES, "--seed", SEED)
    home = tmp_path_factory.mktemp("newcase-home")
    try:
        env = signed_in_and_synced(portal, home)
        server = UIServer(home / "caselog.db", home)
    except BaseException:
        portal.stop()
        raise
    yield SimpleNamespace(portal=portal, home=home, env=env, server=server, coming=coming,
                          topic=_choose_topic(home, coming["category"]))
    server.stop()
    portal.stop()


@pytest.fixture
def page(browser, world):
    context = browser.new_context(base_url=world.server.url, accept_downloads=True)
    p = context.new_page()
    p.on("dialog", lambda d: pytest.fail(f"unexpected dialog: {d.message}"))
    yield p
    context.close()


def _prepare_with_warning(page: Page, world) -> str:
    """Pick the topic from the header's New case link; the warning shows before anything
    is written; go on anyway. Returns the preparation's URL."""
    with companion_db(world.home) as db:
        before = db["prepared_cases"].count
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prepare a new case")
    page.get_by_role("link", name=world.topic.title, exact=True).click()
    warning = page.get_by_test_id("duplicate-warning")
    expect(warning).to_contain_text("A case on this topic is already open")
    link = warning.locator(f'a[href="/cases/{world.topic.warned}"]')
    expect(link).to_be_visible()
    expect(warning.locator(f'[data-case="{world.topic.warned}"]')).to_contain_text(
        f"case {world.topic.warned} instead of opening a new one")
    with companion_db(world.home) as db:
        assert db["prepared_cases"].count == before  # looking wrote nothing
    link.click()
    expect(page).to_have_url(re.compile(f"/cases/{world.topic.warned}$"))
    page.go_back()
    page.get_by_role("button", name="Prepare a new case anyway").click()
    expect(page).to_have_url(re.compile(r"/cases/new/\d+$"))
    return page.url


def _fill_in(page: Page, world) -> None:
    """Placeholders block "ready"; the seller writes the facts, as they will paste them."""
    expect(page.get_by_test_id("placeholders")).to_contain_text("to fill in before it is ready")
    expect(page.locator("#description-body")).to_have_value(
        re.compile(rf"Related cases: {world.topic.warned}\."))
    page.get_by_role("button", name="Mark ready").click()
    expect(page.locator(".alert")).to_contain_text("cannot mark ready: fill in the placeholders")
    expect(page.get_by_test_id("prepared-state")).to_have_text("Draft")
    page.locator("#subject").fill(world.coming["subject"])
    page.locator("#description-body").fill(world.coming["messages"][0]["text"])
    page.get_by_role("button", name="Mark ready").click()
    expect(page.get_by_test_id("prepared-state")).to_have_text("Ready to open in Seller Central")
    expect(page.get_by_test_id("placeholders")).to_have_count(0)


def _attach_and_download(page: Page, tmp_path: Path) -> None:
    item = page.get_by_test_id("prepared-item").first
    item.locator('input[type="file"]').set_input_files(
        {"name": STATEMENT, "mimeType": "application/pdf", "buffer": PDF})
    item.get_by_role("button", name="Attach", exact=True).click()
    expect(page.get_by_test_id("prepared-item").first.get_by_test_id("prepared-file")
           ).to_contain_text(STATEMENT)
    with page.expect_download() as info:
        page.get_by_test_id("prepared-dossier").click()
    saved = tmp_path / "dossier.html"
    info.value.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert STATEMENT in html and hashlib.sha256(PDF).hexdigest() in html
    assert "What Amazon needs to decide it" in html and "Ready to open" in html
    assert "<script" not in html and not re.search(r"(src|href)=['\"]?https?:", html)


def test_prepare_warn_attach_and_find_it_on_the_new_case(page, world, tmp_path):
    url = _prepare_with_warning(page, world)
    _fill_in(page, world)
    _attach_and_download(page, tmp_path)
    page.goto("/cases/new")
    listed = page.get_by_test_id("prepared-list")
    expect(listed).to_contain_text(world.coming["subject"])
    expect(listed.get_by_test_id("attach-offer")).to_have_count(0)  # nothing opened yet

    # The seller opens the case in Seller Central; the next sync brings it.
    opened = world.portal.sim("mutate", {"new_cases": 1})["new_cases"]
    assert opened == [world.coming["case_id"]]  # the twin told the truth
    r = run_caselog("sync", "--portal", world.portal.url, env=world.env, timeout=180)
    assert r.returncode == 0, r.stderr
    cid = world.coming["case_id"]
    page.goto("/cases/new")
    offer = page.locator(f'[data-testid="attach-offer"][data-case="{cid}"]')
    expect(offer).to_contain_text("Found in Seller Central")
    page.goto(url)
    expect(page.get_by_role("heading", name="Is this the case you opened?")).to_be_visible()
    page.get_by_role("button", name=f"Attach this work to case {cid}").click()

    expect(page).to_have_url(re.compile(f"/cases/{cid}#prepared$"))
    on_case = page.get_by_test_id("prepared-on-case")
    expect(on_case.get_by_test_id("prepared-description")).to_contain_text(
        world.coming["messages"][0]["text"].splitlines()[0])
    item = page.locator('[data-testid="checklist-item"][data-key^="prepared:"]').first
    expect(item).to_contain_text(world.topic.first_item)
    expect(item.get_by_test_id("evidence")).to_contain_text(STATEMENT)

    # caselog reparse rebuilds the cases; the work stays on the case
    r = run_caselog("reparse", env={"CASELOG_HOME": str(world.home)}, timeout=120)
    assert r.returncode == 0, r.stderr
    page.reload()
    expect(page.get_by_test_id("prepared-on-case")).to_be_visible()
    page.goto(url)
    expect(page.get_by_test_id("attached-to")).to_contain_text(f"case {cid}")


def test_new_case_pages_pass_axe(page, world):
    """The chooser, a topic with its warning and a preparation are labelled, ordered
    pages (axe-core; the preparation made here through the library, not the pages)."""
    from axe_playwright_python.sync_playwright import Axe

    from companion.newcase import pages as newcase
    from companion.newcase import prepared

    with companion_db(world.home) as db:
        pid = newcase.prepare(db, world.topic.id)["id"]
    axe = Axe()
    try:
        for path, ready in (("/cases/new", "topic"), (f"/cases/new?topic={world.topic.id}",
                                                      "duplicate-warning"),
                            (f"/cases/new/{pid}", "prepared-item")):
            page.goto(path)
            expect(page.get_by_test_id(ready).first).to_be_visible()
            violations = axe.run(page).response["violations"]
            assert not violations, [(v["id"], v["nodes"][0]["target"]) for v in violations]
    finally:  # the other test must not find a second preparation on offer
        with companion_db(world.home) as db:
            prepared.discard(db, pid)
