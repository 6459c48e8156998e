"""``caselog watch`` end to end, through the real CLI against simulated portals: rounds on
a schedule (the 10-minute floor relaxed by the test-only CASELOG_WATCH_MIN_SECONDS), one
sync at a time per account, a robot check that stops one account while the other goes
on, notifications to a loopback sink through apprise's ``json://``, and a watch killed
mid-sync that leaves no lock behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from accounts_helpers import (
    FAST_SPAPI,
    Sink,
    add_portal_account,
    add_spapi_account,
    caselog,
    count_syncs,
    folder,
    notify_urls,
    query,
)
from sync_helpers import env

from fixtures.harness import ROOT, start_portal, stop_process, wait_until

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)

FAST = {"CASELOG_WATCH_MIN_SECONDS": "1"}


def _watch(home, *args, extra=None) -> tuple[subprocess.Popen, object]:
    """``caselog watch`` in the background, its output in a file (a full pipe never
    stalls it); started in its own session so its browsers can be cleaned up."""
    log = open(home / f"watch-{len(list(home.glob('watch-*')))}.log", "w+b")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion", "watch", *args], cwd=ROOT, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, **env(home, CASELOG_KEYRING="0", **FAST, **(extra or {}))})
    return proc, log


def _said(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")


def _end(proc: subprocess.Popen) -> None:
    """Stop the watch (SIGTERM) and anything it left in its session."""
    stop_process(proc)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """alpha: a browser account on pa; beta: a Support API account on pb."""
    home = tmp_path_factory.mktemp("home")
    pa = start_portal("--cases", "12", "--seed", "71")
    pb = start_portal("--cases", "12", "--seed", "72", *FAST_SPAPI)
    try:
        add_portal_account(pa, home, "alpha")
        add_spapi_account(pb, home, "beta")
        yield {"home": home, "pa": pa, "pb": pb}
    finally:
        pa.stop()
        pb.stop()


def _starts(home, account) -> list[tuple[str, str | None]]:
    return query(home, account, "select started_at, finished_at from syncs order by id")


def test_watch_syncs_every_account_each_interval_never_two_at_once(world):
    home = world["home"]
    before = {n: count_syncs(home, n) for n in ("alpha", "beta")}
    proc, log = _watch(home, "--account", "alpha", "--account", "beta", "--every", "2s")
    try:
        wait_until(lambda: all(count_syncs(home, n) >= before[n] + 3 for n in before),
                   timeout=120, what="three rounds of each account")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, _said(log)
    finally:
        _end(proc)
    said = _said(log)
    assert "alpha: synced" in said and "beta: synced" in said and "Traceback" not in said
    for name in before:
        rows = _starts(home, name)[before[name]:]
        for (a_start, a_end), (b_start, _) in zip(rows, rows[1:], strict=False):
            assert a_end is not None and a_end <= b_start  # one at a time
            gap = _seconds(b_start) - _seconds(a_start)
            assert gap >= 1.0  # never more often than the (relaxed) floor
        states = query(home, name, "select state from syncs")[before[name]:]
        assert {s for (s,) in states} <= {"ok", "interrupted"}
    assert query(home, "alpha", "select count(*) from syncs where state = 'running'") == [(0,)]


def _seconds(ts: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def test_the_floor_holds_without_the_test_setting(world):
    home = world["home"]
    caselog(home, "alpha", "watch", "--once", extra={"CASELOG_WATCH_MIN_SECONDS": "0"})
    n = count_syncs(home, "alpha")
    r = caselog(home, "alpha", "watch", "--once", "--every", "1m")
    assert "at most every 600 s" in r.stdout and count_syncs(home, "alpha") == n
    assert "more often than caselog syncs a portal; watching every 10 min" in r.stderr


def test_notifications_go_to_the_sink_once_per_event_without_text(world):
    home, pa = world["home"], world["pa"]
    sink = Sink()
    secret_url = sink.url.replace("json://", "json://seller:hunter2-pw@")  # apprise's auth
    try:
        notify_urls(home, "alpha", [secret_url])
        caselog(home, "alpha", "watch", "--once", extra={"CASELOG_WATCH_MIN_SECONDS": "0"})
        sink.posts.clear()
        changed = pa.sim("mutate", {"new_replies": 2})["new_replies"]
        caselog(home, "alpha", "watch", "--once", extra={"CASELOG_WATCH_MIN_SECONDS": "0"})
        truth = {c["case_id"]: c for c in pa.sim("truth")["cases"]}
        replies = [p for p in sink.posts if "replied" in p["title"]]
        assert sorted(p["title"].split()[-1] for p in replies) == sorted(changed)
        for post in replies:
            case = truth[post["title"].split()[-1]]
            assert case["case_id"] in post["message"] and case["subject"] in post["message"]
            assert case["messages"][-1]["text"] not in post["message"]
            assert post["title"].startswith("[alpha] ")
        stored = query(home, "alpha", "select count(*) from notifications where kind in "
                       "('reply', 'status', 'transfer')")
        caselog(home, "alpha", "watch", "--once", extra={"CASELOG_WATCH_MIN_SECONDS": "0"})
        assert query(home, "alpha", "select count(*) from notifications where kind in "
                     "('reply', 'status', 'transfer')") == stored  # once per event
        assert len([p for p in sink.posts if "replied" in p["title"]]) == len(changed)
        # the URL's password is in notify.toml (owner-only), not in what was stored
        rows = query(home, "alpha", "select title, body, channels from notifications")
        assert rows and "json://seller:****@" in str(rows) and "hunter2-pw" not in str(rows)

        notify_urls(home, "alpha", [sink.url], include_text=True)
        sink.posts.clear()
        (again,) = pa.sim("mutate", {"new_replies": 1})["new_replies"]
        caselog(home, "alpha", "watch", "--once", extra={"CASELOG_WATCH_MIN_SECONDS": "0"})
        text = next(c for c in pa.sim("truth")["cases"]
                    if c["case_id"] == again)["messages"][-1]["text"]
        (post,) = [p for p in sink.posts if again in p["title"]]
        assert text[:200] in post["message"]
        listed = json.loads(caselog(home, "alpha", "notify", "list", "--unread",
                                    "--json").stdout)
        assert listed and all(not n["read"] for n in listed)
        caselog(home, "alpha", "notify", "read", "--all")
        assert json.loads(caselog(home, "alpha", "notify", "list", "--unread",
                                  "--json").stdout) == []
    finally:
        sink.close()


def test_notify_test_says_what_each_channel_did_and_shows_no_secret(world):
    home = world["home"]
    sink = Sink()
    try:
        secret_url = sink.url.replace("json://", "json://seller:hunter2-pw@")
        (folder(home, "beta") / "notify.toml").write_text(
            "desktop = true\n" + f"urls = {json.dumps([secret_url, 'nosuch://x'])}\n")
        r = caselog(home, "beta", "notify", "test")
        assert "desktop: not sent: skipped: no desktop session" in r.stdout
        assert "json://seller:****@127.0.0.1" in r.stdout and ": ok: sent" in r.stdout
        assert "nosuch://...: not sent: not a notification URL apprise knows" in r.stdout
        assert "hunter2-pw" not in r.stdout + r.stderr
        (post,) = sink.posts
        assert post["title"] == "[beta] caselog test notification"
    finally:
        sink.close()


def test_a_robot_check_stops_one_account_once_while_the_other_goes_on(world):
    home, pa = world["home"], world["pa"]
    sink = Sink()
    try:
        notify_urls(home, "alpha", [sink.url])
        pa.sim("robot", {"on": True})
        before = {n: count_syncs(home, n) for n in ("alpha", "beta")}
        proc, log = _watch(home, "--all", "--every", "2s")
        try:
            # Alpha's round drives a browser and may take longer than beta's three rounds.
            wait_until(lambda: count_syncs(home, "beta") >= before["beta"] + 3
                       and "alpha: stopped" in _said(log), timeout=120,
                       what="beta going on, alpha stopped")
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        finally:
            _end(proc)
        said = _said(log)
        assert count_syncs(home, "alpha") == before["alpha"] + 1, said
        assert said.count("alpha: stopped") == 1 and "robot check" in said
        assert "caselog login --account alpha" in said
        stops = [p for p in sink.posts if "stopped watching" in p["title"]]
        assert len(stops) == 1 and "robot check" in stops[0]["message"]
        # a later run (cron) leaves it alone and says nothing new
        r = caselog(home, "alpha", "watch", "--once")
        assert "not watched since" in r.stdout
        assert count_syncs(home, "alpha") == before["alpha"] + 1
        assert len([p for p in sink.posts if "stopped watching" in p["title"]]) == 1
        # once a person passed the check and a sync worked, the watch takes it up again
        pa.sim("robot", {"on": False})
        pa.sim("captcha-clear", {})
        caselog(home, "alpha", "sync")
        r = caselog(home, "alpha", "watch", "--once", extra={"CASELOG_WATCH_MIN_SECONDS": "0"})
        assert "alpha: synced" in r.stdout
    finally:
        pa.sim("robot", {"on": False})
        sink.close()


def test_a_watch_killed_mid_sync_leaves_no_lock(tmp_path):
    from companion.accounts import Busy, sync_lock
    from companion.folders import Account

    slow = start_portal("--cases", "40", "--seed", "73", "--latency-ms", "150")
    try:
        add_portal_account(slow, tmp_path, "gamma")
        gamma = Account("gamma", folder(tmp_path, "gamma"))
        proc, log = _watch(tmp_path, "--once", "--account", "gamma")
        try:
            wait_until(lambda: query(tmp_path, "gamma", "select count(*) from cases "
                                     "where fully_captured = 1") not in ([], [(0,)]),
                       timeout=120, what="the first sync under way")
            with pytest.raises(Busy):
                with sync_lock(gamma):
                    pass
            r = caselog(tmp_path, "gamma", "sync", expect=1)
            assert "another caselog process is syncing" in r.stderr
            proc.send_signal(signal.SIGKILL)  # the watch only: its browser may live on
            proc.wait(30)
            with sync_lock(gamma):
                pass  # free at once
        finally:
            _end(proc)
        r = caselog(tmp_path, "gamma", "watch", "--once", extra={"CASELOG_WATCH_MIN_SECONDS": "0"})
        assert "gamma: synced" in r.stdout
        assert query(tmp_path, "gamma", "select state from syncs order by id") == \
            [("interrupted",), ("ok",)]
    finally:
        slow.stop()
