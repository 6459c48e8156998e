"""The error model: what a seller reads for each situation, the one exit-code table, and
that no secret reaches any output, log, page or database row, whatever wrote it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sync_helpers import env, login

from companion import errors, exitcodes, redact
from fixtures.harness import ROOT, run_caselog
from scrapers.errors import (
    BadRequest,
    CaseNotFound,
    LayoutError,
    NoSavedSession,
    Outage,
    RobotCheck,
    SessionExpired,
    TransientExhausted,
    Unreachable,
)

MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
PORTAL = "http://127.0.0.1:9"


# -- redaction ---------------------------------------------------------------------------

PLAYWRIGHT_LOG = """APIRequestContext.fetch: connect ECONNREFUSED 127.0.0.1:8731
Call log:
  - → GET http://127.0.0.1:8731/hill/hillservice/mons-api/ViewCase?caseId=1
  -   user-agent: Mozilla/5.0
  -   cookie: session-token=s3cr3t-c00kie-value; lc-main=en_US
  -   accept: application/json"""


@pytest.mark.parametrize("text, secret", [
    (PLAYWRIGHT_LOG, "s3cr3t-c00kie-value"),
    ("Cookie: session-token=abcdef123456", "abcdef123456"),
    ("{'cookie': 'session-token=zz9zz9zz9zz9'}", "zz9zz9zz9zz9"),
    ('{"access_token": "Atza|IwEBIJ-token-value"}', "Atza|IwEBIJ-token-value"),
    ("refresh_token=Atzr|IwEBIrefresh&client_id=x", "Atzr|IwEBIrefresh"),
    ("x-amz-access-token: Atza|abc.def", "Atza|abc.def"),
    ('{"client_secret": "amzn1.oa2-cs.v1.deadbeef"}', "amzn1.oa2-cs.v1.deadbeef"),
    ("password=hunter2hunter2", "hunter2hunter2"),
    ("https://h/f?X-Amz-Signature=0123456789abcdef&X-Amz-Date=1", "0123456789abcdef"),
    ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
])
def test_redact_removes_every_kind_of_secret(text, secret):
    out = redact.redact(text)
    assert secret not in out and redact.REDACTED in out


def test_redact_removes_remembered_values_wherever_they_appear():
    redact.remember_secret("a-very-private-value-42")
    redact.remember_session({"cookies": [{"name": "x-odd", "value": "odd-cookie-777777"}]})
    out = redact.redact("got a-very-private-value-42 and odd-cookie-777777 in plain prose")
    assert "a-very-private-value-42" not in out and "odd-cookie-777777" not in out
    assert out.count(redact.REDACTED) == 2 and "in plain prose" in out


def test_redact_leaves_ordinary_text_alone():
    text = "case 12345678901: the portal kept failing (HTTP 503); pageToken=abc currentToken"
    assert redact.redact(text) == text


# -- the seller's words ------------------------------------------------------------------

@pytest.mark.parametrize("exc, state, words", [
    (NoSavedSession("x"), "auth", f"no saved Seller Central session for {PORTAL} yet"),
    (SessionExpired("x"), "auth", f"caselog login --portal {PORTAL}"),
    (RobotCheck("x"), "robot", "only a person can pass it"),
    (Outage("x"), "outage", "case log is unavailable right now"),
    (Unreachable("x"), "failed", "Could not reach the portal"),
    (CaseNotFound("x", case_id="11111111111"), "case", "case 11111111111: "),
    (TransientExhausted("x", status=503), "case", "HTTP 503"),
    (BadRequest("x", status=400), "case", "refused caselog's request"),
    (LayoutError('"timestamp"', case_id="22222222222"), "case",
     'shape caselog does not know (expected "timestamp"'),
])
def test_each_situation_has_its_state_and_words(exc, state, words):
    problem = errors.explain(exc, portal=PORTAL)
    assert problem.state == state and words in problem.message


def test_an_unknown_error_goes_to_the_owner_only_debug_log(tmp_path, monkeypatch):
    monkeypatch.setenv("CASELOG_HOME", str(tmp_path))
    problem = errors.explain(KeyError("cookie: session-token=leaky-leaky-1"), portal=PORTAL)
    assert problem.state == "failed" and "KeyError" in problem.message
    log = tmp_path / "logs" / "debug.log"
    assert str(log) in problem.message and "leaky-leaky-1" not in log.read_text()
    assert log.stat().st_mode & 0o777 == 0o600 and log.parent.stat().st_mode & 0o777 == 0o700


def test_one_table_of_exit_codes_documented_in_sync_help():
    assert exitcodes.EXIT_CODES == {"ok": 0, "partial": 1, "failed": 1, "interrupted": 1,
                                 "auth": 3, "robot": 4, "outage": 5}
    r = run_caselog("sync", "--help")
    lines = [line.split(None, 1) for line in r.stdout.splitlines() if line.strip()]
    codes = {parts[0]: parts[1] for parts in lines if len(parts) == 2 and parts[0].isdigit()}
    assert set(codes) == {"0", "1", "2", "3", "4", "5"}
    assert "unavailable" in codes["5"] and "robot check" in codes["4"]


# -- nothing leaks, end to end -------------------------------------------------------------

def _everything_written(home: Path, outputs: list[str]) -> str:
    """Every output, every file under CASELOG_HOME except the session store itself, and
    every text value of every row of the database, as one string to search."""
    parts = list(outputs)
    for path in home.rglob("*"):
        if path.is_file() and "sessions" not in path.parts:
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    with sqlite3.connect(home / "caselog.db") as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in conn.execute(f"select * from [{table}]"):
                parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


def test_a_sync_against_a_stopped_portal_leaks_no_secret(portal_factory, tmp_path):
    p = portal_factory("--cases", "6", "--seed", "4", "--mfa-secret", MFA_SECRET)
    config = p.sim("config")
    home = tmp_path / "home"
    login(p, home)
    session = json.loads(next((home / "sessions").glob("*.json")).read_text())
    cookies = [c["value"] for c in session["cookies"] if len(c["value"]) >= 8]
    assert cookies, "the portal set no session cookie"
    p.stop()  # nothing listens there now
    human = run_caselog("sync", "--portal", p.url, env=env(home))
    as_json = run_caselog("sync", "--portal", p.url, "--json", env=env(home))
    assert human.returncode == as_json.returncode == 1
    assert f"Could not reach the portal at {p.url}" in human.stderr
    assert "Nothing changed" not in human.stdout + human.stderr
    assert json.loads(as_json.stdout)["state"] == "failed"
    seen = _everything_written(home, [human.stdout, human.stderr, as_json.stdout,
                                      as_json.stderr])
    for secret in (*cookies, config["password"], MFA_SECRET):
        assert secret not in seen
    with sqlite3.connect(home / "caselog.db") as conn:
        row = conn.execute("select state, error from syncs order by id desc").fetchone()
    assert row[0] == "failed" and "Could not reach the portal" in row[1]


def test_export_loads_no_playwright_and_makes_no_database(tmp_path):
    """What the process holds when it exits: the command's own module, and no Playwright."""
    home = tmp_path / "empty"
    home.mkdir()
    probe = ("import atexit, runpy, sys\n"
             "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
             "sys.argv = ['caselog', 'export']\n"
             "runpy.run_module('companion', run_name='__main__')\n")
    r = subprocess.run([sys.executable, "-c", probe], cwd=ROOT,
                       env={**os.environ, "CASELOG_HOME": str(home)},
                       capture_output=True, text=True)
    loaded = next(line for line in r.stderr.splitlines() if line.startswith("MODULES ")).split()
    assert "companion.cli.export" in loaded  # the probe saw the command run
    assert not [m for m in loaded if m.split(".")[0] == "playwright"]
    assert r.returncode == 1 and "no caselog database" in r.stderr
    assert not (home / "caselog.db").exists()


def test_files_are_owner_only_in_an_open_caselog_home(shared_portal, tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    login(shared_portal, home)
    old = os.umask(0o022)
    try:
        r = run_caselog("sync", "--portal", shared_portal.url, env=env(home))
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    loose = [str(path) for path in home.rglob("*")
             if path.stat().st_mode & 0o077]
    assert loose == []
    assert (home / "caselog.db").stat().st_mode & 0o777 == 0o600
