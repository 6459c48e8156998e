"""Sync now: the UI starts ``python -m companion --account NAME sync --portal URL`` as a
background process (Playwright never runs inside the web server), so the sync runs
through the one function every caller uses (``companion.syncing``: its lock, run row,
refresh and notifications), and reports its progress, state and result from the
``syncs`` row the sync keeps up to date: the row is the one record of how a run went
(``companion.capture.runs``), so exit codes and output are never decoded back into
states here. Only a run that never got as far as its row (it could not start at all, or
another process was syncing the account) is described from its last line, redacted.

One runner per account per app, kept in ``app.extensions``; a sync started from a
terminal shows too, because progress is read from the database, not from the child
process. The child is told its account on its command line, whatever the server's own
environment says, so it can only write that account's folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from companion.procs import pid_alive
from companion.read import queries
from companion.redact import redact


@dataclass
class Run:
    proc: subprocess.Popen
    portal: str
    before_id: int
    err_path: Path


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
    def __init__(self, db_path: str, home: str | None = None, account: str | None = None):
        self.db_path = db_path
        self.home = home
        self.account = account
        self.run: Run | None = None
        self.login: Login | None = None
        self.lock = threading.Lock()

    def start(self, portal: str, before_id: int, source: str = "portal") -> bool:
        """Start a sync (of the portal, or of the Support API at ``portal``) unless one
        started here is still running; True if started."""
        with self.lock:
            if self.run and self.run.proc.poll() is None:
                return False
            if self.run:
                shutil.rmtree(self.run.err_path.parent, ignore_errors=True)
            flag = "--spapi" if source == "spapi" else "--portal"
            proc, err_path = self._spawn(["sync", flag, portal, "--db", self.db_path],
                                         "caselog-sync-")
            self.run = Run(proc, portal, before_id, err_path)
            return True

    def _spawn(self, args: list[str], prefix: str) -> tuple[subprocess.Popen, Path]:
        """``python -m companion --account NAME ARGS`` in its own session (a stop never
        reaches the server), its output in a private temporary file, this app's
        CASELOG_HOME."""
        log_path = Path(tempfile.mkdtemp(prefix=prefix)) / "log.txt"
        env = dict(os.environ)
        env.pop("CASELOG_ACCOUNT", None)  # the command line names the account
        if self.home:
            env["CASELOG_HOME"] = str(self.home)
        chosen = ["--account", self.account] if self.account else []
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "companion", *chosen, *args],
                                    stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True)
        return proc, log_path

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
            proc, log_path = self._spawn(["login", "--portal", portal], "caselog-login-")
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

    def wait(self) -> None:
        """Until the sync started here (if any) has ended (Sync all's thread)."""
        run = self.run
        if run is not None:
            run.proc.wait()

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
        "row": syncs row or None, "portal", "finished" (a run started here ended),
        "summary", "error"}``."""
        run = self.run
        if run is None:
            row = queries.sync_row(db)
            if row and row["state"] == "running":
                if pid_alive(row.get("pid")):
                    return {"state": "running", "row": row, "portal": row.get("portal"),
                            "external": True}
                row = {**row, "state": "interrupted"}  # its process is gone
            return {"state": "idle", "row": row, "portal": row.get("portal") if row else None}
        newest = queries.sync_row(db)
        row = newest if newest and newest["id"] > run.before_id else None
        if run.proc.poll() is None:
            return {"state": "running", "row": row, "portal": run.portal}
        if row and row["state"] == "running" and row.get("pid") != run.proc.pid \
                and pid_alive(row.get("pid")):
            # Ours was refused: another process (a terminal, the watch) is syncing.
            return {"state": "running", "row": row, "portal": row.get("portal"),
                    "external": True}
        return self._finished(run, row)

    def _finished(self, run: Run, row: dict | None) -> dict:
        out = {"portal": run.portal, "finished": True, "row": row}
        if row is None:  # it never got as far as its syncs row
            try:
                err = run.err_path.read_text(errors="replace")[-2000:]
            except OSError:
                err = ""
            line = _last_line(err.replace("Error: ", ""))
            return {**out, "state": "failed", "summary": None,
                    "error": redact(f"the sync did not start: {line}" if line else
                                    "the sync did not start")}
        state = row["state"] if row["state"] != "running" else "interrupted"
        summary = row.get("summary_data") if isinstance(row.get("summary_data"), dict) else None
        error = row.get("error") or (summary or {}).get("message")
        return {**out, "state": state, "summary": summary,
                "error": error if state not in ("ok", "partial") else None}


def _last_line(text: str) -> str | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:500] if lines else None
