"""The watch's memory of an account, in the account's own database (``watch_state``):
when it last started a sync there (so a cron job run too often still honours the floor)
and whether it stopped watching it, why, and what to do.

A stopped account stays stopped for every later watch, in this process or the next cron
run, so the person is told once; it is watched again as soon as the person has acted: a
sync of it that ended well after the stop (``caselog sync --account NAME``), or a newer
saved session or Support API credentials (``caselog login``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from companion.redact import redact
from companion.schema import open_db, utcnow


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def get(db: sqlite_utils.Database, account: str) -> dict:
    row = db.execute("select last_started_at, last_sync_id, stopped_state, stopped_message, "
                     "stopped_at from watch_state where account = ?", [account]).fetchone()
    keys = ("last_started_at", "last_sync_id", "stopped_state", "stopped_message",
            "stopped_at")
    return dict(zip(keys, row, strict=True)) if row else dict.fromkeys(keys)


def _put(db: sqlite_utils.Database, account: str, **values) -> None:
    with db.atomic():
        db["watch_state"].upsert({"account": account, **values}, pk="account")


def started(db: sqlite_utils.Database, account: str, sync_id: int | None) -> None:
    _put(db, account, last_started_at=utcnow(), last_sync_id=sync_id)


def seconds_since_start(db: sqlite_utils.Database, account: str) -> float | None:
    last = _parse(get(db, account)["last_started_at"])
    return None if last is None else (datetime.now(UTC) - last).total_seconds()


def stop(db: sqlite_utils.Database, account: str, state: str, message: str) -> str:
    """Remember that the watch stopped watching this account; returns when."""
    at = utcnow()
    _put(db, account, stopped_state=state, stopped_message=redact(message), stopped_at=at)
    return at


def resume(db: sqlite_utils.Database, account: str) -> None:
    _put(db, account, stopped_state=None, stopped_message=None, stopped_at=None)


def stopped(db: sqlite_utils.Database, account: str, credentials_at: float | None = None
            ) -> dict | None:
    """The stop still in force (``{state, message, at}``), or None: never stopped, or the
    person acted since (a good sync after the stop, or ``credentials_at``, the saved
    session's or credentials' modification time, after it). Lifting a stop forgets it."""
    st = get(db, account)
    at = _parse(st["stopped_at"])
    if at is None:
        return None
    good = db.execute("select max(finished_at) from syncs where state in ('ok', 'partial')"
                      ).fetchone()[0]
    acted = (_parse(good) and _parse(good) > at) or (
        credentials_at is not None and credentials_at > at.timestamp())
    if acted:
        resume(db, account)
        return None
    return {"state": st["stopped_state"], "message": st["stopped_message"],
            "at": st["stopped_at"]}


def watch_summary(account) -> dict:
    """What ``accounts list`` (and a UI) shows of an account beyond the registry: cases,
    the last sync, whether the watch stopped, unread notifications. Reads only; an
    account without a database has nothing to show."""
    path = account.folder / "caselog.db"
    out = {"cases": 0, "last_sync": None, "watch_stopped": None, "unread": 0}
    if not path.is_file():
        return out
    db = open_db(path, create=False)
    try:
        out["cases"] = db.execute("select count(*) from cases").fetchone()[0]
        row = db.execute("select state, finished_at, coalesce(source, 'portal') from syncs "
                         "where mode != 'import' order by id desc limit 1").fetchone()
        if row:
            out["last_sync"] = {"state": row[0], "finished_at": row[1], "source": row[2]}
        st = get(db, account.name)
        out["watch_stopped"] = st["stopped_message"]
        out["unread"] = db.execute("select count(*) from notifications where read = 0"
                                   ).fetchone()[0]
    finally:
        db.close()
    return out
