"""What follows from the archive and the person's acts, stored when they change so that
pages are plain queries (``companion.queue.derive`` writes these tables; nothing else
does): every want of home's queue with its deadline and the window in which the queue
shows it, each case's standing mark, and the stamp of the settings files the rows were
computed with. Dropping the rows loses nothing: ``derive.refresh`` builds them again.
"""

from __future__ import annotations

import sqlite_utils


def v26(db: sqlite_utils.Database) -> None:
    """Home's queue and the reminders, stored. Times that decide what a page shows as
    time passes are kept as timestamps (``due_ts``, ``from_ts``, ``until_ts``,
    ``show_from_ts``, ``show_until_ts``, seconds since the epoch) and compared with the
    reader's "now" in the query, so a due date passing needs no write."""
    db["queue_wants"].create(
        {
            "case_id": str,
            "kind": str,            # answer | follow_up | reopen | evidence | callback
            "ord": int,             # the order of equal deadlines: reminders, asks, calls
            "due_at": str,
            "due_ts": float,
            "from_ts": float,       # the queue lists it from then (None: at once)
            "until_ts": float,      # and until then (None: for good)
            "remind": int,          # 1: also a reminder (due soon / overdue lists)
            "show_from_ts": float,  # the reminder is "due soon" from then
            "show_until_ts": float,  # and overdue until then (None: for good)
            "never_stale": int,     # 1: never folded into the stale group
            "note": str,
            "since": str,           # what the deadline counts from
            "last_activity": str,
            "amazon_deadline": str,
        },
        if_not_exists=True,
    )
    db["queue_wants"].create_index(["case_id"], if_not_exists=True)
    db["queue_wants"].create_index(["due_at"], if_not_exists=True)
    # Each case's queue row as it is between two moments when something about it
    # changes with time alone (a want shown or no longer shown, a snooze ending, the row
    # going stale): the reader takes the phase its "now" falls in, no grouping needed.
    db["queue_phases"].create(
        {"case_id": str, "from_ts": float, "until_ts": float, "grp": str,
         "first_due": str, "mark_id": int},
        if_not_exists=True,
    )
    db["queue_phases"].create_index(["grp", "first_due", "case_id"], if_not_exists=True)
    db["queue_phases"].create_index(["case_id"], if_not_exists=True)
    # the groups' counts read this index alone
    db["queue_phases"].create_index(["grp", "from_ts", "until_ts"], if_not_exists=True)
    db["queue_phases"].create_index(["first_due", "case_id"], if_not_exists=True)
    db["queue_standing"].create(
        {"case_id": str, "mark_id": int, "until": str}, pk="case_id", if_not_exists=True)
    # Home's other lists: each open case's repeated asks (what ``repeats.find`` found,
    # with the year its sentences were made for: the year decides how a day reads) and when each
    # case waiting on Amazon started waiting.
    db["case_repeats"].create({"case_id": str, "found": str}, pk="case_id",
                              if_not_exists=True)
    db["queue_waiting"].create({"case_id": str, "waiting_since": str, "answered_at": str},
                               pk="case_id",
                               if_not_exists=True)
    db["queue_waiting"].create_index(["waiting_since", "case_id"], if_not_exists=True)
    db["derived_state"].create(
        {"name": str, "value": str}, pk="name", if_not_exists=True)
