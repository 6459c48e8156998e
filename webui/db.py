"""The request's database handle: opened on first use, kept on ``g``, closed on teardown.
Blueprints call ``get_db()``; the connection itself comes from ``companion.read``."""

from __future__ import annotations

import sqlite_utils
from flask import current_app, g

from companion.read.queries import connect


def get_db() -> sqlite_utils.Database:
    if "db" not in g:
        g.db = connect(current_app.config["DB_PATH"])
    return g.db


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()
