"""What every read model shares: status labels, times, the safe FTS query, the filters
the cases table and the timeline have in common, and the small reads about syncs and the
portal. The read models themselves sit beside it (``overview`` for home, ``cases``,
``search``, ``stats``, ``timeline``); the web views only call them, so the SQL lives in
``companion`` and can be timed and tested without Flask.

Functions take a ``sqlite_utils.Database`` and return plain dicts; times stay ISO 8601 UTC
strings (as stored) and ``now`` is passed in so that ages are testable.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime

import sqlite_utils

from companion.read.labels import STATUS_LABELS, same_status  # the portal's en_US words
from companion.read.params import clean_text

SENDERS = ("amazon", "seller")

# Private-use characters mark FTS matches so that the text can be HTML-escaped first and
# the markers turned into <mark> afterwards: the message text itself is never trusted.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"


def connect(path: str, same_thread: bool = True) -> sqlite_utils.Database:
    """A connection for one request or command: waits for a writer instead of failing,
    and keeps foreign keys on. The schema is applied elsewhere (``open_db``), once."""
    conn = sqlite3.connect(path, timeout=10, check_same_thread=same_thread)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    return sqlite_utils.Database(conn)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def days_since(value: str | None, now: datetime) -> int | None:
    t = parse_time(value)
    return None if t is None else max(0, (now - t).days)


def utc_now() -> datetime:
    return datetime.now(UTC)


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word quoted (so operators
    and punctuation are inert) and required. Words match by stem (migration 5: "invoice"
    finds "invoices"); a word typed with a
    trailing ``*`` matches as a prefix (prefix scans are slower on a large archive)."""
    quoted = []
    # A NUL ends FTS5's query string early ("unterminated string"): clean whatever came.
    for word in re.split(r"\s+", clean_text(text, 2000))[:12]:
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            quoted.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(quoted) or None


# ---- home ---------------------------------------------------------------------------
def sync_row(db: sqlite_utils.Database, sync_id: int | None = None) -> dict | None:
    """One row of ``syncs`` (the newest when no id), with its JSON summary decoded."""
    if sync_id is None:
        rows = list(db.query("SELECT * FROM syncs ORDER BY id DESC LIMIT 1"))
    else:
        rows = list(db.query("SELECT * FROM syncs WHERE id = ?", [sync_id]))
    if not rows:
        return None
    row = rows[0]
    try:
        row["summary_data"] = json.loads(row["summary"]) if row.get("summary") else None
    except ValueError:
        row["summary_data"] = None
    return row


def last_sync_id(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM syncs").fetchone()[0]


def portal_url(db: sqlite_utils.Database) -> str | None:
    """The portal the last browser sync used, else the one the newest case came from (a
    Support API sync names its endpoint, which is not a portal)."""
    for sql in ("SELECT portal FROM syncs WHERE portal IS NOT NULL AND coalesce(source, "
                "'portal') = 'portal' ORDER BY id DESC LIMIT 1",
                "SELECT portal FROM cases WHERE portal IS NOT NULL AND source != 'spapi' "
                "ORDER BY last_captured_at DESC LIMIT 1"):
        row = db.execute(sql).fetchone()
        if row and row[0]:
            return row[0]
    return None


def categories(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT DISTINCT category FROM cases WHERE category IS NOT NULL ORDER BY category")]


# ---- filters shared by the cases table and the timeline --------------------------------

def case_filters_sql(filters: dict, alias: str = "c") -> tuple[list[str], dict]:
    """WHERE clauses for the filters the cases table and the timeline share."""
    where, params = [], {}
    if filters.get("status") in STATUS_LABELS:
        # the portal's status, stored in either source's word (``labels.same_status``)
        same = same_status(filters["status"])
        where.append(f"{alias}.status IN ({', '.join(f':status{i}' for i in range(len(same)))})")
        params.update({f"status{i}": s for i, s in enumerate(same)})
    if filters.get("category"):
        where.append(f"{alias}.category = :category")
        params["category"] = filters["category"]
    if filters.get("case"):
        where.append(f"{alias}.case_id = :case")
        params["case"] = filters["case"]
    return where, params


def case_exists(db: sqlite_utils.Database, case_id: str) -> bool:
    return db.execute("SELECT 1 FROM cases WHERE case_id = ?", [case_id]).fetchone() is not None

