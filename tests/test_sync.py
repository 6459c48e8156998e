"""Sync against the simulated portal in a subprocess, through the real CLI and Chromium:
a full sync equals the portal's ground truth (each locale, MFA, rendered-HTML capture),
an incremental sync after mutations equals the new truth and opens only changed cases,
and reparse rebuilds an identical export."""

from __future__ import annotations

import pytest
from sync_helpers import (
    assert_same,
    db,
    export,
    login,
    reset_stats,
    stats,
    sync,
)

from fixtures.harness import start_portal

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)


@pytest.fixture(scope="module")
def portal():
    p = start_portal("--cases", "60", "--seed", "11")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def home(portal, tmp_path_factory):
    h = tmp_path_factory.mktemp("sync-home")
    login(portal, h)
    return h


@pytest.fixture(scope="module")
def first(portal, home):
    reset_stats(portal)
    r, summary = sync(portal, home)
    return summary, stats(portal)


def test_first_sync_equals_truth(portal, home, first):
    summary, counts = first
    truth = portal.sim("truth")
    assert_same(truth, export(home))
    assert summary["state"] == "ok" and summary["mode"] == "incremental"
    assert summary["listed"] == summary["opened"] == 60 and summary["reasons"] == {"new": 60}
    assert sorted(summary["new_cases"]) == sorted(c["case_id"] for c in truth["cases"])
    assert summary["failures"] == [] and summary["status_changes"] == []
    # All pages of the case list at size 50, every case opened once (plus older pages of
    # long threads), every truncated message fetched once.
    assert counts["SearchForCases"] == 2
    long_threads = sum(max(0, -(-len(c["messages"]) // 50) - 1) for c in truth["cases"])
    assert counts["ViewCase"] == 60 + long_threads
    with db(home) as conn:
        truncated = conn.execute("select count(*) from captures where kind = 'message'"
                                 ).fetchone()[0]
        assert counts["GetContactMessage"] == truncated > 0
        assert conn.execute("select count(*) from messages where truncated = 1").fetchone()[0] == 0
        assert conn.execute("select count(*) from cases where fully_captured = 1"
                            ).fetchone()[0] == 60
        row = conn.execute("select state, total, done, listed from syncs order by id desc"
                           ).fetchone()
        assert tuple(row) == ("ok", 60, 60, 60)


def test_hard_content_is_kept_whole_and_as_text(home, first):
    """200-message thread, a ~50 KB message, hostile markup stored as inert text."""
    cases = export(home)["cases"]
    assert max(len(c["messages"]) for c in cases) == 200
    assert max(len(m["text"]) for c in cases for m in c["messages"]) > 45_000
    texts = [c["subject"] for c in cases] + [m["text"] for c in cases for m in c["messages"]]
    hostile = [t for t in texts if "<script" in t.lower() or "onerror" in t.lower()]
    assert hostile, "the portal's hostile markup should arrive as literal text"
    assert any(ord(ch) > 0x3000 for t in texts for ch in t)  # CJK or emoji, intact
    from datetime import UTC, datetime, timedelta

    month_ago = (datetime.now(UTC) - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sum(c["created_at"] < month_ago for c in cases) > 30  # beyond the lobby default
    with db(home) as conn:
        n_html = conn.execute("select count(*) from messages where html like '%&lt;script%' "
                              "or html like '%<script%'").fetchone()[0]
        assert n_html >= 1  # the raw HTML is kept too, for the sanitiser to render


def test_captures_are_archived_by_sha256(home, first):
    import hashlib

    with db(home) as conn:
        rows = conn.execute("select kind, sha256, path, parse_status from captures").fetchall()
    assert {r["kind"] for r in rows} >= {"search", "viewcase", "message"}
    assert all(r["parse_status"] == "ok" for r in rows)
    for r in rows[:50]:
        data = (home / "captures" / r["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"]
        assert r["path"].startswith(r["sha256"][:2] + "/")


def test_resync_without_changes_opens_nothing(portal, home, first):
    reset_stats(portal)
    _, summary = sync(portal, home)
    assert summary["opened"] == 0 and summary["new_cases"] == []
    assert stats(portal)["ViewCase"] == 0 and stats(portal)["SearchForCases"] == 2


def test_human_output_says_what_changed(portal, home, first):
    from sync_helpers import env

    from fixtures.harness import run_caselog

    r = run_caselog("sync", "--portal", portal.url, env=env(home))
    assert r.returncode == 0
    assert "Listed 60 cases, opened 0" in r.stdout and "Nothing changed." in r.stdout
    r = run_caselog("sync", "--help")
    assert "Exit codes" in r.stdout and "3  sign-in needed" in r.stdout
    assert "caselog sync --portal" in r.stdout


def test_max_age_reopens_only_open_cases(portal, home, first):
    truth = portal.sim("truth")
    open_cases = [c for c in truth["cases"] if c["status"] not in ("Resolved", "Closed")]
    reset_stats(portal)
    _, summary = sync(portal, home, "--max-age", "0s")
    assert summary["opened"] == len(open_cases) and summary["reasons"] == {"stale": len(open_cases)}
    assert stats(portal)["ViewCase"] == len(open_cases)  # incremental: first page only
    assert_same(truth, export(home))


def _search_index(home) -> tuple[list, dict]:
    """The search triggers, and which messages each index finds for a few words of the
    stored texts (after the word indexes checked against the tables they index)."""
    conn = db(home)
    try:
        triggers = sorted(tuple(r) for r in conn.execute(
            "select name, sql from sqlite_master where type = 'trigger'"))
        for index in ("messages_fts", "cases_fts"):
            conn.execute(f"insert into {index}({index}) values ('integrity-check')")
        texts = [r[0] for r in conn.execute("select text from messages order by case_id, "
                                            "message_key limit 40")]
        words = sorted({w for t in texts for w in t.split() if w.isalpha() and len(w) > 5})
        hits = {}
        for word in words[:: max(1, len(words) // 8)]:
            # (one trigram: the part-of-word index keeps no positions for phrases)
            for index, term in (("messages_fts", word), ("messages_grams", word[1:4])):
                hits[index, term] = sorted(tuple(r) for r in conn.execute(
                    f"select m.case_id, m.message_key from {index} f join messages m on "
                    f"m.rowid = f.rowid where {index} match ?", [f'"{term}"']))
        return triggers, hits
    finally:
        conn.close()


def test_reparse_rebuilds_identical_export(portal, home, first):
    before = export(home)
    index_before = _search_index(home)
    from sync_helpers import env

    from fixtures.harness import run_caselog

    r = run_caselog("reparse", env=env(home))
    assert r.returncode == 0, r.stderr
    assert "60 cases" in r.stdout
    assert export(home) == before
    assert_same(portal.sim("truth"), before)
    # The indexes are filled at once during a reparse: they find what they found before,
    # and their triggers are back as they were.
    assert index_before[1] and all(index_before[1].values())
    assert _search_index(home) == index_before


def test_archive_alone_rebuilds_a_lost_database(home, first, tmp_path):
    """Only the captures folder survives: its index and files rebuild the same export."""
    import shutil

    from sync_helpers import env

    from fixtures.harness import run_caselog

    shutil.copytree(home / "captures", tmp_path / "captures")
    r = run_caselog("reparse", env=env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert export(tmp_path) == export(home)


def test_incremental_after_mutation_opens_only_changed(portal, home, first):
    changed = portal.sim("mutate", {"new_cases": 3, "new_replies": 4, "status_changes": 3,
                                    "drop_from_lobby": 1})
    dropped = set(changed["dropped"])
    opened = (set(changed["new_cases"]) | set(changed["new_replies"])
              | set(changed["status_changes"])) - dropped
    reset_stats(portal)
    _, summary = sync(portal, home)
    truth = portal.sim("truth")
    assert_same(truth, export(home))  # includes the dropped case
    assert stats(portal)["ViewCase"] == len(opened) == summary["opened"]
    assert sorted(summary["new_cases"]) == sorted(changed["new_cases"])
    assert sorted(summary["new_replies"]) == sorted(set(changed["new_replies"]) - dropped)
    assert {c["case_id"] for c in summary["status_changes"]} >= \
        set(changed["status_changes"]) - dropped
    assert summary["left_lobby"] == sorted(dropped)
    with db(home) as conn:
        kinds = dict(conn.execute(
            "select kind, count(*) from changes where sync_id = ? group by kind",
            [summary["sync_id"]]).fetchall())
        assert kinds["new_case"] == 3 and kinds["left_lobby"] == 1
        assert kinds["status_change"] == len(summary["status_changes"])
        gone = conn.execute("select in_lobby from cases where case_id = ?",
                            [next(iter(dropped))]).fetchone()
        assert gone["in_lobby"] == 0
        for ch in summary["status_changes"]:
            hist = conn.execute("select previous_status, status from status_history "
                                "where case_id = ? order by id desc", [ch["case_id"]]).fetchone()
            assert (hist["previous_status"], hist["status"]) == (ch["from"], ch["to"])
        dupes = conn.execute("select count(*) - count(distinct case_id || message_key) "
                             "from messages").fetchone()[0]
        assert dupes == 0


@pytest.mark.parametrize("locale,tz", [("en_US", "America/Los_Angeles"),
                                       ("en_GB", "Europe/London"),
                                       ("de_DE", "Europe/Berlin")])
def test_each_locale_json_and_html_capture(portal_factory, tmp_path, locale, tz):
    """The JSON API is locale-independent (exact equality); rendered pages go through the
    HTML parser (`--html`) and agree to the minute (pages show no seconds or sizes)."""
    p = portal_factory("--cases", "12", "--seed", "5", "--locale", locale, "--timezone", tz)
    truth = p.sim("truth")
    for name, args, minute in (("json", (), False), ("html", ("--html",), True)):
        h = tmp_path / name
        h.mkdir()
        login(p, h)
        _, summary = sync(p, h, *args)
        assert summary["state"] == "ok"
        assert_same(truth, export(h), minute=minute)
        with db(h) as conn:
            kinds = {r[0] for r in conn.execute("select distinct kind from captures")}
            assert ("html" in kinds) == (name == "html")


def test_mfa_portal_full_sync(portal_factory, tmp_path):
    p = portal_factory("--cases", "20", "--seed", "9",
                       "--mfa-secret", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    login(p, tmp_path)
    _, summary = sync(p, tmp_path, "--full")
    assert summary["mode"] == "full" and summary["opened"] == 20
    assert_same(p.sim("truth"), export(tmp_path))


def test_download_attachments_within_the_cap(portal_factory, tmp_path):
    import hashlib

    p = portal_factory("--cases", "12", "--seed", "5")
    login(p, tmp_path)
    cap_mb = 0.2
    _, summary = sync(p, tmp_path, "--download-attachments", "--max-attachment-mb", str(cap_mb))
    assert summary["state"] == "ok"
    with db(tmp_path) as conn:
        rows = conn.execute("select size, local_path, sha256 from attachments").fetchall()
    small = [r for r in rows if r["size"] <= cap_mb * 1024 * 1024]
    big = [r for r in rows if r["size"] > cap_mb * 1024 * 1024]
    assert small and big, "the portal's data should have attachments on both sides of the cap"
    assert all(r["local_path"] for r in small) and not any(r["local_path"] for r in big)
    for r in small:
        data = (tmp_path / r["local_path"]).read_bytes()
        assert len(data) == r["size"] and hashlib.sha256(data).hexdigest() == r["sha256"]
    assert summary["requests"]["attachment"] == len(small)
    assert_same(p.sim("truth"), export(tmp_path))


# -- the save rules, on hand-made records (no portal: milliseconds) -----------------------

def _unit(case_id="11111111111", status="PendingAmazonAction", messages=(), **kw):
    from companion.capture.pipeline import CaseUnit

    msgs = [{"contact_id": k, "message_key": k, "sender": s, "sender_address": None,
             "sent_at": t, "html": x, "text": x, "truncated": tr, "attachments": []}
            for k, s, t, x, tr in messages]
    parsed = {"case_id": case_id, "subject": "Subject", "status": status, "tags": ["Cat"],
              "category": "Cat", "created_at": "2026-01-01T00:00:00Z",
              "total_messages": kw.pop("total", len(msgs)), "messages": msgs[::-1]}
    return CaseUnit(case_id=case_id, parsed=parsed, captures=[],
                    observed_at=kw.pop("at", "2026-02-01T00:00:00Z"), **kw)


@pytest.fixture
def fresh_db(tmp_path):
    from companion.schema import open_db

    return open_db(tmp_path / "t.db")


def test_store_keeps_full_text_and_never_duplicates(fresh_db):
    from companion.capture import store

    full = ("c1", "amazon", "2026-01-02T00:00:00Z", "x" * 900, False)
    preview = ("c1", "amazon", "2026-01-02T00:00:00Z", "x" * 600, True)
    out = store.record(fresh_db, _unit(messages=[full]))
    assert out.new_case and out.fully_captured
    again = store.record(fresh_db, _unit(messages=[preview, ("c2", "amazon",
                            "2026-01-03T00:00:00Z", "new", False)], at="2026-02-02T00:00:00Z"))
    assert again.new_replies == 1 and not again.new_case
    rows = list(fresh_db.query("select message_key, text, truncated from messages "
                               "order by sent_at"))
    assert [(r["message_key"], len(r["text"]), r["truncated"]) for r in rows] == \
        [("c1", 900, 0), ("c2", 3, 0)]


def test_store_status_history_and_partial_threads(fresh_db):
    from companion.capture import store

    store.record(fresh_db, _unit(messages=[("c1", "seller", "2026-01-01T00:00:00Z", "a",
                                               False)]))
    out = store.record(fresh_db, _unit(status="Answered", total=3, complete=False,
                                          messages=[("c1", "seller", "2026-01-01T00:00:00Z",
                                                     "a", False)], at="2026-02-03T00:00:00Z"))
    assert out.status_change == ("PendingAmazonAction", "Answered")
    assert not out.fully_captured  # 1 of 3 messages: the next sync opens it again
    hist = [tuple(r) for r in fresh_db.execute(
        "select previous_status, status, observed_at from status_history order by id")]
    assert hist == [(None, "PendingAmazonAction", "2026-02-01T00:00:00Z"),
                    ("PendingAmazonAction", "Answered", "2026-02-03T00:00:00Z")]


def test_store_listing_marks_left_lobby_only_when_complete(fresh_db):
    from companion.capture import store

    for cid in ("11111111111", "22222222222"):
        store.record(fresh_db, _unit(case_id=cid))
    from companion.capture.pipeline import Listing

    rows = {"11111111111": {"case_id": "11111111111"}}
    at = "2026-02-05T00:00:00Z"
    assert store.record_listing(fresh_db, None, Listing(rows, [], False), observed_at=at) == []
    assert store.record_listing(fresh_db, None, Listing(rows, [], True), observed_at=at) == \
        ["22222222222"]
    gone = fresh_db.execute("select in_lobby from cases where case_id = '22222222222'")
    assert gone.fetchone()[0] == 0
    assert fresh_db.execute("select count(*) from cases").fetchone()[0] == 2  # kept
