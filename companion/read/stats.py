"""What the home page's charts read: cases opened and resolved per week, Amazon's
answer times per category, and the fingerprint that says when to compute them again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from companion.read.labels import RESOLVED, sql_in
from companion.read.queries import parse_time


def chart_key(db: sqlite_utils.Database) -> tuple:
    """Cheap fingerprint of what the charts read (cases, messages, status history,
    syncs): it changes whenever a sync, an import or a reparse writes."""
    return tuple(db.execute(
        "SELECT (SELECT max(id) FROM syncs), (SELECT max(finished_at) FROM syncs), "
        "(SELECT max(rowid) FROM messages), (SELECT max(id) FROM status_history), "
        "(SELECT count(*) FROM cases)").fetchone())


def weekly_opened_resolved(db: sqlite_utils.Database, now: datetime, weeks: int = 26) -> list:
    """[(week start date, opened, resolved)] for the last ``weeks`` weeks (Mondays, UTC).

    A resolution counts at the time caselog saw the status change; when the case was
    already resolved at its first sync, the last message of the thread stands in."""
    monday = (now - timedelta(days=now.weekday())).date()
    starts = [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    first = starts[0].isoformat()
    opened = [0] * weeks
    resolved = [0] * weeks

    def bucket(value: str | None) -> int | None:
        t = parse_time(value)
        if t is None:
            return None
        idx = (t.date() - starts[0]).days // 7
        return idx if 0 <= idx < weeks else None

    for (created,) in db.execute("SELECT created_at FROM cases WHERE created_at >= ?", [first]):
        i = bucket(created)
        if i is not None:
            opened[i] += 1
    for (when,) in db.execute(
        f"""
        SELECT COALESCE(
            (SELECT min(h.observed_at) FROM status_history h WHERE h.case_id = c.case_id
               AND h.status IN {sql_in(RESOLVED)} AND h.previous_status IS NOT NULL),
            (SELECT max(m.sent_at) FROM messages m WHERE m.case_id = c.case_id),
            c.created_at)
        FROM cases c WHERE c.status IN {sql_in(RESOLVED)}
        """):
        i = bucket(when)
        if i is not None:
            resolved[i] += 1
    return list(zip(starts, opened, resolved, strict=True))


def response_hours_by_category(db: sqlite_utils.Database) -> dict[str, list[float]]:
    """Hours from a seller's question to Amazon's next answer, per case category.

    The wait starts at the seller's FIRST message since Amazon last wrote: a follow-up
    ("any news?") does not restart the clock, or Amazon would look faster than it is.
    ``grp`` numbers the stretches between Amazon's messages within a case."""
    out: dict[str, list[float]] = {}
    rows = db.execute(
        """
        WITH w AS (
          SELECT case_id, sender, sent_at,
                 coalesce(sum(sender = 'amazon') OVER (
                   PARTITION BY case_id ORDER BY sent_at, rowid
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS grp
          FROM messages WHERE sent_at IS NOT NULL),
        asked AS (SELECT case_id, grp, min(sent_at) AS at FROM w
                  WHERE sender = 'seller' GROUP BY case_id, grp)
        SELECT c.category, (julianday(w.sent_at) - julianday(asked.at)) * 24
        FROM w JOIN asked ON asked.case_id = w.case_id AND asked.grp = w.grp
        JOIN cases c ON c.case_id = w.case_id
        WHERE w.sender = 'amazon'
        """)
    for category, hours in rows:
        if hours is not None and hours >= 0:
            out.setdefault(category or "Uncategorised", []).append(hours)
    return out


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank-with-interpolation percentile of a non-empty list."""
    s = sorted(values)
    k = (len(s) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)
