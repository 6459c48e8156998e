"""The declared database schema, applied by ``ensure_schema`` (safe to run twice) and
changed only by the numbered migrations listed here. Each migration lives with the
tables it is about: ``archive`` (what the sources bring), ``replies`` (the seller's own
work, which reparse never touches), ``search`` (the word and part-of-word indexes),
``views`` (read-only SQL views for Datasette) and ``accounts`` (the watch and its
notifications).

Times are ISO 8601 UTC strings ending in ``Z`` so that they sort as text and export as is.
Nothing here deletes a case: cases that left the portal's lobby keep ``in_lobby = 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from companion.folders import PRIVATE_FILE, open_private, tighten
from companion.schema import accounts, archive, derived, replies, search, views


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def open_db(path: str | Path, create: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) a caselog database with the pragmas every user needs:
    WAL so the UI can read while a sync writes, and a busy timeout instead of errors.

    The file is created owner-only before SQLite opens it (SQLite gives its ``-wal`` and
    ``-shm`` files the database's own mode), and a looser existing one is tightened.
    ``create=False`` raises ``FileNotFoundError`` instead of making an empty database
    (commands that only read, such as ``caselog export``)."""
    path = Path(path)
    if not path.exists():
        if not create:
            raise FileNotFoundError(str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        open_private(path, "ab").close()
    for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        tighten(f, PRIVATE_FILE)
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=10000")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA synchronous=NORMAL")
    ensure_schema(db)
    return db


# Numbered migrations, applied in order and recorded in the ``migrations`` table.
# Append new ones; never edit one that has shipped.
MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = [
    (1, "initial schema", archive.v1),
    (2, "documented replies: asks, checklists, evidence, drafts", replies.v2),
    (3, "index for reminders: messages by case, sender, time", archive.v3),
    (4, "replies tables survive reparse: no foreign keys to cases", replies.v4),
    (5, "full-text search with stemming and folded diacritics", search.v5),
    (6, "captures remember what they asked for", archive.v6),
    (7, "channels, transfers, per-source status, call-backs", archive.v7),
    (8, "index for the timeline's channel filter", archive.v8),
    (9, "which source wrote each message and ran each sync", archive.v9),
    (21, "queue marks (snooze, nothing to do) and when home was last looked at", replies.v21),
    (22, "search by part of a word or id; readable views", search.v22),
    (23, "prepared new cases: topic, description revisions, checklist, files", replies.v23),
    (24, "readable views know the Support API's statuses", views.v24),
    (25, "notifications and the watch's state", accounts.v25),
    (26, "home's queue and the reminders stored when their data change", derived.v26),
]


def ensure_schema(db: sqlite_utils.Database) -> None:
    db["migrations"].create(
        {"number": int, "name": str, "applied_at": str}, pk="number", if_not_exists=True
    )
    done = {row["number"] for row in db["migrations"].rows}
    for number, name, fn in MIGRATIONS:
        if number in done:
            continue
        with db.conn:
            fn(db)
            db["migrations"].insert({"number": number, "name": name, "applied_at": utcnow()})
