"""Home's queue across every seller account: each account's rows (``queue.candidates``,
remembered per database) merged by deadline, each row naming its account.

Every account is read inside ``use_account`` with its own database, so its settings
(replies.toml), marks and evidence are its own; rows keep their account, and nothing is
looked up by case id outside the account a row came from (two accounts may hold the
same case ids). Building it writes nothing.

Speed: with twenty accounts even the queue's own stamps (a few queries per account) add
up, so each account's rows are remembered on a cheaper stamp that needs no query: the
size and mtime of its database and WAL file (every commit of any process moves the WAL),
of its replies.toml, and the queue's five-minute bucket (the reminders' own rule for
deadlines computed from "now").
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterable
from datetime import datetime

import sqlite_utils

from companion.folders import home, use_account
from companion.queue import rows as queue
from companion.read.cache import Memo, db_key
from companion.replies import reminders

_MEMO = Memo(size=128)
BUCKET_SECONDS = 300


def _stat(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return (None, None)
    return (st.st_size, st.st_mtime_ns)


def file_stamp(db: sqlite_utils.Database, now: datetime) -> tuple | None:
    """What the account's queue was built from, without asking the database (None for a
    database without a file, which is then built each time)."""
    path = db_key(db)
    if path.startswith("memory:"):
        return None
    return (_stat(path), _stat(path + "-wal"), _stat(str(home() / "replies.toml")),
            int(now.timestamp() // BUCKET_SECONDS))


def _one(name: str, db: sqlite_utils.Database, now: datetime) -> dict:
    with use_account(name):
        stamp = file_stamp(db, now)
        if stamp is None:
            return _build(name, db, now)
        return _MEMO.get(db, "across", stamp, lambda: _build(name, db, now))


def _build(name: str, db: sqlite_utils.Database, now: datetime) -> dict:
    with use_account(name):
        try:
            found = queue.candidates(db, now)
        except reminders.ConfigError as exc:
            return {"account": name, "rows": [], "stale": 0, "snoozed": 0,
                    "problem": str(exc)}
    return {"account": name, "rows": found["rows"], "stale": len(found["stale"]),
            "snoozed": len(found["snoozed"]), "problem": None}


def _keyed(name: str, rows: list[dict]):
    """The queue's own order (``queue._one_row_per_case``), then the account."""
    return ((r["due_at"] or "9", r["case_id"], name, r) for r in rows)


def merged(dbs: Iterable[tuple[str, sqlite_utils.Database]], now: datetime,
           account: str | None = None, page: int = 1, per_page: int = 50,
           with_evidence: bool = True) -> dict:
    """One page of the merged list (``account``: that account's rows only), decorated
    like home's, each row with ``account``; and every account's counts
    (``accounts``: [{account, total, stale, snoozed, problem}]) for the filter."""
    dbs = list(dbs)
    per = [_one(name, db, now) for name, db in dbs]
    counts = [{"account": p["account"], "total": len(p["rows"]), "stale": p["stale"],
               "snoozed": p["snoozed"], "problem": p["problem"]} for p in per]
    shown = [p for p in per if account in (None, p["account"])]
    # Each account's rows are in deadline order already: merge, never sort them all.
    streams = [_keyed(p["account"], p["rows"]) for p in shown]
    total = sum(len(p["rows"]) for p in shown)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    first = (page - 1) * per_page
    picked = []
    for i, item in enumerate(heapq.merge(*streams, key=lambda t: t[:3])):
        if i >= first + per_page:
            break
        if i >= first:
            picked.append((item[2], item[3]))
    return {"rows": _decorate(picked, dict(dbs), now, with_evidence), "total": total,
            "page": page, "pages": pages, "accounts": counts, "account": account}


def _decorate(picked: list[tuple[str, dict]], dbs: dict, now: datetime,
              with_evidence: bool) -> list[dict]:
    """Home's decoration (overdue, evidence, repeated asks, new), account by account."""
    by_account: dict[str, list[dict]] = {}
    for name, row in picked:
        by_account.setdefault(name, []).append(row)
    done: dict[tuple[str, str], dict] = {}
    for name, rows in by_account.items():
        with use_account(name):
            db = dbs[name]
            new = queue.changed_since_look(db, [r["case_id"] for r in rows])
            for r in queue.decorate(db, rows, new, with_evidence, now):
                done[(name, r["case_id"])] = {**r, "account": name}
    return [done[(name, row["case_id"])] for name, row in picked]
