"""One sync for every caller (``companion.syncing``) with one portable lock: two syncs of
one account at once (the second is refused in words, the first loses nothing), the lock
on a system without ``fcntl``, and ``caselog sync`` and ``caselog watch`` leaving the
same run row, refresh and stored notifications, because they run the same function."""

from __future__ import annotations

import ast
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest
import sqlite_utils
from accounts_helpers import FAST_SPAPI, add_spapi_account, caselog, folder, query
from sync_helpers import env

from fixtures.harness import ROOT, start_portal, stop_process, wait_until

CASES = 14


@pytest.fixture(scope="module")
def portal():
    p = start_portal("--cases", str(CASES), "--seed", "91", *FAST_SPAPI,
                     "--latency-ms", "60")
    try:
        yield p
    finally:
        p.stop()


def _background_sync(home: Path, account: str) -> tuple[subprocess.Popen, Path]:
    out = home / f"sync-{account}.out"
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "companion", "--account", account, "sync", "--json"],
            cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **env(home, CASELOG_KEYRING="0")})
    return proc, out


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=30)


def test_two_syncs_of_one_account_at_once_the_second_is_refused_and_nothing_lost(
        portal, tmp_path, monkeypatch):
    from webui.syncrun import SyncRunner

    monkeypatch.setenv("CASELOG_KEYRING", "0")
    add_spapi_account(portal, tmp_path, "solo")
    db_file = folder(tmp_path, "solo") / "caselog.db"
    portal.sim("faults", {"latency_ms": 3000})  # the first cannot end meanwhile
    first, out = _background_sync(tmp_path, "solo")
    try:
        wait_until(lambda: query(tmp_path, "solo", "select id from syncs where "
                                 "state = 'running'"),
                   timeout=120, what="the first sync under way (its lock held)")
        second = caselog(tmp_path, "solo", "sync", "--json", expect=1)
        assert first.poll() is None  # it was refused by a sync still running
        assert "another caselog process is syncing this account" in second.stderr
        assert "wait for it to finish" in second.stderr and second.stdout == ""
        # Sync now meanwhile: its process is refused too, and the UI shows the sync that
        # is running rather than calling its own run interrupted.
        runner = SyncRunner(str(db_file), str(tmp_path), "solo")
        assert runner.start(portal.sim("config")["spapi_endpoint"], 0, "spapi")
        runner.wait()
        assert runner.run.proc.returncode == 1
        with closing(connect(db_file)) as conn:
            shown = runner.status(sqlite_utils.Database(conn))
        assert shown["state"] == "running" and shown.get("external")
        assert shown["row"]["pid"] == first.pid
        portal.sim("faults", {"latency_ms": 60})
        assert first.wait(180) == 0, out.read_text(errors="replace")[-3000:]
    finally:
        portal.sim("faults", {"latency_ms": 60})
        stop_process(first)
    # The refused sync never touched the run: one row, the first's, finished whole.
    assert query(tmp_path, "solo", "select state, listed from syncs") == [("ok", CASES)]
    assert query(tmp_path, "solo", "select count(*) from cases where fully_captured = 1") \
        == [(CASES,)]
    summary = json.loads(out.read_text().strip().splitlines()[-1])
    assert len(summary["new_cases"]) == CASES
    again = json.loads(caselog(tmp_path, "solo", "sync", "--json").stdout)
    assert again["state"] == "ok" and again["new_cases"] == [] and again["failures"] == []


NO_FCNTL = """
import sys
sys.modules["fcntl"] = None  # as on a system without it (Windows has its own call)
import filelock
from companion import accounts
from companion.folders import Account
assert filelock.FileLock is not filelock.UnixFileLock
account = Account("solo", __import__("pathlib").Path(sys.argv[1]))
try:
    with accounts.sync_lock(account) as path:
        print("held", oct(path.stat().st_mode & 0o777), flush=True)
        if sys.argv[2] == "hold":
            sys.stdin.read()  # until the test kills this process
except accounts.Busy as exc:
    print("busy:", exc, flush=True)
"""


def _without_fcntl(folder_: Path, what: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-W", "ignore", "-c", textwrap.dedent(NO_FCNTL),
                             str(folder_), what], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_the_lock_holds_without_fcntl_and_a_killed_holder_frees_it(tmp_path):
    acct = tmp_path / "acct"
    acct.mkdir()
    holder = _without_fcntl(acct, "hold", stdin=subprocess.PIPE)
    try:
        first = holder.stdout.readline()
        assert first.startswith("held"), first + holder.stderr.read()
        assert first.split()[1] == "0o600"  # owner-only, like everything caselog writes
        out, err = _without_fcntl(acct, "try").communicate(timeout=60)
        assert out.startswith("busy: another caselog process is syncing"), out + err
        holder.send_signal(signal.SIGKILL)  # no chance to clean up: the lock file stays
        holder.wait(30)
    finally:
        if holder.poll() is None:
            holder.kill()
    out, err = _without_fcntl(acct, "try").communicate(timeout=60)
    assert out.startswith("held"), out + err  # a dead holder's lock is taken over


def test_the_cli_the_watch_and_sync_now_leave_the_same_run_refresh_and_notifications(
        portal, tmp_path, monkeypatch):
    """Three accounts on one Support API: synced by `caselog sync`, by a watch round, and
    by the UI's Sync now runner (its child process). Same function, same row (but the pid
    and times), same refresh, same events; only the watch sends them."""
    from webui.syncrun import SyncRunner

    for name in ("bycli", "bywatch", "bysyncnow"):
        add_spapi_account(portal, tmp_path, name)
    caselog(tmp_path, "bycli", "sync")
    r = caselog(tmp_path, "bywatch", "watch", "--once",
                extra={"CASELOG_WATCH_MIN_SECONDS": "0"})
    assert "bywatch: synced" in r.stdout
    monkeypatch.setenv("CASELOG_KEYRING", "0")
    monkeypatch.setenv("CASELOG_ACCOUNT", "bycli")  # the runner names its own account
    runner = SyncRunner(str(folder(tmp_path, "bysyncnow") / "caselog.db"), str(tmp_path),
                        "bysyncnow")
    assert runner.start(portal.sim("config")["spapi_endpoint"], 0, "spapi")
    runner.wait()
    assert runner.run.proc.returncode == 0, runner.run.err_path.read_text()[-3000:]

    def run_row(name):
        (row,) = query(tmp_path, name, "select mode, source, state, listed, total, done, "
                       "summary from syncs")
        summary = json.loads(row[-1])
        return (*row[:-1], sorted(summary), sorted(summary["new_cases"]))

    assert run_row("bycli") == run_row("bywatch") == run_row("bysyncnow")
    assert run_row("bycli")[2] == "ok"
    for sql in ("select case_id, count(*) from checklist_items group by case_id",
                "select case_id, count(*) from case_asks group by case_id",
                "select kind, key, case_id from notifications order by key"):
        found = query(tmp_path, "bycli", sql)
        # The refresh stored checklists and asks; which events a first sync stores depends
        # on the clock (deadlines due within a day), so for them only the sameness counts.
        assert found or "notifications" in sql, sql
        assert found == query(tmp_path, "bywatch", sql) == query(tmp_path, "bysyncnow", sql)
    # The runner's child synced its own account, whatever the server's environment said.
    assert len(query(tmp_path, "bycli", "select id from syncs")) == 1
    assert query(tmp_path, "default", "select count(*) from cases") in ([], [(0,)])


def test_only_companion_syncing_runs_a_capture():
    """Every caller reaches ``capture.sync.sync`` through ``companion.syncing``: no other
    module calls it (the UI starts ``caselog sync`` as a process)."""
    callers = []
    for path in [*Path(ROOT, "companion").rglob("*.py"), *Path(ROOT, "webui").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "companion.capture.sync" \
                    and any(a.name == "sync" for a in node.names):
                callers.append(str(path.relative_to(ROOT)))
            if isinstance(node, ast.Attribute) and node.attr == "sync" and \
                    isinstance(node.value, ast.Name) and node.value.id == "capture":
                callers.append(str(path.relative_to(ROOT)))
    assert sorted(set(callers)) == ["companion/syncing.py"]


def test_a_sync_refuses_another_accounts_database(caselog_home):
    """The database and the account agree: another account's database is refused before
    anything is locked, opened or written."""
    from companion import accounts

    accounts.add("shop2", portal="http://127.0.0.1:9")
    r = caselog(caselog_home, "shop2", "sync", "--db", str(caselog_home / "caselog.db"),
                expect=2)
    assert "is the database of the account 'default', not of 'shop2'" in r.stderr
    assert "--account default" in r.stderr
    assert query(caselog_home, "default", "select count(*) from syncs") == [(0,)]
    assert not (folder(caselog_home, "shop2") / "sync.lock").exists()
    elsewhere = caselog_home.parent / "copy.db"  # a copy outside every account: allowed
    r = caselog(caselog_home, "shop2", "sync", "--db", str(elsewhere), expect=None)
    assert "is the database of the account" not in r.stderr
