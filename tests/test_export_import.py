"""Import of saved case pages (rendered by a real Chromium from the portal, saved to
files) into an empty database, the export format, and reparse after imports."""

from __future__ import annotations

import re
import shutil

import pytest
from sync_helpers import assert_same, db, env, export, login, sync

from fixtures.harness import run_async, run_caselog, start_portal


async def _save_pages(portal_url: str, home, case_ids: list[str]) -> list[bytes]:
    from scrapers.browser.client import PortalClient
    from scrapers.browser.session import load_state

    state = load_state(portal_url, home / "sessions")
    async with PortalClient(portal_url, storage_state=state) as client:
        return [(await client.case_page_html(cid)).body for cid in case_ids]


@pytest.fixture(scope="module", params=["en_US", "de_DE"])
def saved(request, tmp_path_factory):
    """A portal, its truth, and three case pages as a browser renders them, on disk."""
    tz = {"en_US": "America/New_York", "de_DE": "Europe/Berlin"}[request.param]
    p = start_portal("--cases", "12", "--seed", "21", "--locale", request.param,
                     "--timezone", tz)
    try:
        session_home = tmp_path_factory.mktemp("session")
        login(p, session_home)
        truth = p.sim("truth")
        picks = [truth["cases"][i]["case_id"] for i in (0, 3, 7)]
        bodies = run_async(_save_pages(p.url, session_home, picks))
        folder = tmp_path_factory.mktemp("pages")
        files = []
        for cid, body in zip(picks, bodies, strict=True):
            f = folder / f"Case {cid} - Seller Central.html"
            f.write_bytes(body)
            files.append(f)
        yield p, truth, picks, files, session_home
    finally:
        p.stop()


def test_imported_pages_match_truth_to_the_minute(saved, tmp_path):
    p, truth, picks, files, _ = saved
    r = run_caselog("import", *map(str, files), env=env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert all(cid in r.stdout for cid in picks)
    got = export(tmp_path)
    want = {"cases": [c for c in truth["cases"] if c["case_id"] in picks]}
    assert_same(want, got, minute=True)
    # Importing the same pages again changes nothing (keys are content-based).
    run_caselog("import", *map(str, files), env=env(tmp_path))
    assert export(tmp_path) == got
    with db(tmp_path) as conn:
        assert {r[0] for r in conn.execute("select distinct source from cases")} == {"import"}
        assert conn.execute("select count(*) from captures where kind = 'import'"
                            ).fetchone()[0] == 6
        assert all(k.startswith("h:") for (k,) in conn.execute(
            "select message_key from messages"))
    # Reparse of an import-only archive rebuilds the same records.
    assert run_caselog("reparse", env=env(tmp_path)).returncode == 0
    assert export(tmp_path) == got


def test_sync_after_import_replaces_rendered_copies_without_duplicates(saved, tmp_path):
    p, truth, picks, files, session_home = saved
    assert run_caselog("import", *map(str, files), env=env(tmp_path)).returncode == 0
    (tmp_path / "sessions").mkdir(exist_ok=True)
    for f in (session_home / "sessions").iterdir():
        (tmp_path / "sessions" / f.name).write_bytes(f.read_bytes())
    _, summary = sync(p, tmp_path)
    assert summary["new_replies"] == []  # rendered copies are not "new" messages
    assert_same(truth, export(tmp_path))
    with db(tmp_path) as conn:
        assert conn.execute("select count(*) from messages where message_key like 'h:%'"
                            ).fetchone()[0] == 0


def test_import_of_a_page_that_is_not_a_case_fails_cleanly(tmp_path):
    bogus = tmp_path / "notes.html"
    bogus.write_text("<html><body><p>my notes</p></body></html>")
    r = run_caselog("import", str(bogus), env=env(tmp_path))
    assert r.returncode == 1
    assert "notes.html" in r.stderr and "Traceback" not in r.stderr
    assert export(tmp_path) == {"cases": []}


def test_export_format_and_case_filter(saved, tmp_path):
    p, truth, picks, files, session_home = saved
    (tmp_path / "sessions").mkdir()
    for f in (session_home / "sessions").iterdir():
        (tmp_path / "sessions" / f.name).write_bytes(f.read_bytes())
    sync(p, tmp_path)
    full = export(tmp_path)
    assert_same(truth, full)
    stamps = [c["created_at"] for c in full["cases"]]
    assert stamps == sorted(stamps, reverse=True)
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    for case in full["cases"]:
        assert set(case) == {"case_id", "status", "subject", "category", "created_at",
                             "messages"}
        assert iso.match(case["created_at"])
        sent = [m["sent_at"] for m in case["messages"]]
        assert sent == sorted(sent) and all(iso.match(s) for s in sent)
        for m in case["messages"]:
            assert set(m) == {"sender", "sent_at", "text", "attachments", "channel"}
            assert m["channel"] in ("email", "chat", "phone")
            assert m["sender"] in ("amazon", "seller")
    one = export(tmp_path, "--case", picks[1])
    assert [c["case_id"] for c in one["cases"]] == [picks[1]]


async def _save_unexpanded(portal_url: str, home, case_id: str) -> str:
    """The page as a person would save it without clicking anything: the first page of
    the thread, long messages cut short behind "See more"."""
    from playwright.async_api import async_playwright

    from scrapers.browser.launch import launch_options
    from scrapers.browser.session import session_path

    state = str(session_path(portal_url, home / "sessions"))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**launch_options())
        context = await browser.new_context(storage_state=state)
        page = await context.new_page()
        await page.goto(f"{portal_url}/cu/case-dashboard/view-case?caseID={case_id}")
        await page.locator("kat-box").first.wait_for()
        html = await page.content()
        await browser.close()
        return html


def test_unexpanded_saved_page_then_sync_has_no_duplicates(saved, tmp_path):
    p, truth, _, _, session_home = saved
    # A case whose thread is longer than the page's first screen and has long messages.
    case = next(c for c in truth["cases"] if len(c["messages"]) > 10
                and any(len(m["text"]) > 600 for m in c["messages"][-10:]))
    page = tmp_path / "page.html"
    page.write_text(run_async(_save_unexpanded(p.url, session_home, case["case_id"])))
    home = tmp_path / "home"
    home.mkdir()
    assert run_caselog("import", str(page), env=env(home)).returncode == 0
    with db(home) as conn:
        row = conn.execute("select fully_captured, captured_messages from cases").fetchone()
        assert row["fully_captured"] == 0 and row["captured_messages"] < len(case["messages"])
        assert conn.execute("select count(*) from messages where truncated = 1"
                            ).fetchone()[0] >= 1
    shutil.copytree(session_home / "sessions", home / "sessions")
    sync(p, home)
    assert_same(truth, export(home))
    with db(home) as conn:
        assert conn.execute("select count(*) from messages where message_key like 'h:%'"
                            ).fetchone()[0] == 0
