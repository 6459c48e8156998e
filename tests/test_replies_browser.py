"""Documented replies in a real Chromium against real ``caselog serve`` subprocesses over
a database synced from the simulated portal (the shared read-only 60-case portal), on a
case where Amazon asked for invoices and a plan of action.

Every test stands alone, in any order and with ``-k``: tests that only look share one
server over the synced database (safe, since no GET writes); tests that act get a copy
of the synced home and a server of their own, and set up what they need first (a file
attached, a draft filled in) through the companion library.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page, expect
from replies_helpers import companion_db

from fixtures.harness import UIServer, run_caselog

PDF = b"%PDF-1.4\n% caselog test invoice\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
INVOICE = "invoice-acme-2026.pdf"
MAX_BYTES = 200_000  # the servers' evidence cap in this module
SERVER_ENV = {"CASELOG_EVIDENCE_MAX_BYTES": str(MAX_BYTES)}


def _choose_case(home: Path) -> SimpleNamespace:
    from companion.replies import checklists

    with companion_db(home) as db:
        rows = list(db.query("select case_id, status from cases order by "
                             "status = 'PendingMerchantAction' desc, created_at desc"))
        resolved = next(r["case_id"] for r in rows if r["status"] == "Resolved")
        for row in rows:
            latest = {a["kind"]: a["sentence"] for a in checklists.case_asks(db, row["case_id"])}
            if {"invoices", "plan_of_action"} <= set(latest) and row["status"] in (
                    "PendingMerchantAction", "Closed", "Answered"):
                return SimpleNamespace(case_id=row["case_id"], status=row["status"],
                                       sentences=latest, resolved=resolved)
    raise AssertionError("the portal data has no case asking for invoices and a plan of action")


@pytest.fixture(scope="module")
def synced(shared_portal, tmp_path_factory):
    home = tmp_path_factory.mktemp("replies-home")
    cfg = shared_portal.sim("config")
    env = {"CASELOG_HOME": str(home), "CASELOG_PASSWORD": cfg["password"]}
    r = run_caselog("login", "--portal", shared_portal.url, "--email", cfg["email"],
                    "--headless", env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    r = run_caselog("sync", "--portal", shared_portal.url, env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    # Every case waiting on the seller is overdue at once, so the home page must show it.
    (home / "replies.toml").write_text("[defaults]\nanswer_within_days = 0\n")
    # A hostile user template for the plain "reply" situation (resolved cases).
    (home / "templates").mkdir()
    (home / "templates" / "reply.j2").write_text(
        "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    chosen = _choose_case(home)
    return SimpleNamespace(home=home, db=home / "caselog.db", case=chosen,
                           resolved=chosen.resolved)


@pytest.fixture(scope="module")
def looking(synced):
    """One server over the synced database for tests that only look."""
    server = UIServer(synced.db, synced.home, env=SERVER_ENV)
    yield server
    server.stop()


@pytest.fixture
def acting(synced, tmp_path):
    """A copy of the synced home with a server of its own, for a test that changes it."""
    home = tmp_path / "home"
    shutil.copytree(synced.home, home, ignore=shutil.ignore_patterns("serve-*.log"))
    # ready once it answers at all: the test's own first page pays for the cold caches
    server = UIServer(home / "caselog.db", home, env=SERVER_ENV, ready_path="/sync/status")
    yield SimpleNamespace(url=server.url, home=home, db=home / "caselog.db",
                          case=synced.case, resolved=synced.resolved)
    server.stop()


@pytest.fixture
def open_page(browser):
    """New pages in contexts of their own, all closed after the test."""
    contexts = []

    def make(base_url: str, dialogs_fail: bool = True, **options) -> Page:
        context = browser.new_context(base_url=base_url, accept_downloads=True, **options)
        contexts.append(context)
        page = context.new_page()
        if dialogs_fail:
            page.on("dialog", lambda d: pytest.fail(f"unexpected dialog: {d.message}"))
        return page

    yield make
    for context in contexts:
        context.close()


# --- state a test starts from, set up through the companion library ------------------

def attach_invoice(home: Path, case_id: str) -> dict:
    from companion.replies import checklists, evidence

    with companion_db(home) as db:
        item = next(i for i in checklists.refresh(db, case_id) if i["key"] == "invoices:recent")
        return evidence.attach(db, case_id, PDF, INVOICE, item_id=item["id"])


def fill_draft(home: Path, case_id: str, ready: bool = False, sent: bool = False) -> str:
    """The case's draft with every placeholder filled in ("Acme GmbH"); its text."""
    from companion.replies import drafts

    with companion_db(home) as db:
        d = drafts.ensure(db, case_id)
        d = drafts.save(db, case_id, d["id"], drafts.PLACEHOLDER.sub("Acme GmbH", d["body"]))
        if ready or sent:
            drafts.mark_ready(db, case_id, d["id"])
        if sent:
            drafts.mark_sent(db, case_id, d["id"])
        return d["body"]


def _item(page: Page, key: str):
    return page.locator(f'[data-testid="checklist-item"][data-key="{key}"]')


def _attach(page: Page, key: str, name: str, data: bytes, mime: str = "application/pdf"):
    item = _item(page, key)
    tools = item.locator("details.item-tools")
    if not tools.evaluate("d => d.open"):  # the panel keeps open the section last used
        item.locator("summary").click()
    item.locator('input[type="file"]').set_input_files(
        {"name": name, "mimeType": mime, "buffer": data})
    item.get_by_role("button", name="Attach", exact=True).click()


def _write_draft(page: Page) -> None:
    """Open the draft: the case page renders no template until the person asks."""
    page.get_by_role("button", name="Write the draft").click()
    expect(page.locator("#draft-body")).to_be_visible()


def _stored_files(home: Path) -> list[Path]:
    return [p for p in (home / "evidence").rglob("*") if p.is_file()]


# --- looking --------------------------------------------------------------------------

def test_home_queue_leads_with_what_is_wanted(open_page, looking, synced):
    page = open_page(looking.url)
    page.goto("/")
    queue = page.locator("#queue")
    expect(queue).to_be_visible()
    expect(page.locator("main section").nth(1)).to_have_id("queue")  # after Sync, first
    expect(queue.get_by_role("heading", level=2)).to_contain_text(re.compile(r"\(\d+\)"))
    if synced.case.status == "PendingMerchantAction":
        page.goto("/queue")
        row = page.locator(f'[data-testid="queue-row"][data-case="{synced.case.case_id}"]')
        if not row.count():  # old silence: the stale group holds it
            page.goto("/queue?group=stale")
        expect(row).to_contain_text("Answer Amazon")
        expect(row.locator(".rel")).to_contain_text(re.compile(r"overdue|in \d+"))
        page.goto(f"/timeline?case={synced.case.case_id}")  # and it is on the timeline
        expect(page.locator('[data-kind="reminder"]')).to_contain_text("Answer Amazon (overdue)")


def test_checklist_items_quote_the_asking_sentences(open_page, looking, synced):
    page = open_page(looking.url)
    page.goto(f"/cases/{synced.case.case_id}")
    for kind in ("invoices", "plan_of_action"):
        # the group holding the items quotes the sentence that asked for them
        group = page.locator(f'[data-testid="checklist-group"][data-checklist="{kind}"]')
        expect(group.get_by_test_id("asked-sentence")).to_have_text(
            f"Amazon asked: “{synced.case.sentences[kind]}”")
        expect(group.get_by_test_id("checklist-item").first).to_be_visible()
    expect(_item(page, "invoices:supplier")).to_contain_text("Supplier name, address, phone")
    # the draft is written when the person opens it, not by looking
    expect(page.get_by_role("button", name="Write the draft")).to_be_visible()
    expect(page.locator("#draft-body")).to_have_count(0)


def test_cases_table_shows_progress_of_cases_nobody_opened(open_page, looking, synced):
    from companion.replies.asks import detect

    page = open_page(looking.url)
    page.goto("/cases")
    row = page.locator("table.cases tr", has=page.get_by_role(
        "link", name=synced.case.case_id, exact=True))
    expect(row.locator(".evidence-cell")).to_contain_text(re.compile(r"0/[1-9]\d*"))
    with sqlite3.connect(synced.db) as conn:
        rows = conn.execute(
            "select c.case_id, m.text from cases c join messages m using (case_id) where "
            "c.status = 'PendingMerchantAction' and c.case_id != ? and m.sender = 'amazon'",
            [synced.case.case_id]).fetchall()
    other = next((cid for cid, text in rows if detect(text)), None)
    assert other, "the portal data has no second case asking the seller"
    page.goto("/cases?status=PendingMerchantAction")
    row = page.locator("table.cases tr", has=page.get_by_role("link", name=other, exact=True))
    expect(row.locator(".evidence-cell")).to_contain_text(re.compile(r"0/[1-9]\d*"))


def test_hostile_template_is_a_clear_error(open_page, looking, synced):
    page = open_page(looking.url)
    page.goto(f"/cases/{synced.resolved}")
    page.get_by_role("button", name="Write the draft").click()
    expect(page.locator("#replies")).to_contain_text("template reply.j2: not allowed")
    expect(page.locator("#draft-body")).to_have_count(0)
    expect(page.locator("#thread-h")).to_be_visible()  # the rest of the page still works


# --- acting ---------------------------------------------------------------------------

def test_tick_attach_remove(open_page, acting):
    page = open_page(acting.url)
    page.goto(f"/cases/{acting.case.case_id}")
    before = int(page.locator("#checklist-h .count").inner_text().split()[0])
    _item(page, "invoices:recent").get_by_role("button", name=re.compile("^Mark done")).click()
    expect(_item(page, "invoices:recent")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#checklist-h .count")).to_contain_text(f"{before + 1} of")
    page.reload()  # ticks survive a reload (stored, not just swapped in)
    expect(_item(page, "invoices:recent")).to_have_class(re.compile(r"\bdone\b"))

    _attach(page, "invoices:recent", INVOICE, PDF)
    link = _item(page, "invoices:recent").get_by_role("link", name=INVOICE)
    expect(link).to_be_visible()
    with page.expect_download() as dl:
        link.click()
    assert Path(dl.value.path()).read_bytes() == PDF

    _attach(page, "plan_of_action:root_cause", "draft-poa.txt", b"Root cause: ...\n",
            "text/plain")
    poa = _item(page, "plan_of_action:root_cause")
    expect(poa.get_by_test_id("evidence")).to_contain_text("draft-poa.txt")
    assert len(_stored_files(acting.home)) == 2
    poa.get_by_role("button", name="Remove draft-poa.txt").click()
    expect(_item(page, "plan_of_action:root_cause").get_by_test_id("evidence")).to_have_count(0)
    expect(page.locator("#replies-status")).to_contain_text("Removed draft-poa.txt")
    assert len(_stored_files(acting.home)) == 1


def test_draft_lists_evidence_and_placeholders_block_ready(open_page, acting):
    attach_invoice(acting.home, acting.case.case_id)
    page = open_page(acting.url)
    page.goto(f"/cases/{acting.case.case_id}")
    _write_draft(page)
    body = page.locator("#draft-body")
    expect(body).to_have_value(re.compile(re.escape(INVOICE)))
    expect(body).to_have_value(re.compile(r"\[[^\]]+\]"))
    expect(page.get_by_test_id("placeholders")).to_contain_text("to fill in")
    page.get_by_role("button", name="Mark ready").click()
    expect(page.locator("#replies-status .alert")).to_contain_text(
        "cannot mark ready: fill in the placeholders first")
    expect(page.get_by_test_id("draft-state")).to_have_text("Draft")
    expect(page.get_by_role("button", name="Mark sent")).to_have_count(0)

    filled = re.sub(r"\[[^\[\]\n]+\]", "Acme GmbH", body.input_value())
    body.fill(filled)
    page.get_by_role("button", name="Mark ready").click()
    expect(page.get_by_test_id("draft-state")).to_have_text("Ready to send")
    expect(page.locator("#draft-body")).to_have_value(filled)
    # the generated text (stored when the draft was opened) and the person's edit
    expect(page.locator("details.history summary")).to_contain_text("(2 revisions)")


def test_copy_to_clipboard(open_page, acting):
    text = fill_draft(acting.home, acting.case.case_id)
    page = open_page(acting.url)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=acting.url)
    page.goto(f"/cases/{acting.case.case_id}")
    button = page.get_by_role("button", name="Copy to clipboard")
    expect(button).to_be_visible()
    button.click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#draft-body").input_value() == text
    assert "Acme GmbH" in copied and "[" not in copied


def test_mark_sent_appears_on_timeline_and_ends_the_reminder(open_page, acting):
    fill_draft(acting.home, acting.case.case_id, ready=True)
    case_id = acting.case.case_id
    page = open_page(acting.url)
    row = f'[data-testid="queue-row"][data-case="{case_id}"]'
    if acting.case.status == "PendingMerchantAction":
        page.goto("/queue?group=stale")
        stale = page.locator(row).count()
        page.goto("/queue")
        expect(page.locator(row)).to_have_count(0 if stale else 1)
    page.goto(f"/cases/{case_id}")
    page.get_by_role("button", name="Mark sent").click()
    expect(page.locator("#replies-status")).to_contain_text("Marked sent")
    page.goto(f"/timeline?case={case_id}")
    event = page.locator('[data-kind="draft_sent"]')
    expect(event).to_have_count(1)
    expect(event).to_contain_text("You marked a reply sent")
    # the answer is on its way: the case is in no part of the queue
    for part in ("", "?group=stale", "?group=snoozed"):
        page.goto("/queue" + part)
        expect(page.locator(row)).to_have_count(0)


def test_dossier_download(open_page, acting, tmp_path):
    ev = attach_invoice(acting.home, acting.case.case_id)
    fill_draft(acting.home, acting.case.case_id)
    page = open_page(acting.url)
    page.goto(f"/cases/{acting.case.case_id}")
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download dossier").first.click()
    assert dl.value.suggested_filename.startswith(f"caselog-dossier-{acting.case.case_id}")
    html = Path(dl.value.path()).read_text()
    assert ev["sha256"] == hashlib.sha256(PDF).hexdigest() and ev["sha256"] in html
    assert INVOICE in html and acting.case.sentences["invoices"] in html
    low = html.lower()
    assert "<script" not in low, html[max(0, low.find("<script") - 300):low.find("<script") + 80]
    assert "Acme GmbH" in html
    # it opens as a page of its own, with nothing to run
    saved = tmp_path / dl.value.suggested_filename
    dl.value.save_as(saved)
    page.goto(saved.as_uri())
    expect(page.get_by_role("heading", level=1)).to_contain_text(acting.case.case_id)


def test_bad_files_get_clear_errors(open_page, acting):
    case_id = acting.case.case_id
    page = open_page(acting.url)
    page.goto(f"/cases/{case_id}")
    status = page.locator("#replies-status")
    _attach(page, "invoices:supplier", "huge.pdf", b"%PDF-" + b"0" * (MAX_BYTES + 10))
    expect(status).to_contain_text("larger than")
    _attach(page, "invoices:supplier", "setup.exe", b"MZ\x90\x00", "application/octet-stream")
    expect(status).to_contain_text("type .exe is not allowed")
    _attach(page, "invoices:supplier", "invoice.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    expect(status).to_contain_text("named .pdf but its content is png")
    expect(_item(page, "invoices:supplier").get_by_test_id("evidence")).to_have_count(0)
    assert _stored_files(acting.home) == []

    # A hostile name sent by hand (a browser strips folders itself) becomes a safe name.
    token = page.locator('#replies input[name="csrf_token"]').first.input_value()
    resp = page.request.post(f"/cases/{case_id}/evidence", multipart={
        "csrf_token": token,
        "file": {"name": "../../../../etc/cron.d/evil.pdf", "mimeType": "application/pdf",
                 "buffer": PDF}})
    assert resp.ok
    page.reload()
    expect(page.locator("#replies").get_by_role("link", name="evil.pdf",
                                                exact=True)).to_be_visible()
    assert [p for p in acting.home.parent.rglob("evil*")] == []
    resp = page.request.post(f"/cases/{case_id}/evidence", multipart={
        "file": {"name": "x.pdf", "mimeType": "application/pdf", "buffer": PDF}})
    assert resp.status == 403  # no CSRF token, refused


def test_panels_are_accessible(open_page, acting):
    """With files, a draft history and a sent reply, so that every part of the panel is
    on the page axe checks."""
    from axe_playwright_python.sync_playwright import Axe

    attach_invoice(acting.home, acting.case.case_id)
    fill_draft(acting.home, acting.case.case_id, sent=True)
    page = open_page(acting.url)
    for url in (f"/cases/{acting.case.case_id}", "/"):
        page.goto(url)
        page.locator("#replies, #queue").first.wait_for()
        results = Axe().run(page)
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
        assert bad == [], bad


def test_replies_survive_reparse(open_page, acting):
    """``caselog reparse`` deletes and rebuilds the cases; the seller's checklist ticks,
    files, drafts and sent events must come through untouched."""
    from companion.replies import checklists

    case_id = acting.case.case_id
    attach_invoice(acting.home, case_id)
    fill_draft(acting.home, case_id, sent=True)
    with companion_db(acting.home) as db:
        item = next(i for i in checklists.items(db, case_id) if i["key"] == "invoices:recent")
        checklists.set_done(db, case_id, item["id"], True)
    tables = ("checklist_items", "evidence", "drafts", "draft_revisions", "draft_events")

    def counts():
        with sqlite3.connect(acting.db) as con:
            return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}

    before = counts()
    assert before["evidence"] and before["draft_events"]
    r = run_caselog("reparse", env={"CASELOG_HOME": str(acting.home)}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert counts() == before
    page = open_page(acting.url)
    page.goto(f"/cases/{case_id}")
    expect(_item(page, "invoices:recent")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.get_by_role("link", name=INVOICE)).to_be_visible()


def test_works_without_javascript(open_page, acting):
    """Hypermedia first: with scripts off, every action is a form post and a redirect."""
    page = open_page(acting.url, java_script_enabled=False)
    page.goto(f"/cases/{acting.case.case_id}")
    expect(page.get_by_role("button", name="Copy to clipboard")).to_be_hidden()
    item = _item(page, "invoices:buyer")
    item.get_by_role("button", name=re.compile("^Mark done")).click()
    expect(page).to_have_url(re.compile(rf"/cases/{acting.case.case_id}#replies$"))
    expect(page.locator("#replies-status")).to_contain_text(
        "Done: Your name and address as on your seller account")
    expect(_item(page, "invoices:buyer")).to_have_class(re.compile(r"\bdone\b"))
    _attach(page, "invoices:buyer", "no-js.pdf", PDF + b"% no js\n")
    expect(page.locator("#replies-status")).to_contain_text("Attached no-js.pdf")
    expect(_item(page, "invoices:buyer").get_by_test_id("evidence")).to_contain_text(
        "no-js.pdf")


def test_unsaved_draft_edits_ask_before_leaving(open_page, acting):
    page = open_page(acting.url, dialogs_fail=False)
    dialogs = []

    def on_dialog(d):
        dialogs.append(d.type)
        d.dismiss()  # stay on the page

    page.on("dialog", on_dialog)
    page.goto(f"/cases/{acting.case.case_id}")
    _write_draft(page)
    page.locator("#draft-body").click()
    page.keyboard.type(" more words")
    page.get_by_role("link", name="Cases", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/cases/{acting.case.case_id}$"))
    assert dialogs == ["beforeunload"]
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#replies-status")).to_contain_text("Draft saved.")
    expect(page.locator("#draft-body")).to_have_value(re.compile(r" more words"))
    page.get_by_role("link", name="Cases", exact=True).click()
    expect(page).to_have_url(re.compile(r"/cases$"))
    assert dialogs == ["beforeunload"]  # saved: no second question
