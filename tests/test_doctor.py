"""`caselog doctor`, the PORTAL.md canary, and the cheap part of it that every sync runs.

From files (tests/data, captured by scripts/capture_v2_data.py): every check passes on
conforming captures of both layouts and three locales, and each change planted in the
bytes is named by the check that owns it. Live: the doctor exits 0 on conforming portals
(layout a en_US, layout b de_DE), 1 behind a test-only proxy that rewrites the bundled
portal's answers (a renamed field, an unknown status label, a missing data-testid),
3/4/5 for an expired session, a robot check and an outage; its report and --json hold
none of the portal's planted data; and a sync whose first SearchForCases answer changed
shape stops before saving anything, saying what changed.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sync_helpers import db, env, export, login, sync

from companion.doctor import report as reports
from companion.doctor.canary import ShapeChanged, check_case_list, shape_problems
from companion.doctor.findings import Captured, Raw, run
from fixtures.harness import run_caselog, start_portal

DATA = Path(__file__).parent / "data"
CASE = "348604730"  # the "mixed" case of tests/data (a chat, a call, an Answered case)


# -- from files ------------------------------------------------------------------------

def captured(locale="en_US", layout="b", **changed) -> Captured:
    """The stored v2 captures of one locale and layout, with any part replaced."""
    parts = {
        "search": (DATA / "search_v2.json").read_bytes(),
        "viewcase": (DATA / f"view_case_v2_{locale}_{CASE}.json").read_bytes(),
        "case_page": (DATA / f"case_v2{layout}_{locale}_mixed.html").read_bytes(),
        "lobby": (DATA / f"lobby_v2{layout}_{locale}.html").read_bytes(),
    }
    parts.update(changed)
    return Captured(case_id=CASE, **{k: Raw(200, v) for k, v in parts.items()})


def results(c: Captured) -> dict:
    return {f.check: f for f in run(c)}


@pytest.mark.parametrize("locale,layout", [("en_US", "a"), ("en_US", "b"), ("en_GB", "a"),
                                           ("de_DE", "b")])
def test_every_check_passes_on_conforming_captures(locale, layout):
    c = captured(locale, layout)
    found = run(c)
    assert [f for f in found if f.failed] == []
    report = reports.build(c, found, portal="http://127.0.0.1:1")
    assert report["exit_code"] == 0 and report["failed"] == []
    assert report["layout"] == {"lobby": layout, "contacts": layout}
    assert report["locale"] == {"case_page": locale}
    # The mixed case shows a chat, a call and the reopen notice: those checks looked.
    by = {f.check: f.result for f in found}
    assert by["case_page.channels"] == by["case_page.reopen_notice"] == "ok"
    assert by["case_page.times"] == by["case_page.texts"] == by["lobby.rows"] == "ok"


def _json_edit(name: str, edit) -> bytes:
    doc = json.loads((DATA / name).read_bytes())
    edit(doc)
    return json.dumps(doc).encode()


def rename_reply(row):
    row["lastReplyDate"] = row.pop("lastAmazonReplyDate")


CHANGES = {
    "renamed row field": (
        {"search": _json_edit("search_v2.json", lambda d: [
            rename_reply(row) for row in d["caseSearchResultList"]])},
        "search.row_fields", "missing", ["lastAmazonReplyDate absent in 13 of 13",
                                         "other keys: lastReplyDate"]),
    "unknown status value": (
        {"search": _json_edit("search_v2.json", lambda d: d["caseSearchResultList"][0]
                              .update(status="AwaitingSeller"))},
        "search.statuses", "differs", ["AwaitingSeller (1)"]),
    "case id as a number": (
        {"search": _json_edit("search_v2.json", lambda d: d["caseSearchResultList"][1]
                              .update(caseId=int(d["caseSearchResultList"][1]["caseId"])))},
        "search.case_ids", "differs", ["1 of 13 are a number"]),
    "times in milliseconds": (
        {"viewcase": _json_edit(f"view_case_v2_en_US_{CASE}.json", lambda d: [
            c.update(timestamp=c["timestamp"] * 1000) for c in d["contactList"]])},
        "viewcase.times", "differs", ["5 of 5 timestamp values are milliseconds"]),
    "unknown channel": (
        {"viewcase": _json_edit(f"view_case_v2_en_US_{CASE}.json", lambda d:
                                d["contactList"][0].update(channelType="SMS"))},
        "viewcase.channel_types", "differs", ["SMS (1)"]),
    "missing reciever": (
        {"case_page": (DATA / "case_v2b_en_US_mixed.html").read_bytes()
         .replace(b'data-testid="reciever"', b'data-testid="address"')},
        "case_page.receivers", "differs", ["the address of 2 of 2 contacts"]),
    "unknown status label": (
        {"lobby": (DATA / "lobby_v2b_en_US.html").read_bytes()
         .replace(b">Closed<", b">Shut for good<")},
        "lobby.parser", "differs", ["a known status label inside lobby row #"]),
    "renamed header": (
        {"lobby": (DATA / "lobby_v2b_en_US.html").read_bytes()
         .replace(b">Case ID<", b">Case number<")},
        "lobby.parser", "differs", ["a table with the headers Case ID, Status"]),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_planted_change_is_named_by_its_check(change):
    parts, name, result, words = CHANGES[change]
    by = results(captured("en_US", "b", **parts))
    assert by[name].result == result, by[name]
    for word in words:
        assert word in by[name].found, by[name].found


def test_unknown_words_that_are_also_data_are_withheld():
    """A label that is also a subject (a column read as another) is not repeated."""
    doc = json.loads((DATA / "search_v2.json").read_bytes())
    subject = "Listing removed suddenly"
    doc["caseSearchResultList"][0].update(status=subject, shortDescription=subject)
    by = results(captured(search=json.dumps(doc).encode()))
    assert by["search.statuses"].result == "differs"
    assert subject not in by["search.statuses"].found
    assert "(text of 24 characters, not shown)" in by["search.statuses"].found


def test_the_sync_canary_passes_conforming_answers_and_names_the_first_change():
    assert shape_problems((DATA / "search_v2.json").read_bytes()) == []
    changed = CHANGES["renamed row field"][0]["search"]
    with pytest.raises(ShapeChanged) as info:
        check_case_list(changed, "https://sellercentral.amazon.com")
    message = str(info.value)
    assert message.startswith("Seller Central's case list changed shape: search.row_fields "
                              "expected each row: caseId, status, shortDescription, "
                              "creationDate, lastAmazonReplyDate, found lastAmazonReplyDate "
                              "absent in 13 of 13")
    assert message.endswith("Nothing was saved. Run `caselog doctor --portal "
                            "https://sellercentral.amazon.com --report doctor.json` and "
                            "attach the report to a bug report.")


# -- live -----------------------------------------------------------------------------

def planted(portal) -> list[str]:
    """What the portal holds that no report may repeat: subjects, message texts (and
    their lines), the seller's e-mail address and password, case ids."""
    truth, cfg = portal.sim("truth"), portal.sim("config")
    out = [cfg["email"], cfg["password"]]
    for case in truth["cases"]:
        out += [case["case_id"], case["subject"]]
        for m in case["messages"]:
            out.append(m["text"])
            out += [line.strip() for line in m["text"].splitlines() if len(line.strip()) >= 12]
    return out


def assert_holds_none(text: str, strings: list[str], home: Path) -> None:
    folded = text.casefold()
    leaked = [s for s in strings if s and s.casefold() in folded]
    assert not leaked, leaked[:5]
    for path in (home / "sessions").glob("*.json"):  # nor the session's cookies
        for cookie in json.loads(path.read_text()).get("cookies", []):
            assert cookie["value"] not in text


def doctor(url: str, home: Path, *args: str):
    return run_caselog("doctor", "--portal", url, *args, env=env(home))


@pytest.mark.parametrize("flags,layout,locale", [
    ((), "a", "en_US"),
    (("--layout", "b", "--v2-data", "--mixed-id-lengths", "--locale", "de_DE"), "b", "de_DE"),
], ids=["a-en_US", "b-de_DE"])
def test_doctor_exits_0_on_a_conforming_portal_and_its_report_holds_no_data(
        portal_factory, tmp_path, flags, layout, locale):
    p = portal_factory("--cases", "30", "--seed", "5", *flags)
    login(p, tmp_path)
    report_file = tmp_path / "doctor.json"
    r = doctor(p.url, tmp_path, "--json", "--report", str(report_file))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert report == json.loads(report_file.read_text())
    assert report["result"] == "ok" and report["failed"] == []
    assert report["layout"] == {"lobby": layout, "contacts": layout}
    assert report["locale"] == {"case_page": locale}
    assert report["counts"]["ok"] >= 36
    strings = planted(p)
    assert_holds_none(r.stdout, strings, tmp_path)
    assert_holds_none(report_file.read_text(), strings, tmp_path)
    human = doctor(p.url, tmp_path)
    assert human.returncode == 0 and "matches PORTAL.md" in human.stdout
    assert_holds_none(human.stdout + human.stderr, strings, tmp_path)


class Rewriter(BaseHTTPRequestHandler):
    """A test-only proxy in front of the bundled portal that rewrites chosen answers
    (the portal itself is never changed): ``rules`` maps what to change to how.

    - ``search_rows``: a function applied to each row of the API client's SearchForCases
      answers (no Referer: not the portal's own page, whose lobby keeps working);
    - ``static``: {file name: [(old, new), ...]} byte replacements in /static/ files,
      which change what the rendered pages show.
    """

    upstream = ""
    rules: dict = {}

    def log_message(self, *args):
        pass

    def _forward(self):
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        skip_req = {"host", "if-modified-since", "if-none-match"}  # always whole bodies
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip_req}
        host, port = urlsplit(self.upstream).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request(self.command, self.path, body=data, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        rows = self.rules.get("search_rows")
        if path.endswith("/SearchForCases") and rows and resp.status == 200 \
                and not self.headers.get("Referer"):
            doc = json.loads(body)
            for row in doc["caseSearchResultList"]:
                rows(row)
            body = json.dumps(doc).encode()
        for old, new in self.rules.get("static", {}).get(path.rpartition("/")[2], []) \
                if path.startswith("/static/") else []:
            body = body.replace(old, new)
        skip = {"content-length", "transfer-encoding", "connection"}
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in skip:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _forward


class Proxy:
    """The rewriting proxy on a loopback port; ``sim`` reaches the portal behind it."""

    def __init__(self, portal, rules: dict):
        handler = type("Rules", (Rewriter,), {"upstream": portal.url, "rules": rules})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.sim = portal.sim

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def changed():
    """One portal (en_US, layout a) behind a proxy that renames a SearchForCases field,
    shows Work in progress as "In the works" and drops the reciever test id."""
    p = start_portal("--cases", "30", "--seed", "5")
    proxy = Proxy(p, {"search_rows": rename_reply, "static": {
        "i18n.js": [(b'"Work in progress"', b'"In the works"')],
        "case.js": [(b'"data-testid": "reciever"', b'"data-testid": "sender-address"')]}})
    try:
        assert any(c["status"] == "PendingAmazonAction" for c in p.sim("truth")["cases"])
        yield proxy
    finally:
        proxy.stop()
        p.stop()


def test_doctor_exits_1_naming_each_difference(changed, tmp_path):
    login(changed, tmp_path)
    report_file = tmp_path / "doctor.json"
    r = doctor(changed.url, tmp_path, "--report", str(report_file))
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-2000:]
    report = json.loads(report_file.read_text())
    by = {row["check"]: row for row in report["checks"]}
    # The unknown label stops caselog's lobby parser, which says where; the missing
    # test id leaves the seller's contacts without their address.
    assert set(report["failed"]) == {"search.row_fields", "lobby.parser",
                                     "case_page.receivers"}, report["failed"]
    assert by["search.row_fields"]["result"] == "missing"
    assert "lastAmazonReplyDate absent in 30 of 30" in by["search.row_fields"]["found"]
    assert "other keys: lastReplyDate" in by["search.row_fields"]["found"]
    assert by["search.parser"]["found"] == "yes"  # what the sync alone would not notice
    assert by["lobby.parser"]["found"].startswith(
        "no: it expected a known status label inside lobby row #")
    assert by["case_page.receivers"]["result"] == "differs"
    assert "the address of " in by["case_page.receivers"]["found"]
    for name in ("search.row_fields", "lobby.parser", "case_page.receivers"):
        assert name in r.stdout  # the table names them too
    assert "Differs from PORTAL.md: " in r.stdout
    assert_holds_none(report_file.read_text() + r.stdout, planted(changed), tmp_path)


@pytest.mark.parametrize("rewrite,check,words", [
    (rename_reply, "search.row_fields", "found lastAmazonReplyDate absent in 30 of 30"),
    (lambda row: row.update(status="AwaitingSeller"), "search.statuses",
     "found AwaitingSeller (30)"),
], ids=["renamed-field", "unknown-status"])
def test_sync_stops_before_saving_anything_when_the_case_list_changed_shape(
        changed, tmp_path, rewrite, check, words):
    handler = changed.server.RequestHandlerClass
    before, handler.rules = handler.rules, {"search_rows": rewrite}
    try:
        login(changed, tmp_path)
        r, summary = sync(changed, tmp_path, expect=1)
        human = run_caselog("sync", "--portal", changed.url, env=env(tmp_path))
    finally:
        handler.rules = before
    message = summary["message"]
    assert summary["state"] == "failed" and summary["opened"] == 0, summary
    assert message.startswith(f"Seller Central's case list changed shape: {check} expected ")
    assert words in message and "Nothing was saved." in message
    assert f"caselog doctor --portal {changed.url} --report doctor.json" in message
    assert human.returncode == 1 and "changed shape" in human.stderr
    assert export(tmp_path) == {"cases": []}
    with db(tmp_path) as conn:
        assert conn.execute("select count(*) from cases").fetchone()[0] == 0
        assert conn.execute("select count(*) from messages").fetchone()[0] == 0
        rows = conn.execute("select state, error from syncs order by id").fetchall()
    assert [row["state"] for row in rows] == ["failed", "failed"]
    assert all("changed shape" in row["error"] for row in rows)


def test_doctor_exits_3_4_5_for_sign_in_robot_check_and_outage(portal_factory, tmp_path):
    p = portal_factory("--cases", "8", "--seed", "2")
    r = doctor(p.url, tmp_path)
    assert r.returncode == 3 and f"caselog login --portal {p.url}" in r.stderr
    login(p, tmp_path)
    p.sim("faults", {"outage": True})
    r = doctor(p.url, tmp_path, "--json")
    assert r.returncode == 5 and "unavailable" in r.stderr, r.stderr
    assert json.loads(r.stdout)["state"] == "outage"
    p.sim("faults", {"outage": False})
    p.sim("robot", {"on": True})
    r = doctor(p.url, tmp_path)
    assert r.returncode == 4 and "robot check" in r.stderr, r.stderr
    p.sim("robot", {"on": False})
    assert doctor(p.url, tmp_path).returncode == 0
    p.sim("expire-sessions", {})
    r = doctor(p.url, tmp_path)
    assert r.returncode == 3 and f"caselog login --portal {p.url}" in r.stderr, r.stderr
    for out in (r.stdout, r.stderr):
        assert "Traceback" not in out
        assert_holds_none(out, [p.sim("config")["password"]], tmp_path)


@pytest.mark.parametrize("shape", range(11))
def test_hostile_view_case_shapes_are_differences_never_crashes(shape):
    """The portal's hostile-JSON fault (fixtures/hostile.py, used here only to make the
    bytes): every shape is named by some ViewCase check, and the report still builds."""
    from fixtures import hostile

    body = json.loads((DATA / f"view_case_v2_en_US_{CASE}.json").read_bytes())
    bent = hostile.view_case(shape, body).encode()
    c = captured(viewcase=bent)
    found = run(c)
    assert any(f.failed and f.check.startswith("viewcase.") for f in found), shape
    assert reports.build(c, found, portal="http://127.0.0.1:1")["exit_code"] == 1
    assert not [f for f in found if "cannot read" in f.found]


def test_an_account_without_cases_is_no_finding():
    """Nothing to open: the case checks are "not shown", not failures."""
    from companion.doctor.driver import no_cases

    empty = Raw(200, b'{"caseSearchResultList": [], "totalNumberOfResults": 0}')
    skipped = Raw(None, None, "no case to open: the case list is empty", skipped=True)
    c = Captured(search=empty, viewcase=skipped, case_page=skipped)
    assert no_cases(c)
    found = {f.check: f for f in run(c)}
    assert not [f for name, f in found.items() if f.failed and not name.startswith("lobby")]
    assert found["viewcase.answer"].result == found["case_page.answer"].result == "not shown"


def test_a_data_value_that_is_a_common_word_blanks_only_what_could_hold_it():
    """A message line "number" is data: the report keeps caselog's own words (what each
    check expects) but withholds any found text holding it."""
    doc = json.loads((DATA / f"view_case_v2_en_US_{CASE}.json").read_bytes())
    doc["contactList"][0]["message"] = "number"
    c = captured(viewcase=json.dumps(doc).encode())
    report = reports.build(c, run(c), portal="http://127.0.0.1:1")
    rows = {r["check"]: r for r in report["checks"]}
    assert "(number)" in rows["search.row_types"]["expected"]
    assert rows["search.total"]["found"].startswith("[withheld")  # "...NumberOfResults 13"
