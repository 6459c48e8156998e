"""Sync now: the UI starts ``python -m companion sync --portal URL --json`` as a background
process (Playwright never runs inside the web server) and reports its progress from the
``syncs`` row the sync keeps up to date.

One runner per app, kept in ``app.extensions``; a sync started from a terminal shows too,
because progress is read from the database, not from the child process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from companion.procs import pid_alive
from companion.read import queries

EXIT_STATES = {0: "ok", 1: "partial", 2: "failed", 3: "auth", 4: "robot"}


@dataclass
class Run:
    proc: subprocess.Popen
    portal: str
    before_id: int
    out_path: Path
    err_path: Path
    result: dict | None = field(default=None)


def can_open_browser() -> bool:
    """A sign-in window needs a screen: on Linux a DISPLAY or WAYLAND_DISPLAY."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


@dataclass
class Login:
    proc: subprocess.Popen
    portal: str
    log_path: Path


class SyncRunner:
    def __init__(self, db_path: str, home: str | None = None):
        self.db_path = db_path
        self.home = home
        self.run: Run | None = None
        self.login: Login | None = None
        self.lock = threading.Lock()

    def start(self, portal: str, before_id: int) -> bool:
        """Start a sync unless one started here is still running; True if started."""
        with self.lock:
            if self.run and self.run.proc.poll() is None:
                return False
            if self.run:  # the previous run's logs were read into its result already
                shutil.rmtree(self.run.out_path.parent, ignore_errors=True)
            logdir = Path(tempfile.mkdtemp(prefix="caselog-sync-"))
            out_path, err_path = logdir / "stdout.json", logdir / "stderr.txt"
            env = dict(os.environ)
            if self.home:
                env["CASELOG_HOME"] = str(self.home)
            argv = [sys.executable, "-m", "companion", "sync", "--portal", portal, "--json",
                    "--db", self.db_path]
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                        env=env, start_new_session=True)
            self.run = Run(proc, portal, before_id, out_path, err_path)
            return True

    def start_login(self, portal: str) -> bool:
        """Open the interactive sign-in window (``caselog login --portal URL``, a visible
        Chromium on this computer) as a background process; True if started."""
        with self.lock:
            if self.login and self.login.proc.poll() is None:
                return False
            if self.run and self.run.proc.poll() is None:
                return False
            if self.login:
                shutil.rmtree(self.login.log_path.parent, ignore_errors=True)
            log_path = Path(tempfile.mkdtemp(prefix="caselog-login-")) / "login.txt"
            env = dict(os.environ)
            if self.home:
                env["CASELOG_HOME"] = str(self.home)
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "companion", "login", "--portal", portal],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                    start_new_session=True)
            self.login = Login(proc, portal, log_path)
            return True

    def login_status(self) -> dict | None:
        """``{"state": "running"|"ok"|"failed", "message"}`` of the sign-in window started
        here, or None."""
        login = self.login
        if login is None:
            return None
        code = login.proc.poll()
        if code is None:
            return {"state": "running", "portal": login.portal}
        message = None
        if code != 0:
            try:
                text = login.log_path.read_text(errors="replace")
            except OSError:
                text = ""
            # click prints "Error: ..." first; Playwright's call log may follow it.
            errors = [ln.strip() for ln in text.splitlines() if ln.startswith("Error")]
            message = errors[0][:300] if errors else _last_line(text)
        return {"state": "ok" if code == 0 else "failed", "portal": login.portal,
                "message": message}

    def stop(self) -> None:
        with self.lock:
            for proc in (self.run.proc if self.run else None,
                         self.login.proc if self.login else None):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()

    def status(self, db) -> dict:
        """What the progress partial shows: ``{"state": "idle"|"running"|<final state>,
        "row": syncs row or None, "portal", "exit_code", "summary", "error"}``."""
        run = self.run
        if run is None:
            row = queries.sync_row(db)
            if row and row["state"] == "running":
                if pid_alive(row.get("pid")):
                    return {"state": "running", "row": row, "portal": row.get("portal"),
                            "external": True}
                row = {**row, "state": "interrupted"}  # its process is gone
            return {"state": "idle", "row": row, "portal": row.get("portal") if row else None}
        row = None
        newest = queries.sync_row(db)
        if newest and newest["id"] > run.before_id:
            row = newest
        code = run.proc.poll()
        if code is None:
            return {"state": "running", "row": row, "portal": run.portal}
        if run.result is None:
            run.result = self._result(run, code, row)
        return {**run.result, "row": row or run.result.get("row")}

    def _result(self, run: Run, code: int, row: dict | None) -> dict:
        summary = None
        try:
            text = run.out_path.read_text(errors="replace").strip()
            if text:
                summary = json.loads(text.splitlines()[-1] if text[0] != "{" else text)
        except (OSError, ValueError):
            summary = None
        err = ""
        try:
            err = run.err_path.read_text(errors="replace")[-2000:]
        except OSError:
            pass
        state = EXIT_STATES.get(code, "failed")
        if row and row.get("state") in ("auth", "robot") and state == "failed":
            state = row["state"]
        if isinstance(summary, dict) and summary.get("state") in EXIT_STATES.values():
            state = summary["state"] if code != 0 else state
        error = None
        if state not in ("ok", "partial"):
            if isinstance(summary, dict):
                error = summary.get("message") or summary.get("error")
            error = error or (row or {}).get("error") or _last_line(err)
        return {"state": state, "portal": run.portal, "exit_code": code,
                "summary": summary if isinstance(summary, dict) else None, "error": error,
                "row": row}


def _last_line(text: str) -> str | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:500] if lines else None
