"""Shared test plumbing: a real Chromium for pytest-playwright, and real subprocess
servers (the simulated portal, the UI) on free loopback ports, always stopped."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from scrapers.browser.launch import find_browser, launch_args

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": find_browser(), "args": launch_args()}


def run_async(coro):
    """Run a coroutine to completion on a fresh event loop in its own thread.

    pytest-playwright's sync ``page`` fixture keeps an event loop running in the main
    thread for the rest of the session, after which ``asyncio.run`` there fails; async
    capture tests go through this so they pass in any order."""
    return ThreadLoop.once(coro)


class ThreadLoop:
    """An event loop living in a background thread, for module-scoped async resources
    (one Chromium serving many tests) that must outlive a single ``run_async``."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run_until_complete(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @classmethod
    def once(cls, coro):
        runner = cls()
        try:
            return runner.run_until_complete(coro)
        finally:
            runner.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll until the server answers; fail with its stderr if it died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{err}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.05)  # polling interval while waiting on a condition, not a sync sleep
    raise TimeoutError(f"{url} did not answer within {timeout}s")


class Portal:
    """A running simulated portal subprocess and its control API."""

    def __init__(self, proc: subprocess.Popen, url: str, args: list[str]):
        self.proc, self.url, self.args = proc, url, args

    def sim(self, path: str, body: dict | None = None, method: str | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + "/__sim/" + path.lstrip("/"), data=data,
            method=method or ("POST" if body is not None else "GET"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def stop(self):
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate, then kill if it does not exit within 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class UIServer:
    """``python -m companion serve`` on a free port over ``db``; its log goes to a file so
    a full pipe can never stall it, and is shown if it dies."""

    def __init__(self, db: Path, home: Path, env: dict | None = None, ready_path: str = "/"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / f"serve-{self.port}.log"
        full_env = {**os.environ, "CASELOG_HOME": str(home), **(env or {})}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "companion", "serve", "--port", str(self.port),
                 "--db", str(db)], cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_http(self.url + ready_path, self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(self.log.read_text(errors="replace")) from None

    def stop(self):
        stop_process(self.proc)


def start_portal(*args: str) -> Portal:
    """Start ``python -m fixtures`` (what ``caselog portal`` runs) on a free port."""
    port = free_port()
    argv = [sys.executable, "-m", "fixtures", "--port", str(port), *args]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/__sim/health", proc)
    except Exception:
        proc.kill()
        raise
    return Portal(proc, url, list(args))


@pytest.fixture
def portal_factory():
    """Start portals with any flags; every one is stopped at the end of the test."""
    started: list[Portal] = []

    def make(*args: str) -> Portal:
        p = start_portal(*args)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


@pytest.fixture(scope="session")
def shared_portal():
    """One read-only 60-case portal (seed 7, en_US) for tests that do not mutate it."""
    p = start_portal("--cases", "60", "--seed", "7")
    yield p
    p.stop()


@pytest.fixture
def caselog_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("CASELOG_HOME", str(home))
    return home


def run_caselog(*args: str, env: dict | None = None, input: str | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the installed CLI as a user would, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "companion", *args], cwd=ROOT, env=full_env, input=input,
        capture_output=True, text=True, timeout=timeout,
    )
