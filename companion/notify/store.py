"""The ``notifications`` table (migration 25): one row per event, whatever number of watch
rounds saw it, with whether the person has read it. The UI's badge is
:func:`unread_count`, its list :func:`list_notifications`, its "mark read"
:func:`mark_read`; each takes the account's own database."""

from __future__ import annotations

import json

import sqlite_utils

from companion.redact import redact
from companion.schema import utcnow


def record(db: sqlite_utils.Database, account: str, *, kind: str, key: str, title: str,
           body: str, case_id: str | None = None, sync_id: int | None = None) -> int | None:
    """Store one notification; its id, or None when this event (``key``) was stored
    before (so it is not told twice)."""
    with db.atomic():
        cur = db.execute(
            "insert or ignore into notifications (account, case_id, kind, key, title, body, "
            "at, read, sync_id) values (?, ?, ?, ?, ?, ?, ?, 0, ?)",
            [account, case_id, kind, key, redact(title), redact(body), utcnow(), sync_id])
        return cur.lastrowid if cur.rowcount else None


def note_channels(db: sqlite_utils.Database, ids: list[int], deliveries: list) -> None:
    """What each channel said of the notifications just sent (for a UI or a bug report)."""
    said = json.dumps([d.as_dict() for d in deliveries], ensure_ascii=False)
    with db.atomic():
        for i in ids:
            db.execute("update notifications set channels = ? where id = ?", [redact(said), i])


def list_notifications(db: sqlite_utils.Database, *, unread_only: bool = False,
                       limit: int = 50, before_id: int | None = None) -> list[dict]:
    """Newest first: ``{id, account, case_id, kind, title, body, at, read, channels}``;
    ``before_id`` pages back through older ones."""
    where, params = [], []
    if unread_only:
        where.append("read = 0")
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    sql = ("select id, account, case_id, kind, title, body, at, read, sync_id, channels "
           "from notifications" + (" where " + " and ".join(where) if where else "")
           + " order by id desc limit ?")
    rows = []
    for r in db.query(sql, [*params, max(1, min(int(limit), 1000))]):
        r["read"] = bool(r["read"])
        r["channels"] = json.loads(r["channels"]) if r["channels"] else []
        rows.append(r)
    return rows


def unread_count(db: sqlite_utils.Database) -> int:
    return db.execute("select count(*) from notifications where read = 0").fetchone()[0]


def mark_read(db: sqlite_utils.Database, ids: list[int] | None = None) -> int:
    """Mark the given notifications (all, with None) read; how many changed."""
    with db.atomic():
        if ids is None:
            return db.execute("update notifications set read = 1 where read = 0").rowcount
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        return db.execute(f"update notifications set read = 1 where read = 0 and id in "
                          f"({marks})", [int(i) for i in ids]).rowcount
