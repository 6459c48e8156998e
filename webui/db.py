"""The request's database handle: opened on first use, kept on ``g``, closed on teardown.
Blueprints call ``get_db()``; the connection itself comes from ``companion.read``. The
database is the request's account's (``g.db_path``, set by ``webui.accounts``)."""

from __future__ import annotations

import sqlite3
import threading

import sqlite_utils
from flask import current_app, g

from companion.read.queries import connect

# Idle read connections of the accounts the All accounts pages read, kept between
# requests: SQLite reads a database's schema on a connection's first statement, and with
# twenty accounts that alone cost more than the page's budget. A connection is only ever
# used by one request at a time (taken from the list, given back at teardown).
_IDLE: dict[str, list[sqlite_utils.Database]] = {}
_IDLE_LOCK = threading.Lock()
IDLE_PER_DB = 4


def _take(path: str) -> sqlite_utils.Database:
    with _IDLE_LOCK:
        idle = _IDLE.get(path)
        if idle:
            return idle.pop()
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    return sqlite_utils.Database(conn)


def _give_back(path: str, db: sqlite_utils.Database) -> None:
    if db.conn.in_transaction:
        db.conn.rollback()
    with _IDLE_LOCK:
        idle = _IDLE.setdefault(path, [])
        if len(idle) < IDLE_PER_DB:
            idle.append(db)
            return
    db.conn.close()


def get_db() -> sqlite_utils.Database:
    if "db" not in g:
        g.db = connect(g.get("db_path") or current_app.config["DB_PATH"])
    return g.db


def account_db(name: str) -> sqlite_utils.Database:
    """Account ``name``'s database for this request (the All accounts pages read each
    account's own), opened once per request and closed with it."""
    from webui.accounts import ensure_db

    if "account_dbs" not in g:
        g.account_dbs = {}
    if name not in g.account_dbs:
        path = ensure_db(name)
        g.account_dbs[name] = (path, _take(path))
    return g.account_dbs[name][1]


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()
    for path, other in g.pop("account_dbs", {}).values():
        _give_back(path, other)
