"""The CLI as a Windows or macOS seller runs it, simulated here: every caselog process (and
each process it starts) runs with ``tests/elsewhere/sitecustomize.py``, which hides
``fcntl``, ``resource``, ``os.fchmod`` and ``/proc``, and with its console encoded cp1252
(a Windows console's code page). Real portal, real Chromium, real SQLite files.

The data each command reads is made first by the ordinary CLI (a sign-in and a sync), so
a command fails here only for what it does itself."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sync_helpers import signed_in_and_synced, spapi_env

from fixtures.harness import (
    ROOT,
    UIServer,
    free_port,
    run_caselog,
    start_portal,
    stop_process,
    wait_until,
)

ELSEWHERE = Path(__file__).parent / "elsewhere"


def elsewhere(home: Path, **extra) -> dict:
    """The environment of a process on the simulated platform."""
    path = os.pathsep.join(filter(None, [str(ELSEWHERE), str(ROOT),
                                         os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "PYTHONIOENCODING": "cp1252", "CASELOG_HOME": str(home),
            **extra}


def run_bytes(*args: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    """The CLI with stdout kept as bytes (what a redirect to a file receives)."""
    return subprocess.run([sys.executable, "-m", "companion", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, timeout=timeout)


def not_cp1252(text: str) -> str:
    """The characters of ``text`` a cp1252 console cannot show."""
    return "".join(sorted({c for c in text if c.encode("cp1252", "ignore") == b""}))


# companion/accounts.py takes the sync lock with fcntl, imported at module level, so on
# Windows (and here) every command that imports it stops before doing anything. Once the
# lock is portable (filelock) these tests must pass: strict, so an unexpected pass says
# the mark is to go.
NEEDS_FCNTL = pytest.mark.xfail(
    "import fcntl\n" in (ROOT / "companion" / "accounts.py").read_text(encoding="utf-8"),
    reason="companion/accounts.py imports fcntl at module level (Windows has none)",
    strict=True)


def owner_only(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


@pytest.fixture(scope="module")
def portal():
    p = start_portal("--cases", "40", "--seed", "7")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def synced(portal, tmp_path_factory):
    """A home signed in and synced by the ordinary CLI."""
    home = tmp_path_factory.mktemp("synced")
    signed_in_and_synced(portal, home)
    return home


def test_the_simulation_hides_what_those_platforms_lack(tmp_path):
    probe = ("import os, sys\n"
             "for m in ('fcntl', 'resource'):\n"
             "    try:\n        __import__(m); print(m, 'present')\n"
             "    except ImportError:\n        print(m, 'missing')\n"
             "print('fchmod', hasattr(os, 'fchmod'))\n"
             "print(sys.stdout.encoding)\n"
             "g = {'__name__': 'companion.probe'}\n"
             "exec(\"from pathlib import Path; print('proc', \"\n"
             "     \"Path('/proc/self').exists())\", g)\n")
    r = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **elsewhere(tmp_path)},
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.split("\n")[:5] == ["fcntl missing", "resource missing", "fchmod False",
                                        "cp1252", "proc False"], r.stdout + r.stderr


# --- works on this branch ----------------------------------------------------------------

def test_export_json_is_utf8_whatever_the_console(synced):
    r = run_bytes("export", env=elsewhere(synced))
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    text = r.stdout.decode("utf-8")  # not the console's cp1252
    assert not_cp1252(text), "the test data should hold text cp1252 cannot encode"
    plain = run_bytes("export", env={"CASELOG_HOME": str(synced)})
    assert json.loads(text) == json.loads(plain.stdout.decode("utf-8"))
    assert len(json.loads(text)["cases"]) == 40


def test_export_csv_rows_end_once_and_excel_gets_a_bom(synced):
    r = run_bytes("export", "--format", "csv", env=elsewhere(synced))
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"\r\r\n" not in r.stdout and r.stdout.count(b"\r\n") >= 41
    rows = list(csv.DictReader(io.StringIO(r.stdout.decode("utf-8"), newline="")))
    assert len(rows) == 40 and not r.stdout.startswith(b"\xef\xbb\xbf")
    out = synced / "for-excel.csv"
    r = run_bytes("export", "--excel", "--output", str(out), env=elsewhere(synced))
    assert r.returncode == 0 and r.stdout == b"", r.stderr.decode(errors="replace")
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\r\n" not in data
    with open(out, newline="", encoding="utf-8-sig") as fh:
        assert [row["Case ID"] for row in csv.DictReader(fh)] == [x["Case ID"] for x in rows]
    assert owner_only(out)  # without os.fchmod too


def test_a_persons_own_template_renders_without_resource(synced):
    templates = synced / "templates"
    templates.mkdir(exist_ok=True)
    for name in ("appeal", "asked", "follow_up", "new_case", "reopen", "reply"):
        (templates / f"{name}.j2").write_text("Own words, from my template.\n")
    case_id = json.loads(run_bytes("export", env={"CASELOG_HOME": str(synced)})
                         .stdout)["cases"][0]["case_id"]
    try:
        r = run_bytes("draft", case_id, "--regenerate", env=elsewhere(synced))
    finally:
        for p in templates.iterdir():
            p.unlink()
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"Own words, from my template." in r.stdout


# --- the commands that sync or serve --------------------------------------------------------

def test_login_spapi_stores_credentials_owner_only(portal, tmp_path):
    cfg = portal.sim("config")
    env = {**spapi_env(portal, tmp_path), **elsewhere(tmp_path)}
    r = run_caselog("login", "--spapi", cfg["spapi_endpoint"], "--lwa-endpoint",
                    cfg["lwa_token_url"], env=env)
    assert r.returncode == 0, r.stderr
    files = list((tmp_path / "credentials").glob("spapi-*.json"))
    assert len(files) == 1 and owner_only(files[0])
    assert cfg["lwa_client_secret"] not in r.stdout + r.stderr


@NEEDS_FCNTL
def test_login_and_sync_through_the_browser(portal, tmp_path):
    cfg = portal.sim("config")
    env = elsewhere(tmp_path, CASELOG_PASSWORD=cfg["password"])
    r = run_caselog("login", "--portal", portal.url, "--email", cfg["email"], "--headless",
                    env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    sessions = list((tmp_path / "sessions").glob("*.json"))
    assert len(sessions) == 1 and owner_only(sessions[0])  # saved without os.fchmod
    r = run_caselog("sync", "--portal", portal.url, env=env, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_bytes("export", env=elsewhere(tmp_path))
    assert len(json.loads(r.stdout.decode("utf-8"))["cases"]) == 40


@NEEDS_FCNTL
def test_accounts_list_and_watch_once(synced, portal):
    r = run_caselog("accounts", "list", env=elsewhere(synced))
    assert r.returncode == 0, r.stderr
    assert "default" in r.stdout
    r = run_caselog("watch", "--once", env=elsewhere(synced, CASELOG_WATCH_MIN_SECONDS="0"),
                    timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "default: " in r.stdout


@NEEDS_FCNTL
def test_serve_shows_the_cases(synced):
    ui = UIServer(synced / "caselog.db", synced, env=elsewhere(synced))
    try:
        with urllib.request.urlopen(ui.url + "/cases", timeout=30) as resp:
            assert "40 cases" in resp.read().decode()
        with urllib.request.urlopen(ui.url + "/cases.csv", timeout=30) as resp:
            assert resp.read().startswith(b"\xef\xbb\xbfCase ID,")
    finally:
        ui.stop()


@NEEDS_FCNTL
def test_demo_signs_in_syncs_and_serves(tmp_path):
    ui_port, portal_port = free_port(), free_port()
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if k != "CASELOG_HOME"}
    env.update(elsewhere(tmp_path))
    del env["CASELOG_HOME"]
    address = f"Open http://127.0.0.1:{ui_port}/"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "companion", "demo", "--port", str(ui_port),
             "--portal-port", str(portal_port), "--cases", "10"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: address in log.read_text(errors="replace") or proc.poll() is not None,
                   timeout=150)
        assert proc.poll() is None, log.read_text(errors="replace")
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/cases", timeout=30) as resp:
            assert "10 cases" in resp.read().decode()
    finally:
        stop_process(proc)


def test_text_a_cp1252_console_cannot_show_does_not_stop_a_command(synced):
    """Commands other than export print to the console as it is; a character its code
    page lacks becomes '?' instead of a UnicodeEncodeError halfway through."""
    cases = json.loads(run_bytes("export", env={"CASELOG_HOME": str(synced)}).stdout)["cases"]
    case = next(c for c in cases if not_cp1252(c["subject"] or ""))
    shown = run_bytes("checklist", case["case_id"], env={"CASELOG_HOME": str(synced),
                                                         "PYTHONIOENCODING": "utf-8"})
    assert shown.returncode == 0 and not_cp1252(shown.stdout.decode("utf-8"))
    r = run_bytes("checklist", case["case_id"], env=elsewhere(synced))
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"?" in r.stdout and len(r.stdout.splitlines()) == len(shown.stdout.splitlines())
