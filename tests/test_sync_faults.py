"""What a conforming portal may do to a sync (PORTAL.md section 6): throttling with and
without Retry-After, transient 5xx, a session that expires mid-sync, a robot check,
cases that always fail, a layout the parsers do not know, and the sync process killed
at random points. Each time: the right exit code and message, nothing captured is lost,
and the next sync finishes the job (export equals the portal's truth)."""

from __future__ import annotations

import http.client
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sync_helpers import assert_same, canon, db, env, export, login, stats, sync, to_minute

from fixtures.harness import ROOT, run_caselog, start_portal, wait_until

CLEAN = {"latency_ms": 0, "jitter_ms": 0, "rate_limit": 0, "retry_after": 1, "error_rate": 0,
         "session_expiry_after": 0, "robot_after": 0, "failing_cases": [],
         "forbidden_cases": []}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One portal for the faults that can be switched at run time, signed in once."""
    p = start_portal("--cases", "30", "--seed", "3")
    template = tmp_path_factory.mktemp("signed-in")
    login(p, template)
    yield p, template, p.sim("truth")
    p.stop()


@pytest.fixture
def fresh(shared, tmp_path):
    """An empty CASELOG_HOME holding only a saved session; faults reset afterwards."""
    p, template, truth = shared
    shutil.copytree(template / "sessions", tmp_path / "sessions")
    p.sim("stats/reset", {})
    yield p, tmp_path, truth
    p.sim("faults", CLEAN)
    p.sim("captcha-clear", {})


def test_sync_without_a_session_says_to_log_in(shared, tmp_path):
    p = shared[0]
    r, _ = sync(p, tmp_path, expect=3)
    assert f"caselog login --portal {p.url}" in r.stderr
    assert "Traceback" not in r.stderr


def test_sync_with_an_expired_session_exits_3_and_says_to_log_in(shared, fresh):
    """The session file exists but the portal forgot it: the first call says so."""
    p, home, _ = fresh
    p.sim("expire-sessions", {})
    try:
        r, summary = sync(p, home, expect=3)
    finally:
        login(p, shared[1])  # the module's saved session, for the tests after this one
    assert summary["state"] == "auth" and summary["opened"] == 0
    assert f"caselog login --portal {p.url}" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("faults", [{"rate_limit": 20, "retry_after": 1},
                                    {"rate_limit": 20, "retry_after": None},
                                    {"error_rate": 0.15},
                                    {"latency_ms": 5, "jitter_ms": 60}],
                         ids=["429-retry-after", "429-no-retry-after", "5xx", "jitter"])
def test_throttling_and_transient_errors_are_retried(fresh, faults):
    p, home, truth = fresh
    p.sim("faults", faults)
    _, summary = sync(p, home)
    assert summary["state"] == "ok" and summary["failures"] == []
    assert_same(truth, export(home))
    counted = stats(p)
    if "jitter_ms" in faults:  # answers arrive out of order; nothing to retry
        assert counted["429"] == counted["5xx"] == 0
        return
    key = "5xx" if "error_rate" in faults else "429"
    assert counted[key] > 0 and summary["requests"]["client"][key] > 0


def test_session_expiry_mid_sync_keeps_progress_then_completes(portal_factory, tmp_path):
    p = portal_factory("--cases", "40", "--seed", "3", "--session-expiry-after", "25")
    login(p, tmp_path)
    r, summary = sync(p, tmp_path, expect=3)
    assert summary["state"] == "auth"
    assert f"caselog login --portal {p.url}" in r.stderr and "Traceback" not in r.stderr
    truth = p.sim("truth")
    saved = export(tmp_path)
    assert 0 < len(saved["cases"]) < 40
    ids = {c["case_id"] for c in saved["cases"]}
    assert_same({"cases": [c for c in truth["cases"] if c["case_id"] in ids]}, saved)
    with db(tmp_path) as conn:
        row = conn.execute("select state, done from syncs order by id desc").fetchone()
        assert row["state"] == "auth" and row["done"] == len(ids)
    p.sim("faults", {"session_expiry_after": 0})
    login(p, tmp_path)
    _, summary = sync(p, tmp_path)
    assert summary["opened"] == 40 - len(ids)
    assert_same(truth, export(tmp_path))


def test_robot_check_stops_until_a_person_passes_it(fresh):
    p, tmp_path, truth = fresh
    p.sim("faults", {"robot_after": 15})
    r, summary = sync(p, tmp_path, expect=4)
    assert summary["state"] == "robot" and "robot check" in r.stderr
    assert "caselog login" in r.stderr and "Traceback" not in r.stderr
    with db(tmp_path) as conn:  # "opened" says how many were read, not queued
        saved = conn.execute("select count(*) from cases").fetchone()[0]
    assert summary["opened"] == saved < len(truth["cases"])
    p.sim("faults", {"robot_after": 0})
    p.sim("captcha-clear", {})
    sync(p, tmp_path)
    assert_same(truth, export(tmp_path))


def test_always_failing_cases_are_recorded_and_the_rest_saved(fresh):
    p, tmp_path, truth = fresh
    failing = p.sim("faults", {"failing_cases": 2})["failing_cases"]
    r, summary = sync(p, tmp_path, expect=1)
    assert sorted(f["case_id"] for f in summary["failures"]) == sorted(failing)
    assert all(f["error"].startswith(f"case {f['case_id']}") for f in summary["failures"])
    assert summary["state"] == "partial" and "FAILED" not in r.stdout
    assert_same({"cases": [c for c in truth["cases"] if c["case_id"] not in failing]},
                export(tmp_path))
    with db(tmp_path) as conn:
        failures = {r[0] for r in conn.execute(
            "select case_id from changes where kind = 'failure'")}
        assert failures == set(failing)
        errors = conn.execute("select case_id, path from captures where kind = 'error'"
                              ).fetchall()
        assert {r[0] for r in errors} == set(failing)  # the failing answer itself is archived
        for r in errors:  # the portal's own body (500 and 404), not a description of ours
            assert "type" not in json.loads((tmp_path / "captures" / r[1]).read_bytes())
    before = export(tmp_path)
    r = run_caselog("reparse", env=env(tmp_path))
    assert r.returncode == 0 and "2 groups skipped" in r.stdout, r.stdout + r.stderr
    assert export(tmp_path) == before
    p.sim("faults", {"failing_cases": []})
    sync(p, tmp_path)
    assert_same(truth, export(tmp_path))


def test_forbidden_case_fails_alone(fresh):
    """403 (the account may not see a case): that case is recorded, not retried forever."""
    p, tmp_path, truth = fresh
    forbidden = p.sim("faults", {"forbidden_cases": 1})["forbidden_cases"]
    _, summary = sync(p, tmp_path, expect=1)
    assert [f["case_id"] for f in summary["failures"]] == forbidden
    assert "403" in summary["failures"][0]["error"]
    assert_same({"cases": [c for c in truth["cases"] if c["case_id"] not in forbidden]},
                export(tmp_path))


@pytest.mark.parametrize("seed,sig", [(1, signal.SIGKILL), (2, signal.SIGKILL),
                                      (3, signal.SIGTERM)])
def test_killed_at_a_random_point_then_resync_finishes(fresh, seed, sig):
    """SIGKILL (or SIGTERM, as the UI's stop sends) once ``syncs.done`` reaches k (k = 0:
    still listing); the database stays consistent and the next sync completes the job."""
    p, tmp_path, truth = fresh
    k = random.Random(seed).choice([0, 1, 5, 12, 20, 25])
    p.sim("faults", {"latency_ms": 15})
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion", "sync", "--portal", p.url, "--json",
         "--concurrency", "3"], cwd=ROOT, env={**__import__("os").environ, **env(tmp_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dbfile = tmp_path / "caselog.db"

    def reached_k() -> bool:
        if proc.poll() is not None or not dbfile.exists():
            return proc.poll() is not None  # finished before k: kill it anyway (no-op)
        try:
            with db(tmp_path) as conn:
                row = conn.execute("select done from syncs order by id desc").fetchone()
        except sqlite3.Error:  # schema still being created
            return False
        return bool(row and row["done"] >= k)

    try:
        wait_until(reached_k, timeout=60, interval=0.005, what=f"{k} cases saved")
        proc.send_signal(sig)
    finally:
        proc.wait(10)
    with db(tmp_path) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        before = conn.execute("select count(*) from cases").fetchone()[0]
    # A kill mid-write leaves a temporary file (too rare to hit by chance: planted, named
    # as the archive names them, after the dead process); the next sync removes it.
    (tmp_path / "captures" / "ab").mkdir(parents=True, exist_ok=True)
    stale = tmp_path / "captures" / "ab" / f".cdef.json.{proc.pid}.1.tmp"
    stale.write_bytes(b'{"half": ')
    p.sim("faults", {"latency_ms": 0})
    _, summary = sync(p, tmp_path)
    assert summary["opened"] >= 30 - before
    assert_same(truth, export(tmp_path))
    assert not list((tmp_path / "captures").glob("*/.*.tmp"))
    with db(tmp_path) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        states = [r[0] for r in conn.execute("select state from syncs order by id")]
        assert states == ["interrupted", "ok"]


# -- a portal whose layout changed for some cases ------------------------------------------

class _Proxy(BaseHTTPRequestHandler):
    """Forwards to the portal; for the cases in ``broken_json`` the API client's ViewCase
    (no Referer: not the page's own fetch) loses ``contactList``; for ``broken_page`` the
    case page is a layout no parser knows."""

    upstream: str = ""
    broken_json: set = set()
    broken_page: set = set()
    broken_search: bool = False  # SearchForCases in a layout the parser does not know

    def log_message(self, *args):
        pass

    def _forward(self):
        url = urlsplit(self.path)
        case = (parse_qs(url.query).get("caseId") or parse_qs(url.query).get("caseID")
                or [None])[0]
        if url.path.endswith("/view-case") and case in self.broken_page:
            body = (f'<html><head><title>Case {case}</title></head><body><div class="view-case">'
                    f'<section data-testid="case-summary"><h1>?</h1><p>ID: {case}</p></section>'
                    '<kat-box><p>a layout nobody has seen</p></kat-box></div></body></html>')
            return self._send(200, [("Content-Type", "text/html; charset=utf-8")],
                              body.encode())
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        host, port = urlsplit(self.upstream).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request(self.command, self.path, body=data, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if (url.path.endswith("/ViewCase") and case in self.broken_json
                and not self.headers.get("Referer") and resp.status == 200):
            doc = json.loads(body)
            doc["contacts"] = doc.pop("contactList")
            body = json.dumps(doc).encode()
        if (url.path.endswith("/SearchForCases") and self.broken_search
                and not self.headers.get("Referer") and resp.status == 200):
            doc = json.loads(body)  # the portal's own lobby page still reads its answer
            doc["searchResults"] = doc.pop("caseSearchResultList")
            body = json.dumps(doc).encode()
        skip = {"content-length", "transfer-encoding", "connection"}
        self._send(resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in skip],
                   body)
        conn.close()

    def _send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _forward


def test_unknown_layout_falls_back_to_html_or_fails_with_what_was_expected(
        portal_factory, tmp_path):
    p = portal_factory("--cases", "12", "--seed", "8")
    truth = p.sim("truth")
    json_only, both = truth["cases"][2]["case_id"], truth["cases"][5]["case_id"]
    handler = type("Proxy", (_Proxy,), {"upstream": p.url, "broken_json": {json_only, both},
                                        "broken_page": {both}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = type(p)(p.proc, f"http://127.0.0.1:{server.server_address[1]}", [])
    try:
        login(proxy, tmp_path)
        r, summary = sync(proxy, tmp_path, expect=1)
    finally:
        server.shutdown()
    assert [f["case_id"] for f in summary["failures"]] == [both]
    error = summary["failures"][0]["error"]
    assert error.startswith(f"case {both}: ") and 'expected "contactList"' in error
    assert "caselog reparse" in error  # what to do next
    exported = export(tmp_path)
    assert_same({"cases": [c for c in truth["cases"] if c["case_id"] not in (json_only, both)]},
                {"cases": [c for c in exported["cases"] if c["case_id"] != json_only]})
    fallback = next(c for c in exported["cases"] if c["case_id"] == json_only)
    assert_same({"cases": [truth["cases"][2]]}, {"cases": [fallback]}, minute=True)
    with db(tmp_path) as conn:
        rows = conn.execute("select case_id, kind, parse_status, parse_error from captures "
                            "where case_id in (?, ?) order by id", [json_only, both]).fetchall()
        by = {(r["case_id"], r["kind"]): r for r in rows}
        assert by[(json_only, "viewcase")]["parse_status"] == "error"
        assert by[(json_only, "html")]["parse_status"] == "ok"
        assert by[(both, "viewcase")]["parse_status"] == "error"
        assert by[(both, "html")]["parse_status"] == "error"
        src = conn.execute("select source, last_error from cases where case_id = ?",
                           [json_only]).fetchone()
        assert src["source"] == "html" and src["last_error"] is None
    # The captures are kept for reparse: replaying them gives the same result.
    before = export(tmp_path)
    r = run_caselog("reparse", env=env(tmp_path))
    assert r.returncode == 0 and "1 groups skipped" in r.stdout
    assert export(tmp_path) == before


@pytest.mark.parametrize("locale,tz", [("en_US", "America/Los_Angeles"),
                                       ("de_DE", "Europe/Berlin")])
def test_unknown_case_list_layout_says_what_and_lists_from_the_rendered_lobby(
        portal_factory, tmp_path, locale, tz):
    """SearchForCases in a layout the parser does not know: the sync says which page and
    what it expected, keeps that answer for reparse, and lists every case (older than the
    lobby's 30 days too) from the rendered lobby instead; nothing is lost."""
    p = portal_factory("--cases", "60", "--seed", "4", "--locale", locale, "--timezone", tz)
    truth = p.sim("truth")
    handler = type("Proxy", (_Proxy,), {"upstream": p.url, "broken_search": True})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = type(p)(p.proc, f"http://127.0.0.1:{server.server_address[1]}", [])
    try:
        login(proxy, tmp_path)
        r, summary = sync(proxy, tmp_path, expect=0)
        r_human = run_caselog("sync", "--portal", proxy.url, env=env(tmp_path))
    finally:
        server.shutdown()
    message = summary["message"]
    assert message.startswith('SearchForCases page 0: expected "caseSearchResultList"'), message
    assert "kept as captures/" in message and "rendered lobby" in message
    assert summary["listed"] == 60 and summary["opened"] == 60 and not summary["failures"]
    assert_same(truth, export(tmp_path))
    with db(tmp_path) as conn:
        rows = conn.execute("select kind, parse_status, path from captures "
                            "where kind in ('search', 'lobby') and sync_id = 1").fetchall()
        assert [r["parse_status"] for r in rows if r["kind"] == "search"] == ["error"]
        assert [r["parse_status"] for r in rows if r["kind"] == "lobby"] == ["ok", "ok"]
        kept = next(r["path"] for r in rows if r["kind"] == "search")
        assert b"searchResults" in (tmp_path / "captures" / kept).read_bytes()
        replies = {r[0]: r[1] for r in conn.execute(
            "select case_id, last_amazon_reply_at from cases")}
    last = {c["case_id"]: max((m["sent_at"] for m in c["messages"] if m["sender"] == "amazon"),
                              default=None) for c in truth["cases"]}
    assert replies == last  # times from the threads, not the lobby's days
    # The next sync (same layout) opens everything again, says so in plain words, exit 0.
    assert r_human.returncode == 0 and "Note: SearchForCases page 0" in r_human.stderr
    before = export(tmp_path)
    r = run_caselog("reparse", env=env(tmp_path))
    assert r.returncode == 0 and "0 groups skipped" in r.stdout, r.stdout + r.stderr
    assert export(tmp_path) == before


def test_hostile_json_fails_only_its_own_cases_sync_after_sync(portal_factory, tmp_path):
    """Four cases whose ViewCase answers are valid JSON of shapes no parser expects: each
    is named as failed (or saved right), every other case is saved equal to the truth,
    and a second sync does the same instead of stopping where the first one did."""
    p = portal_factory("--cases", "30", "--seed", "13")
    hostile = p.sim("faults", {"hostile_json_cases": 4})["hostile_json_cases"]
    assert len(hostile) == 4
    login(p, tmp_path)
    truth = p.sim("truth")
    others = {"cases": [c for c in truth["cases"] if c["case_id"] not in hostile]}
    for _ in range(2):
        r, summary = sync(p, tmp_path, expect=1)
        assert summary["state"] == "partial" and "Traceback" not in r.stderr
        failed = {f["case_id"]: f["error"] for f in summary["failures"]}
        assert set(failed) <= set(hostile)
        for cid, error in failed.items():
            assert error.startswith(f"case {cid}: ") and "caselog reparse" in error
        saved = {c["case_id"]: c for c in export(tmp_path)["cases"]}
        assert_same(others, {"cases": [c for c in export(tmp_path)["cases"]
                                       if c["case_id"] not in hostile]})
        right = {c["case_id"]: c for c in truth["cases"]}
        with db(tmp_path) as conn:
            source = dict(conn.execute("select case_id, source from cases").fetchall())
        for cid in set(hostile) - set(failed):  # saved despite the odd shape: saved right,
            # as far as what it was read from tells (a rendered page shows minutes)
            norm = to_minute if source[cid] == "html" else canon
            assert norm(saved[cid]) == norm(right[cid])
