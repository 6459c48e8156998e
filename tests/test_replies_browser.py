"""Documented replies in a real Chromium against a real ``caselog serve`` subprocess over
a database synced from the simulated portal (the shared read-only 60-case portal).

The flow runs in order on one case where Amazon asked for invoices and a plan of action:
checklist items with their sentences, tick, attach and remove, the draft listing the
evidence, placeholders blocking "ready", copy, mark sent on the timeline, the home
reminder, the dossier; then bad input (oversized, wrong type, hostile names, hostile
template text).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page, expect

from fixtures.harness import UIServer, run_caselog

PDF = b"%PDF-1.4\n% caselog test invoice\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MAX_BYTES = 200_000  # the server's evidence cap in this module


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

    os.environ["CASELOG_HOME"] = str(home)  # for the companion calls below
    try:
        from companion.replies import checklists
        from companion.schema import open_db

        db = open_db(home / "caselog.db")
        chosen = None
        rows = list(db.query("select case_id, status from cases order by "
                             "status = 'PendingMerchantAction' desc, created_at desc"))
        for row in rows:
            asks = checklists.scan_asks(db, row["case_id"])
            latest = {}
            for a in asks:
                latest[a["kind"]] = a["sentence"]
            if {"invoices", "plan_of_action"} <= set(latest) and row["status"] in (
                    "PendingMerchantAction", "Closed", "Answered"):
                chosen = SimpleNamespace(case_id=row["case_id"], status=row["status"],
                                         sentences=latest)
                break
        resolved = next(r["case_id"] for r in rows if r["status"] == "Resolved")
        db.conn.close()
    finally:
        del os.environ["CASELOG_HOME"]
    assert chosen, "the portal data has no case asking for invoices and a plan of action"
    return SimpleNamespace(home=home, db=home / "caselog.db", case=chosen, resolved=resolved)


@pytest.fixture(scope="module")
def ui(synced):
    server = UIServer(synced.db, synced.home,
                      env={"CASELOG_EVIDENCE_MAX_BYTES": str(MAX_BYTES)})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_page(browser, ui):
    context = browser.new_context(base_url=ui.url, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ui.url)
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"unexpected dialog: {d.message}"))
    yield page
    context.close()


def _item(page: Page, key: str):
    return page.locator(f'[data-testid="checklist-item"][data-key="{key}"]')


def _attach(page: Page, key: str, name: str, data: bytes, mime: str = "application/pdf"):
    item = _item(page, key)
    item.locator("summary").click()
    item.locator('input[type="file"]').set_input_files(
        {"name": name, "mimeType": mime, "buffer": data})
    item.get_by_role("button", name="Attach", exact=True).click()


def test_01_home_reminder_leads(shared_page: Page, synced):
    page = shared_page
    page.goto("/")
    reminders = page.locator("#reminders")
    expect(reminders).to_be_visible()
    if synced.case.status == "PendingMerchantAction":
        row = reminders.locator('[data-testid="reminder"]', has_text=synced.case.case_id)
        expect(row).to_contain_text("Answer Amazon")
        expect(row).to_contain_text("Overdue since")
    # the reminders come before the rest of the home page
    first = page.locator("main section").first
    expect(first).to_have_id("reminders")
    if synced.case.status == "PendingMerchantAction":  # and they are on the timeline
        page.goto(f"/timeline?case={synced.case.case_id}")
        expect(page.locator('[data-kind="reminder"]')).to_contain_text("Answer Amazon (overdue)")


def test_02_checklist_items_quote_the_asking_sentences(shared_page: Page, synced):
    page = shared_page
    page.goto(f"/cases/{synced.case.case_id}")
    for kind in ("invoices", "plan_of_action"):
        # the group holding the items quotes the sentence that asked for them
        group = page.locator(f'[data-testid="checklist-group"][data-checklist="{kind}"]')
        expect(group.get_by_test_id("asked-sentence")).to_have_text(
            f"Amazon asked: “{synced.case.sentences[kind]}”")
        expect(group.get_by_test_id("checklist-item").first).to_be_visible()
    expect(_item(page, "invoices:supplier")).to_contain_text("Supplier name, address, phone")


def test_03_tick_attach_remove(shared_page: Page, synced):
    page = shared_page
    case_id = synced.case.case_id
    page.goto(f"/cases/{case_id}")
    count = page.locator("#checklist-h .count")
    before = int(count.inner_text().split()[0])
    item = _item(page, "invoices:recent")
    item.get_by_role("button", name=re.compile("^Mark done")).click()
    expect(_item(page, "invoices:recent")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#checklist-h .count")).to_contain_text(f"{before + 1} of")
    # ticks survive a reload (stored, not just swapped in)
    page.reload()
    expect(_item(page, "invoices:recent")).to_have_class(re.compile(r"\bdone\b"))

    _attach(page, "invoices:recent", "invoice-acme-2026.pdf", PDF)
    link = _item(page, "invoices:recent").get_by_role("link", name="invoice-acme-2026.pdf")
    expect(link).to_be_visible()
    with page.expect_download() as dl:
        link.click()
    assert Path(dl.value.path()).read_bytes() == PDF

    _attach(page, "plan_of_action:root_cause", "draft-poa.txt", b"Root cause: ...\n",
            "text/plain")
    poa = _item(page, "plan_of_action:root_cause")
    expect(poa.get_by_test_id("evidence")).to_contain_text("draft-poa.txt")
    stored = list((synced.home / "evidence").rglob("*"))
    assert len([p for p in stored if p.is_file()]) == 2
    poa.get_by_role("button", name="Remove draft-poa.txt").click()
    expect(_item(page, "plan_of_action:root_cause").get_by_test_id("evidence")).to_have_count(0)
    expect(page.locator("#replies-status")).to_contain_text("Removed draft-poa.txt")
    assert len([p for p in (synced.home / "evidence").rglob("*") if p.is_file()]) == 1


def test_04_draft_lists_evidence_and_placeholders_block_ready(shared_page: Page, synced):
    page = shared_page
    page.goto(f"/cases/{synced.case.case_id}")
    body = page.locator("#draft-body")
    expect(body).to_have_value(re.compile(r"invoice-acme-2026\.pdf"))
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
    expect(page.locator("details.history summary")).to_contain_text("revisions")


def test_05_copy_to_clipboard(shared_page: Page):
    page = shared_page
    button = page.get_by_role("button", name="Copy to clipboard")
    expect(button).to_be_visible()
    button.click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#draft-body").input_value()
    assert "Acme GmbH" in copied and "[" not in copied


def test_06_mark_sent_appears_on_timeline(shared_page: Page, synced):
    page = shared_page
    case_id = synced.case.case_id
    page.get_by_role("button", name="Mark sent").click()
    expect(page.locator("#replies-status")).to_contain_text("Marked sent")
    page.goto(f"/timeline?case={case_id}")
    event = page.locator('[data-kind="draft_sent"]')
    expect(event).to_have_count(1)
    expect(event).to_contain_text("You marked a reply sent")
    # the answer is on its way: the overdue reminder for this case is gone
    page.goto("/")
    expect(page.locator('[data-testid="reminder"]', has_text=case_id)).to_have_count(0)


def test_07_cases_table_shows_progress(shared_page: Page, synced):
    page = shared_page
    page.goto("/cases")
    row = page.locator("table.cases tr", has=page.get_by_role(
        "link", name=synced.case.case_id, exact=True))
    expect(row.locator(".evidence-cell")).to_contain_text(re.compile(r"\d+/\d+"))
    # a case nobody opened shows its progress too (the list builds its checklist)
    import sqlite3

    from companion.replies.asks import detect

    with sqlite3.connect(synced.db) as conn:
        rows = conn.execute(
            "select c.case_id, m.text from cases c join messages m using (case_id) where "
            "c.status = 'PendingMerchantAction' and c.case_id != ? and m.sender = 'amazon' "
            "and not exists (select 1 from drafts d where d.case_id = c.case_id)",
            [synced.case.case_id]).fetchall()
    other = next((cid for cid, text in rows if detect(text)), None)
    assert other, "the portal data has no second case asking the seller"
    page.goto("/cases?status=PendingMerchantAction")
    row = page.locator("table.cases tr", has=page.get_by_role("link", name=other, exact=True))
    expect(row.locator(".evidence-cell")).to_contain_text(re.compile(r"0/[1-9]\d*"))


def test_08_dossier_download(shared_page: Page, synced, tmp_path):
    page = shared_page
    page.goto(f"/cases/{synced.case.case_id}")
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download dossier").first.click()
    assert dl.value.suggested_filename.startswith(f"caselog-dossier-{synced.case.case_id}")
    html = Path(dl.value.path()).read_text()
    import hashlib

    assert hashlib.sha256(PDF).hexdigest() in html
    assert "invoice-acme-2026.pdf" in html and synced.case.sentences["invoices"] in html
    low = html.lower()
    assert "<script" not in low, html[max(0, low.find("<script") - 300):low.find("<script") + 80]
    assert "Acme GmbH" in html
    # it opens as a page of its own, with nothing to run
    saved = tmp_path / dl.value.suggested_filename
    dl.value.save_as(saved)
    page.goto(saved.as_uri())
    expect(page.get_by_role("heading", level=1)).to_contain_text(synced.case.case_id)


def test_09_bad_files_get_clear_errors(shared_page: Page, synced):
    page = shared_page
    case_id = synced.case.case_id
    page.goto(f"/cases/{case_id}")
    status = page.locator("#replies-status")
    _attach(page, "invoices:supplier", "huge.pdf", b"%PDF-" + b"0" * (MAX_BYTES + 10))
    expect(status).to_contain_text("larger than")
    _attach(page, "invoices:supplier", "setup.exe", b"MZ\x90\x00", "application/octet-stream")
    expect(status).to_contain_text("type .exe is not allowed")
    _attach(page, "invoices:supplier", "invoice.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    expect(status).to_contain_text("named .pdf but its content is png")
    expect(_item(page, "invoices:supplier").get_by_test_id("evidence")).to_have_count(0)

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
    outside = [p for p in synced.home.parent.rglob("evil*")]
    assert outside == []
    resp = page.request.post(f"/cases/{case_id}/evidence", multipart={
        "file": {"name": "x.pdf", "mimeType": "application/pdf", "buffer": PDF}})
    assert resp.status == 403  # no CSRF token, refused


def test_10_hostile_template_is_a_clear_error(shared_page: Page, synced):
    page = shared_page
    page.goto(f"/cases/{synced.resolved}")
    expect(page.locator("#replies")).to_contain_text("template reply.j2: not allowed")
    expect(page.locator("#draft-body")).to_have_count(0)
    expect(page.locator("#thread-h")).to_be_visible()  # the rest of the page still works


def test_11_panels_are_accessible(shared_page: Page, synced):
    from axe_playwright_python.sync_playwright import Axe

    page = shared_page
    for url in (f"/cases/{synced.case.case_id}", "/"):
        page.goto(url)
        page.locator("#replies details, #reminders").first.wait_for()
        results = Axe().run(page)
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
        assert bad == [], bad


def test_12_replies_survive_reparse(shared_page: Page, synced):
    """``caselog reparse`` deletes and rebuilds the cases; the seller's checklist ticks,
    files, drafts and sent events must come through untouched."""
    import sqlite3

    tables = ("checklist_items", "evidence", "drafts", "draft_revisions", "draft_events")

    def counts():
        con = sqlite3.connect(synced.db)
        try:
            return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
        finally:
            con.close()

    before = counts()
    assert before["evidence"] and before["draft_events"]
    r = run_caselog("reparse", env={"CASELOG_HOME": str(synced.home)}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert counts() == before
    page = shared_page
    page.goto(f"/cases/{synced.case.case_id}")
    expect(_item(page, "invoices:recent")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.get_by_role("link", name="invoice-acme-2026.pdf")).to_be_visible()


def test_13_works_without_javascript(browser, ui, synced):
    """Hypermedia first: with scripts off, every action is a form post and a redirect."""
    context = browser.new_context(base_url=ui.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"/cases/{synced.case.case_id}")
        expect(page.get_by_role("button", name="Copy to clipboard")).to_be_hidden()
        item = _item(page, "invoices:buyer")
        item.get_by_role("button", name=re.compile("^Mark done")).click()
        expect(page).to_have_url(re.compile(rf"/cases/{synced.case.case_id}#replies$"))
        expect(page.locator("#replies-status")).to_contain_text(
            "Done: Your name and address as on your seller account")
        expect(_item(page, "invoices:buyer")).to_have_class(re.compile(r"\bdone\b"))
        _attach(page, "invoices:buyer", "no-js.pdf", PDF + b"% no js\n")
        expect(page.locator("#replies-status")).to_contain_text("Attached no-js.pdf")
        expect(_item(page, "invoices:buyer").get_by_test_id("evidence")).to_contain_text(
            "no-js.pdf")
    finally:
        context.close()


def test_14_unsaved_draft_edits_ask_before_leaving(browser, ui, synced):
    context = browser.new_context(base_url=ui.url)
    try:
        page = context.new_page()
        dialogs = []

        def on_dialog(d):
            dialogs.append(d.type)
            d.dismiss()  # stay on the page

        page.on("dialog", on_dialog)
        page.goto(f"/cases/{synced.case.case_id}")
        page.locator("#draft-body").click()
        page.keyboard.type(" more words")
        page.get_by_role("link", name="Cases", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/cases/{synced.case.case_id}$"))
        assert dialogs == ["beforeunload"]
        page.get_by_role("button", name="Save draft").click()
        expect(page.locator("#replies-status")).to_contain_text("Draft saved.")
        page.get_by_role("link", name="Cases", exact=True).click()
        expect(page).to_have_url(re.compile(r"/cases$"))
        assert dialogs == ["beforeunload"]  # saved: no second question
    finally:
        context.close()
