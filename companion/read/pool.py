"""Idle read connections kept between requests, per database file.

SQLite reads a database's schema on a connection's first statement; the All accounts
pages read twenty accounts' databases, and opening twenty connections per request alone
cost more than the page's budget. A connection is only ever used by one request at a
time: taken from the list, given back (its transaction rolled back) at teardown.
"""

from __future__ import annotations

import threading

import sqlite_utils

from companion.read.queries import connect

_IDLE: dict[str, list[sqlite_utils.Database]] = {}
_LOCK = threading.Lock()
IDLE_PER_DB = 4


def take(path: str) -> sqlite_utils.Database:
    """An idle connection to ``path``, or a new one (usable from another thread: the
    request that takes it next may run on one)."""
    with _LOCK:
        idle = _IDLE.get(path)
        if idle:
            return idle.pop()
    return connect(path, same_thread=False)


def give_back(path: str, db: sqlite_utils.Database) -> None:
    if db.conn.in_transaction:
        db.conn.rollback()
    with _LOCK:
        idle = _IDLE.setdefault(path, [])
        if len(idle) < IDLE_PER_DB:
            idle.append(db)
            return
    db.conn.close()
