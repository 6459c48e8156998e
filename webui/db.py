"""The request's database handle: opened on first use, kept on ``g``, closed on teardown.
Blueprints (including issue 5's ``webui.replies``) call ``get_db()``."""

from __future__ import annotations

import sqlite3

import sqlite_utils
from flask import current_app, g


def get_db() -> sqlite_utils.Database:
    if "db" not in g:
        conn = sqlite3.connect(current_app.config["DB_PATH"], timeout=10)
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=ON")
        g.db = sqlite_utils.Database(conn)
    return g.db


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()
