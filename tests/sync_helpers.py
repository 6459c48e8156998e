"""Helpers shared by the sync tests: sign in, sync, export and compare with the portal's
ground truth, all through the real CLI in subprocesses with an explicit CASELOG_HOME."""

from __future__ import annotations

import atexit
import json
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

from fixtures.harness import Portal, SessionCache, run_caselog


def env(home: Path, **extra) -> dict:
    return {"CASELOG_HOME": str(home), **extra}


def sign_in(portal: Portal, home: Path) -> None:
    """``caselog login --headless`` with the portal's credentials: a real Chromium sign-in."""
    cfg = portal.sim("config")
    extra = {"CASELOG_PASSWORD": cfg["password"]}
    if cfg.get("mfa_secret"):
        extra["CASELOG_TOTP_SECRET"] = cfg["mfa_secret"]
    r = run_caselog("login", "--portal", portal.url, "--email", cfg["email"], "--headless",
                    env=env(home, **extra))
    assert r.returncode == 0, r.stderr


# One sign-in per running portal for the whole test process (tests/test_login.py and the
# sign-in tests prove sign-in itself); removed when the process ends.
_SCRATCH = Path(tempfile.mkdtemp(prefix="caselog-sessions-"))
atexit.register(shutil.rmtree, _SCRATCH, True)
SESSIONS = SessionCache(_SCRATCH)


def login(portal: Portal, home: Path) -> None:
    """Give ``home`` a signed-in session for ``portal``, as ``caselog login`` leaves it:
    the first call per portal signs in with Chromium, later ones copy its saved session
    while the portal still knows it."""
    SESSIONS.give(portal, home, sign_in)


def signed_in_and_synced(portal: Portal, home: Path, *args: str, timeout: float = 180) -> dict:
    """What a browser test's data starts from: a sign-in and one full sync through the
    CLI, as a seller would. Returns the environment for further commands."""
    cfg = portal.sim("config")
    environ = env(home, CASELOG_PASSWORD=cfg["password"])
    login(portal, home)
    r = run_caselog("sync", "--portal", portal.url, *args, env=environ, timeout=timeout)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stderr[-3000:]}"
    return environ


def sync(portal: Portal, home: Path, *args: str, expect: int | None = 0):
    """``caselog sync --json``; returns (completed process, summary dict or None)."""
    r = run_caselog("sync", "--portal", portal.url, "--json", *args, env=env(home))
    if expect is not None:
        assert r.returncode == expect, \
            f"exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    summary = json.loads(r.stdout) if r.stdout.strip().startswith("{") else None
    return r, summary


def export(home: Path, *args: str) -> dict:
    r = run_caselog("export", *args, env=env(home))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def to_minute(obj) -> str:
    """Canonical JSON with times cut to the minute and attachment sizes blanked: what a
    rendered page can tell (it shows neither seconds nor file sizes)."""
    s = canon(obj)
    s = re.sub(r'"size": (null|\d+)', '"size": null', s)
    return re.sub(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d):\d\dZ"', r'"\1:00Z"', s)


def no_sizes(obj) -> str:
    """Canonical JSON with attachment sizes blanked: what a page with one-line times (to
    the second) can tell."""
    return re.sub(r'"size": (null|\d+)', '"size": null', canon(obj))


def assert_same(truth: dict, exported: dict, minute: bool = False, sizes: bool = True) -> None:
    """Exact equality, with a readable first difference when it fails."""
    norm = to_minute if minute else canon if sizes else no_sizes
    if norm(truth) == norm(exported):
        return
    t = {c["case_id"]: c for c in truth["cases"]}
    e = {c["case_id"]: c for c in exported["cases"]}
    assert sorted(t) == sorted(e), f"case ids differ: missing {set(t) - set(e)}, " \
                                   f"extra {set(e) - set(t)}"
    assert [c["case_id"] for c in truth["cases"]] == [c["case_id"] for c in exported["cases"]]
    for cid, case in t.items():
        assert norm(case) == norm(e[cid]), f"case {cid} differs"
    raise AssertionError("exports differ")


def db(home: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(home / "caselog.db", timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def stats(portal: Portal) -> dict:
    return portal.sim("stats")


def reset_stats(portal: Portal) -> None:
    portal.sim("stats/reset", {})


# The Support API: fast buckets for tests, and the credentials the simulation issues.
FAST = ("--spapi-rate", "50", "--spapi-burst", "50")


def spapi_env(portal, home, **extra) -> dict:
    cfg = portal.sim("config")
    given = {"CASELOG_LWA_CLIENT_ID": cfg["lwa_client_id"],
             "CASELOG_LWA_CLIENT_SECRET": cfg["lwa_client_secret"],
             "CASELOG_LWA_REFRESH_TOKEN": cfg["lwa_refresh_token"], "CASELOG_KEYRING": "0"}
    return env(home, **{**given, **extra})


def spapi_login(portal, home, **extra):
    cfg = portal.sim("config")
    return run_caselog("login", "--spapi", cfg["spapi_endpoint"], "--lwa-endpoint",
                       cfg["lwa_token_url"], env=spapi_env(portal, home, **extra))


def spapi_sync(portal, home, *args, expect: int | None = 0):
    r = run_caselog("sync", "--spapi", portal.sim("config")["spapi_endpoint"], "--json",
                    *args, env=env(home, CASELOG_KEYRING="0"))
    if expect is not None:
        assert r.returncode == expect, f"exit {r.returncode}\n{r.stdout[-1500:]}\n{r.stderr}"
    return r, json.loads(r.stdout) if r.stdout.strip().startswith("{") else None
