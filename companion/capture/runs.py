"""The ``syncs`` table: one row per run (sync, import), its state, progress and summary.

The row is the one record of how a run went: the CLI prints from it, the UI's Sync panel
polls it, and a run whose process died (a ``running`` row whose pid is gone) is marked
``interrupted`` by the next run. States and their exit codes: ``companion.exitcodes``.
"""

from __future__ import annotations

import json
import os

import sqlite_utils

from companion.procs import pid_alive
from companion.redact import redact
from companion.schema import utcnow


def mark_interrupted(db: sqlite_utils.Database) -> list[int]:
    """Runs left ``running`` by a process that no longer exists were killed: say so."""
    ids = [r["id"] for r in db.query("select id, pid from syncs where state = 'running'")
           if not pid_alive(r["pid"]) or r["pid"] == os.getpid()]
    if ids:
        with db.atomic():
            for i in ids:
                db["syncs"].update(i, {"state": "interrupted"})
    return ids


def start_sync(db: sqlite_utils.Database, portal: str | None, mode: str,
               source: str | None = "portal") -> int:
    with db.atomic():
        return db["syncs"].insert({
            "portal": portal, "mode": mode, "state": "running", "started_at": utcnow(),
            "pid": os.getpid(), "total": 0, "done": 0, "listed": 0, "requests": 0,
            "source": source,
        }).last_pk


def update_sync(db: sqlite_utils.Database, sync_id: int, **values) -> None:
    with db.atomic():
        db.execute(f"update syncs set {', '.join(k + ' = ?' for k in values)} where id = ?",
                   [*values.values(), sync_id])


def finish_sync(db: sqlite_utils.Database, sync_id: int, state: str, summary: dict | None,
                error: str | None = None, requests: int | None = None) -> None:
    values = {"state": state, "finished_at": utcnow(),
              "error": redact(error) if error else None}
    if summary is not None:
        values["summary"] = redact(json.dumps(summary, ensure_ascii=False))
    if requests is not None:
        values["requests"] = requests
    update_sync(db, sync_id, **values)


def count_done(db: sqlite_utils.Database, sync_id: int | None) -> None:
    """One more case finished (saved or failed); inside the case's own transaction."""
    if sync_id is not None:
        db.execute("update syncs set done = done + 1 where id = ?", [sync_id])
