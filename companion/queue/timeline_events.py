"""Documented replies on the timeline: the person's acts on drafts (``draft_events``,
rank 3, ``seq`` = the row id), due or overdue reminders (rank 4, at their due time), and
the person's snoozes and "nothing to do" marks on home's queue and their undoing
(``marks.mark_event_source``, rank 5).

Both are timeline sources (``companion.read.timeline``): ``source(db, filters, cursor,
limit)`` returns at most ``limit`` events after ``cursor``, newest first, with the same
filters, day rule (``companion.read.local_days``) and cursor rule (``timeline.keyset`` in
SQL, ``Cursor.admits`` in memory) as the built-in kinds.
"""

from __future__ import annotations

import json

import sqlite_utils

from companion.queue import derive
from companion.queue.marks import mark_event_source
from companion.read.local_days import date_clauses, in_range
from companion.read.queries import case_filters_sql
from companion.read.timeline import Cursor, keyset
from companion.replies import reminders

RANK_DRAFT, RANK_REMINDER = 3, 4


def draft_event_source(db: sqlite_utils.Database, filters: dict, cursor: Cursor | None,
                       limit: int) -> list[dict]:
    """``draft_events`` as timeline events (kinds ``draft_ready`` and ``draft_sent``)."""
    where, params = case_filters_sql(filters)
    where += date_clauses("e.at", filters, params)
    where += keyset("e.at", "e.id", RANK_DRAFT, cursor, params)
    params["limit"] = limit
    sql = f"""
        SELECT e.id AS seq, e.at, e.kind, e.case_id, e.detail, c.subject, c.status,
               c.category
        FROM draft_events e JOIN cases c ON c.case_id = e.case_id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY e.at DESC, e.id DESC LIMIT :limit"""
    out = []
    for r in db.query(sql, params):
        try:
            r["detail_data"] = json.loads(r["detail"] or "{}")
        except ValueError:
            r["detail_data"] = {}
        out.append({**r, "rank": RANK_DRAFT})
    return out


def reminder_source(db: sqlite_utils.Database, filters: dict, cursor: Cursor | None,
                    limit: int) -> list[dict]:
    """Due and overdue reminders (kind ``reminder``); none while the settings file is
    broken (the home page says why)."""
    if derive.current(db).get("problem"):
        return []
    where, params = case_filters_sql(filters)
    if cursor is not None:  # nothing after the cursor's moment is on this page
        where.append("w.due_at <= :cursor_at")
        params["cursor_at"] = cursor.at
    out = []
    for e in reminders.stored_timeline_events(db, None, where, params):
        # newest first: skip to the cursor, then take a page
        if cursor is not None and not cursor.admits(e):
            continue
        if not in_range(e["at"], filters):
            continue
        out.append(e)
        if len(out) >= limit:
            break
    return out


SOURCES = (draft_event_source, reminder_source, mark_event_source)
