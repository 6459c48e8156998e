"""The request's databases: where each account's is, its schema applied once per app,
the request's own handle (opened on first use, kept on ``g``, closed on teardown) and
the other accounts' (the All accounts pages). Blueprints call ``get_db()``; the
connection itself comes from ``companion.read``. The request's database is its
account's (``g.db_path``, which ``webui.accounts`` sets from ``g.account``). Imports
nothing of webui, so every page can use it."""

from __future__ import annotations

import sqlite_utils
from flask import current_app, g

from companion import folders
from companion.read import pool
from companion.read.queries import connect
from companion.schema import open_db


def base_account() -> str:
    """The account the server was started for (its pages have no ``/a/NAME`` prefix)."""
    return current_app.config["ACCOUNT"]


def db_path_for(name: str) -> str:
    """The account's database: the served one (``--db``) for the server's own account."""
    if name == base_account():
        return current_app.config["DB_PATH"]
    return str(folders.named(name).db_path)


def ensure_db(name: str) -> str:
    """The account's database path, its schema applied once per app (an account made
    or synced by an older caselog opens like the served one does)."""
    path = db_path_for(name)
    done = current_app.extensions.setdefault("caselog.schema_applied", set())
    if path not in done:
        open_db(path).conn.close()
        done.add(path)
    return path


def get_db() -> sqlite_utils.Database:
    if "db" not in g:
        g.db = connect(g.get("db_path") or current_app.config["DB_PATH"])
    return g.db


def account_db(name: str) -> sqlite_utils.Database:
    """Account ``name``'s database for this request (the All accounts pages read each
    account's own), opened once per request and closed with it."""
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
