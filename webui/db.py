"""The request's database handle: opened on first use, kept on ``g``, closed on teardown.
Blueprints call ``get_db()``; the connection itself comes from ``companion.read``. The
database is the request's account's (``g.db_path``, set by ``webui.accounts``)."""

from __future__ import annotations

import sqlite_utils
from flask import current_app, g

from companion.read import pool
from companion.read.queries import connect


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
        g.account_dbs[name] = (path, pool.take(path))
    return g.account_dbs[name][1]


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()
    for path, other in g.pop("account_dbs", {}).values():
        pool.give_back(path, other)
