"""The official source end to end: `caselog login --spapi` and `caselog sync --spapi`
against the bundled Support API (the same seeded account as its portal), through the
real CLI, with no browser; and both sources into one archive, in either order."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys

import pytest
from sync_helpers import (
    FAST,
    assert_same,
    db,
    env,
    export,
    login,
    reset_stats,
    spapi_login,
    spapi_sync,
    stats,
    sync,
)

from fixtures.harness import ROOT, run_caselog, wait_until

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    from fixtures.harness import start_portal

    p = start_portal("--cases", "40", "--seed", "23", "--v2-data", *FAST)
    yield p
    p.stop()


def test_login_proves_and_stores_owner_only_and_says_nothing_secret(v2, tmp_path):
    r = spapi_login(v2, tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = v2.sim("config")
    stored = next((tmp_path / "credentials").glob("spapi-*.json"))
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert "proved and saved" in r.stderr
    for secret in (cfg["lwa_client_secret"], cfg["lwa_refresh_token"]):
        assert secret not in r.stdout + r.stderr


def test_wrong_client_and_revoked_token_are_clear_and_exit_3(portal_factory, tmp_path):
    p = portal_factory("--cases", "4", "--seed", "2", *FAST)
    wrong = spapi_login(p, tmp_path / "a", CASELOG_LWA_CLIENT_SECRET="not-the-secret")
    assert wrong.returncode == 3 and "client id or client secret is wrong" in wrong.stderr
    assert not (tmp_path / "a" / "credentials").exists()  # nothing stored
    assert spapi_login(p, tmp_path / "b").returncode == 0
    p.sim("spapi/revoke", {})
    p.sim("spapi/expire-tokens", {})
    r, summary = spapi_sync(p, tmp_path / "b", expect=3)
    assert summary["state"] == "auth" and "revoked" in r.stderr
    assert "caselog login --spapi" in r.stderr and "Traceback" not in r.stderr
    again = spapi_login(p, tmp_path / "c")
    assert again.returncode == 3 and "refresh token is wrong or was revoked" in again.stderr


def test_full_then_incremental_sync_equal_the_support_apis_truth(portal_factory, tmp_path):
    p = portal_factory("--cases", "60", "--seed", "29", "--v2-data", *FAST)
    assert spapi_login(p, tmp_path).returncode == 0
    _, first = spapi_sync(p, tmp_path)
    assert first["state"] == "ok" and first["source"] == "spapi" and first["opened"] == 60
    assert_same(p.sim("spapi/truth"), export(tmp_path))
    channels = {m["channel"] for c in export(tmp_path)["cases"] for m in c["messages"]}
    assert channels == {"email", "chat", "phone"}
    with db(tmp_path) as conn:
        assert conn.execute("select count(*) from appointments").fetchone()[0] > 0
    changed = p.sim("mutate", {"new_replies": 10, "status_changes": 5, "new_cases": 3})
    opened = {*changed["new_replies"], *changed["status_changes"], *changed["new_cases"]}
    reset_stats(p)
    _, again = spapi_sync(p, tmp_path)
    assert_same(p.sim("spapi/truth"), export(tmp_path))
    counted = stats(p)
    assert again["opened"] == len(opened)
    floor = counted["spapi.listCases"] + len(opened)
    assert counted["spapi.listContacts"] + counted["spapi.listCases"] <= 1.1 * floor + 1


def _sync_in_background(portal, home) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "companion", "sync", "--spapi",
         portal.sim("config")["spapi_endpoint"], "--json"], cwd=ROOT,
        env={**os.environ, **env(home, CASELOG_KEYRING="0")},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _saved_at_least(home, n: int):
    def check() -> bool:
        try:
            with sqlite3.connect(home / "caselog.db") as conn:
                return conn.execute("select count(*) from cases").fetchone()[0] >= n
        except sqlite3.Error:
            return False
    return check


def test_an_access_token_that_expires_mid_sync_is_renewed_once(portal_factory, tmp_path):
    p = portal_factory("--cases", "40", "--seed", "43", "--spapi-rate", "8",
                       "--spapi-burst", "8")
    assert spapi_login(p, tmp_path).returncode == 0
    proc = _sync_in_background(p, tmp_path)
    wait_until(_saved_at_least(tmp_path, 5), timeout=60, what="five cases saved")
    p.sim("spapi/expire-tokens", {})
    out, _ = proc.communicate(timeout=120)
    summary = json.loads(out)
    assert proc.returncode == 0 and summary["state"] == "ok"
    assert stats(p)["spapi.403"] >= 1  # refused once ...
    assert summary["requests"]["client"]["token_requests"] == 2  # ... renewed once
    assert_same(p.sim("spapi/truth"), export(tmp_path))


def test_expired_download_links_keep_the_name_and_the_sync(portal_factory, tmp_path):
    p = portal_factory("--cases", "6", "--seed", "31", *FAST, "--download-ttl", "1")
    assert spapi_login(p, tmp_path).returncode == 0
    p.sim("faults", {"latency_ms": 1200})  # every link is a second old when it is used
    _, summary = spapi_sync(p, tmp_path, "--download-attachments")
    p.sim("faults", {"latency_ms": 0})
    assert summary["state"] == "ok" and summary["failures"] == []
    with db(tmp_path) as conn:
        names = conn.execute("select count(*), count(local_path) from attachments").fetchone()
    assert names[0] > 0 and names[1] == 0  # every link had expired: names, no files
    p.sim("spapi/settings", {"download_ttl": 900})
    _, fresh = spapi_sync(p, tmp_path, "--full", "--download-attachments")
    with db(tmp_path) as conn:
        done = conn.execute("select count(*) from attachments where local_path is not null "
                            "and size is not null").fetchone()[0]
    assert done == names[0]


@pytest.mark.parametrize("first", ["portal", "spapi"])
def test_both_sources_keep_each_message_once_in_either_order(portal_factory, tmp_path, first):
    p = portal_factory("--cases", "30", "--seed", "37", "--v2-data", "--spapi-own-ids",
                       *FAST)
    login(p, tmp_path)
    assert spapi_login(p, tmp_path).returncode == 0
    runs = [lambda: sync(p, tmp_path), lambda: spapi_sync(p, tmp_path)]
    for run in (runs if first == "portal" else runs[::-1]):
        run()
    assert_same(p.sim("truth"), export(tmp_path))  # the portal's full truth
    p.sim("mutate", {"new_replies": 4, "new_cases": 2})
    for run in runs[::-1]:
        run()
    assert_same(p.sim("truth"), export(tmp_path))
    with db(tmp_path) as conn:
        both = conn.execute("select count(distinct case_id) from case_sources "
                            "where source = 'spapi'").fetchone()[0]
        callbacks = conn.execute("select count(*) from appointments").fetchone()[0]
    assert both == 32
    before = export(tmp_path)
    r = run_caselog("reparse", env=env(tmp_path))  # the archive of both sources
    assert r.returncode == 0 and "0 groups skipped" in r.stdout, r.stdout + r.stderr
    assert export(tmp_path) == before
    with db(tmp_path) as conn:
        assert conn.execute("select count(*) from appointments").fetchone()[0] == callbacks


def test_ctrl_c_leaves_it_consistent_and_the_next_run_continues(portal_factory, tmp_path):
    p = portal_factory("--cases", "40", "--seed", "41", "--spapi-rate", "4",
                       "--spapi-burst", "4")
    assert spapi_login(p, tmp_path).returncode == 0
    proc = _sync_in_background(p, tmp_path)
    wait_until(_saved_at_least(tmp_path, 5), timeout=60, what="five cases saved")
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    with db(tmp_path) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert conn.execute("select state from syncs order by id desc").fetchone()[0] == \
            "interrupted"
        before = conn.execute("select count(*) from cases").fetchone()[0]
    assert 5 <= before < 40
    p.sim("spapi/settings", {"rate": 50, "burst": 50})
    _, summary = spapi_sync(p, tmp_path)
    assert summary["opened"] == 40 - before  # it continues where it stopped
    assert_same(p.sim("spapi/truth"), export(tmp_path))
