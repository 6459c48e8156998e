"""A portal whose layout changed for some cases or for its case list, or whose JSON has
shapes no parser expects (PORTAL.md section 6): the sync falls back to the rendered pages
where it can, says what was expected where it cannot, saves every other case equal to
the truth, and the next sync does the same."""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sync_helpers import assert_same, canon, db, env, export, login, sync, to_minute

from fixtures.harness import run_caselog

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)


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
