"""The person's acts on home: snoozing a queue row (until a date, or until Amazon
writes), marking it "nothing to do", undoing either, and saying "I have seen this"
(what changed is then counted from that moment).

Marks are stored in ``queue_marks`` (migration 21) and never deleted: an undo stamps
``undone_at``, so the timeline can tell what was done and undone (``mark_event_source``).
Whether a mark still stands is decided when a page reads it, from the case as it is then
(``in_force``), never by a write: a snooze "until Amazon writes" ends by itself when a
sync stores a newer Amazon message, and "nothing to do" ends when the case moves (a new
Amazon message or another status), because then the case may want something new.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlite_utils

from companion.queue import derive
from companion.read.local_days import date_clauses, parse_day
from companion.read.queries import case_filters_sql
from companion.read.timeline import Cursor, keyset
from companion.schema import utcnow

KINDS = ("snooze", "nothing")
SNOOZES = ("tomorrow", "week", "date", "amazon")
RANK_MARK = 5
ISO = "%Y-%m-%dT%H:%M:%SZ"


class MarkError(ValueError):
    """A mark that cannot be made or undone; the message is the person's words."""


def _last_amazon(db: sqlite_utils.Database, case_id: str) -> str | None:
    return db.execute("select max(sent_at) from messages where case_id = ? and "
                      "sender = 'amazon'", [case_id]).fetchone()[0]


def _local_morning(day: date) -> datetime:
    """08:00 of a local day: a snoozed row should be back when the person's day starts,
    not at midnight."""
    return datetime.combine(day, time(8)).astimezone().astimezone(UTC)


def snooze_until(choice: str, day: str | None, now: datetime) -> datetime | None:
    """The moment a snooze ends for the form's choice: ``tomorrow`` (tomorrow morning),
    ``week`` (a week from this morning), ``date`` (that day's morning, which must be
    after now) or ``amazon`` (no date: None)."""
    today = now.astimezone().date()
    if choice == "tomorrow":
        return _local_morning(today + timedelta(days=1))
    if choice == "week":
        return _local_morning(today + timedelta(days=7))
    if choice == "amazon":
        return None
    if choice == "date":
        d = parse_day(day)
        if d is None:
            raise MarkError("Choose the day the row should come back.")
        if d > today + timedelta(days=3660):
            raise MarkError("Choose a day within ten years.")
        until = _local_morning(d)
        if until <= now:
            raise MarkError("Choose a day after today.")
        return until
    raise MarkError("Choose how long to snooze.")


def mark(db: sqlite_utils.Database, case_id: str, kind: str, wanted: str, label: str,
         until: datetime | None = None) -> dict:
    """Store a snooze or a "nothing to do" on the case's queue row. Every snooze ends
    when Amazon writes (a dated one may end sooner than its date): a new message from
    Amazon is exactly what a person snoozing a row is waiting for."""
    if kind not in KINDS:
        raise MarkError(f"unknown mark {kind!r}")
    case = db.execute("select status from cases where case_id = ?", [case_id]).fetchone()
    if case is None:
        raise MarkError(f"case {case_id} is not stored")
    row = {"case_id": case_id, "kind": kind, "wanted": wanted[:40], "label": label[:200],
           "until": until.strftime(ISO) if until else None,
           "until_amazon": int(kind == "snooze"),
           "amazon_at": _last_amazon(db, case_id), "status": case[0], "at": utcnow(),
           "undone_at": None}
    with db.conn:
        row["id"] = db["queue_marks"].insert(row).last_pk
    derive.refresh(db, [case_id], archive=False)
    return row


def undo(db: sqlite_utils.Database, case_id: str, mark_id: int) -> dict:
    """Undo one mark of the case (the row comes back at once)."""
    rows = list(db.query("select * from queue_marks where id = ? and case_id = ?",
                         [mark_id, case_id]))
    if not rows:
        raise MarkError("That snooze or mark is not on this case.")
    if rows[0]["undone_at"]:
        raise MarkError("That was undone already.")
    with db.conn:
        db["queue_marks"].update(mark_id, {"undone_at": utcnow()})
    derive.refresh(db, [case_id], archive=False)
    return db["queue_marks"].get(mark_id)


def in_force(m: dict, case: dict, now: datetime) -> bool:
    """Whether a stored mark still holds for the case as it is now (``case`` has
    ``status`` and ``last_amazon``): pure, so the rule is tested row by row. Home's queue
    stores the first part (``derive.mark_holds``) and compares the date as it reads."""
    if not derive.mark_holds(m, case):
        return False
    return m["kind"] == "nothing" or not m.get("until") or now.strftime(ISO) < m["until"]


def standing(db: sqlite_utils.Database, now: datetime) -> dict[str, dict]:
    """{case_id: its newest mark} for the marks that still stand. Only the newest
    mark of a case counts: a new snooze replaces the last one."""
    rows = db.query(
        """select q.*, c.status as case_status,
                  (select max(sent_at) from messages m where m.case_id = q.case_id
                    and m.sender = 'amazon') as last_amazon
           from queue_marks q join cases c on c.case_id = q.case_id
           where q.id in (select max(id) from queue_marks where undone_at is null
                          group by case_id)""")
    out = {}
    for r in rows:
        if in_force(r, {"status": r["case_status"], "last_amazon": r["last_amazon"]}, now):
            out[r["case_id"]] = r
    return out


# --- when the person last looked at home -----------------------------------------------

def mark_seen(db: sqlite_utils.Database, change_id: int) -> dict:
    """The person has seen home as it showed changes up to ``change_id`` (the page's
    newest; a change a sync wrote after the page was drawn stays new)."""
    newest = db.execute("select coalesce(max(id), 0) from changes").fetchone()[0]
    row = {"at": utcnow(), "change_id": max(0, min(int(change_id), newest))}
    with db.conn:
        row["id"] = db["home_looks"].insert(row).last_pk
    return row


def last_look(db: sqlite_utils.Database) -> dict | None:
    rows = list(db.query("select * from home_looks order by id desc limit 1"))
    return rows[0] if rows else None


# --- on the timeline ------------------------------------------------------------------

def _arm(db, filters: dict, cursor: Cursor | None, limit: int, undone: bool) -> list[dict]:
    """Marks (``undone`` False: at their making, seq 2*id) or their undoing (True: at
    ``undone_at``, seq 2*id + 1), newest first after the cursor."""
    at, seq = ("q.undone_at", "q.id * 2 + 1") if undone else ("q.at", "q.id * 2")
    where, params = case_filters_sql(filters)
    if undone:
        where.append("q.undone_at is not null")
    where += date_clauses(at, filters, params)
    where += keyset(at, seq, RANK_MARK, cursor, params)
    params["limit"] = limit
    sql = f"""
        select {seq} as seq, {at} as at, q.id as mark_id, q.kind as mark_kind, q.until,
               q.until_amazon, q.label, q.case_id, c.subject, c.status, c.category
        from queue_marks q join cases c on c.case_id = q.case_id
        {"where " + " and ".join(where) if where else ""}
        order by {at} desc, q.id desc limit :limit"""
    out = []
    for r in db.query(sql, params):
        kind = "mark_undone" if undone else f"mark_{r['mark_kind']}"
        out.append({**r, "kind": kind, "rank": RANK_MARK})
    return out


def mark_event_source(db: sqlite_utils.Database, filters: dict, cursor: Cursor | None,
                      limit: int) -> list[dict]:
    """Snoozes, "nothing to do" marks and their undoing as timeline events (kinds
    ``mark_snooze``, ``mark_nothing``, ``mark_undone``; rank 5)."""
    found = _arm(db, filters, cursor, limit, False) + _arm(db, filters, cursor, limit, True)
    found.sort(key=lambda e: (e["at"], e["rank"], e["seq"]), reverse=True)
    return found[:limit]


def describe(m: dict) -> str:
    """A mark in words, for the flash after the act and the snoozed group."""
    if m["kind"] == "nothing":
        return "Nothing to do until the case moves"
    if m.get("until"):
        back = datetime.fromisoformat(m["until"].replace("Z", "+00:00")).astimezone()
        return f"Snoozed until {back:%a %d %b %H:%M} (sooner if Amazon writes)"
    return "Snoozed until Amazon writes"
