"""What the home page's charts read: cases opened and resolved per week, Amazon's
answer times per category; stored by ``companion.queue.derive`` when the archive
changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from companion.read.labels import RESOLVED, sql_in
from companion.read.queries import parse_time

_RESOLVED_SQL = f"""
SELECT COALESCE(
    (SELECT min(h.observed_at) FROM status_history h WHERE h.case_id = c.case_id
       AND h.status IN {sql_in(RESOLVED)} AND h.previous_status IS NOT NULL),
    (SELECT max(m.sent_at) FROM messages m WHERE m.case_id = c.case_id),
    c.created_at)
FROM cases c WHERE c.status IN {sql_in(RESOLVED)}
"""


def week_counts(db: sqlite_utils.Database) -> dict[str, list[int]]:
    """{Monday (ISO date): [opened, resolved]} over the whole archive, for storing
    (``companion.queue.derive``): ``weekly_opened_resolved`` counts the same way."""
    out: dict[str, list[int]] = {}

    def monday(value: str | None) -> str | None:
        t = parse_time(value)
        return None if t is None else (t.date() - timedelta(days=t.weekday())).isoformat()

    for (created,) in db.execute("SELECT created_at FROM cases"):
        m = monday(created)
        if m:
            out.setdefault(m, [0, 0])[0] += 1
    for (when,) in db.execute(_RESOLVED_SQL):
        m = monday(when)
        if m:
            out.setdefault(m, [0, 0])[1] += 1
    return out


def stored_weeks(stored: dict[str, list[int]], now: datetime, weeks: int = 26) -> list:
    """``weekly_opened_resolved`` from what ``week_counts`` stored."""
    monday = (now - timedelta(days=now.weekday())).date()
    starts = [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    return [(d, *stored.get(d.isoformat(), (0, 0))) for d in starts]


def response_rows(db: sqlite_utils.Database) -> list[tuple]:
    """[(category, answers, median hours, 90th percentile)] for the response chart."""
    return [(category, len(hours), percentile(hours, 0.5), percentile(hours, 0.9))
            for category, hours in sorted(response_hours_by_category(db).items())]


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
    for (when,) in db.execute(_RESOLVED_SQL):
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
