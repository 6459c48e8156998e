"""``caselog demo`` end to end: portal subprocess, headless sign-in, sync, UI; both
addresses printed, the UI's last, with no request log after it; SIGTERM (what Ctrl-C does
to the foreground job) stops UI and portal."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

from fixtures.harness import ROOT, free_port, stop_process

# werkzeug's access log: 127.0.0.1 - - [02/Dec/2026 01:33:58] "GET / HTTP/1.1" 200 -
REQUEST_LOG = re.compile(r'"[A-Z]+ \S+ HTTP/1\.[01]" \d{3}')


def demo_env() -> dict:
    """This checkout's code in the demo and the processes it starts, whatever an editable
    install points at: they run with the test's temporary folder as working directory."""
    env = {k: v for k, v in os.environ.items() if k != "CASELOG_HOME"}
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                              env.get("PYTHONPATH")]))}


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"demo exited ({proc.returncode}) before {what}:\n"
                                 + log.read_text(errors="replace"))
        time.sleep(0.1)  # polling a condition with a deadline
    raise AssertionError(f"timed out waiting for {what}:\n" + log.read_text(errors="replace"))


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_syncs_serves_and_stops_cleanly(tmp_path):
    ui_port, portal_port = free_port(), free_port()
    log = tmp_path / "demo.log"
    env = demo_env()
    address = f"Open http://127.0.0.1:{ui_port}/ in your browser (Ctrl-C stops the demo)."
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "companion", "demo", "--port", str(ui_port),
             "--portal-port", str(portal_port), "--cases", "15"],
            cwd=tmp_path, env=env, stdout=out,
            stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: address in log.read_text(errors="replace"),
                  120, "the UI address", proc, log)
        text = log.read_text(errors="replace")
        assert text.splitlines()[-1] == address  # last, nothing printed after it
        assert f"http://127.0.0.1:{portal_port}/cu/case-lobby" in text
        assert re.search(r"sign in there as \S+@\S+ with password \S+", text)
        assert (tmp_path / "caselog-home" / "caselog.db").is_file()  # demo data stays here
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/cases") as r:
            assert "15 cases" in r.read().decode()
        for url in (f"http://127.0.0.1:{ui_port}/", f"http://127.0.0.1:{portal_port}/cu/case-lobby"):
            urllib.request.urlopen(url).close()  # requests that would each log a line
        con = sqlite3.connect(tmp_path / "caselog-home" / "caselog.db")
        listed, stored = con.execute(
            "select count(*), count(local_path) from attachments").fetchone()
        con.close()
        assert listed and stored == listed  # the demo downloads them: case pages serve them
    finally:
        stop_process(proc)
    lines = log.read_text(errors="replace").splitlines()
    assert lines[-2:] == [address, "caselog demo stopped."], lines[-5:]
    assert not [line for line in lines if REQUEST_LOG.search(line)]
    assert not _port_open(ui_port) and not _port_open(portal_port)


def test_demo_refuses_a_taken_port_before_signing_in(tmp_path):
    """A second demo on the same ports must not sign in to (and sync) the first one's
    portal: it stops at once and names the option to change."""
    env = demo_env()
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "companion", "demo", "--port", str(free_port()),
             "--portal-port", str(taken), "--cases", "5"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {taken} is already in use" in done.stderr and "--portal-port" in done.stderr
    assert "Signing in" not in done.stdout
    assert not (tmp_path / "caselog-home" / "sessions").exists()
