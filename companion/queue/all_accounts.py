"""Home's queue across every seller account: each account's rows (``queue.candidates``,
remembered per database) merged by deadline, each row naming its account.

Every account is read inside ``use_account`` with its own database, so its settings
(replies.toml), marks and evidence are its own; rows keep their account, and nothing is
looked up by case id outside the account a row came from (two accounts may hold the
same case ids). Building it writes nothing.

Each account's queue is stored (``companion.queue.derive``): a page reads the first rows
of each account that the page can show, and their counts.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

import sqlite_utils

from companion.folders import use_account
from companion.queue import rows as queue
from companion.replies import reminders


def _one(name: str, db: sqlite_utils.Database, now: datetime, limit: int) -> dict:
    with use_account(name):
        try:
            found = queue.top(db, now, limit)
        except reminders.ConfigError as exc:
            return {"account": name, "rows": [], "total": 0, "stale": 0, "snoozed": 0,
                    "problem": str(exc)}
    counts = found["counts"]
    return {"account": name, "rows": found["rows"], "total": counts["rows"],
            "stale": counts["stale"], "snoozed": counts["snoozed"], "problem": None}


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
    page = max(1, page)
    per = [_one(name, db, now, page * per_page) for name, db in dbs]
    counts = [{"account": p["account"], "total": p["total"], "stale": p["stale"],
               "snoozed": p["snoozed"], "problem": p["problem"]} for p in per]
    shown = [p for p in per if account in (None, p["account"])]
    # Each account's rows are in deadline order already: merge, never sort them all.
    streams = [_keyed(p["account"], p["rows"]) for p in shown]
    total = sum(p["total"] for p in shown)
    pages = max(1, -(-total // per_page))
    if page > pages:  # past the end: the last page, read again
        page = pages
        per = [_one(name, db, now, page * per_page) for name, db in dbs]
        shown = [p for p in per if account in (None, p["account"])]
        streams = [_keyed(p["account"], p["rows"]) for p in shown]
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
