"""What a conforming portal may do to a sync (PORTAL.md section 6): throttling with and
without Retry-After, transient 5xx, a session that expires mid-sync, a robot check,
cases that always fail, and the sync process killed at random points (layouts the
parsers do not know: test_sync_layouts.py). Each time: the right exit code and message,
nothing captured is lost, and the next sync finishes the job (export equals the
portal's truth)."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys

import pytest
from sync_helpers import assert_same, db, env, export, login, stats, sync

from fixtures.harness import ROOT, run_caselog, wait_until

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)

PORTAL = ("--cases", "30", "--seed", "3")  # faults switched at run time, reset after


@pytest.fixture
def fresh(portal_pool, tmp_path):
    """The worker's portal of this configuration as it started (no faults, no robot check,
    counters at zero) and an empty CASELOG_HOME holding only a saved session."""
    p = portal_pool.get(*PORTAL)
    login(p, tmp_path)
    p.sim("stats/reset", {})  # a sign-in, if this one needed one, is not the test's
    return p, tmp_path, p.sim("truth")


def test_sync_without_a_session_says_to_log_in(portal_pool, tmp_path):
    p = portal_pool.get(*PORTAL)
    r, _ = sync(p, tmp_path, expect=3)
    assert f"caselog login --portal {p.url}" in r.stderr
    assert "Traceback" not in r.stderr


def test_sync_with_an_expired_session_exits_3_and_says_to_log_in(fresh):
    """The session file exists but the portal forgot it: the first call says so."""
    p, home, _ = fresh
    p.sim("expire-sessions", {})
    r, summary = sync(p, home, expect=3)
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
