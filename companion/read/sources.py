"""What each source said of a case and when, Amazon's scheduled call-backs, and which
sources a person can sync from: the read side of the two-source archive
(``companion/capture/two_sources.py`` writes it)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from companion.credentials import configured
from companion.read.labels import status_label
from companion.read.local_days import local_time

SOURCE_NAMES = {"portal": "Seller Central", "spapi": "the Support API"}


def ago(iso: str | None, now: datetime | None = None) -> str:
    """"3 min ago", "2 h ago", "4 days ago" for a stored UTC time."""
    if not iso:
        return "never"
    now = now or datetime.now(UTC)
    then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    seconds = max(0, (now - then).total_seconds())
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def case_sources(db: sqlite_utils.Database, case_id: str, shown: str | None,
                 now: datetime | None = None) -> list[dict]:
    """Each source's last word on the case, newest first, the one the page shows marked:
    "status from the Support API, 3 min ago"."""
    rows = list(db.query("select source, status, seen_at from case_sources "
                         "where case_id = ? order by seen_at desc", [case_id]))
    out = []
    for r in rows:
        out.append({"source": r["source"], "name": SOURCE_NAMES.get(r["source"], r["source"]),
                    "status": r["status"], "label": status_label(r["status"]),
                    "seen_at": r["seen_at"], "ago": ago(r["seen_at"], now),
                    "shown": r["status"] == shown})
    return out


def _callback(row: dict) -> dict:
    earliest, latest = local_time(row["earliest"]), local_time(row["latest"])
    if earliest and latest and earliest.date() == latest.date():
        when = f"{earliest:%d %b %Y}, between {earliest:%H:%M} and {latest:%H:%M}"
    elif earliest and latest:
        when = f"between {earliest:%d %b %Y %H:%M} and {latest:%d %b %Y %H:%M}"
    else:
        when = "at a time not given"
    phone = f" {row['phone']}" if row.get("phone") else ""
    return {**row, "sentence": f"Amazon will call{phone} {when}"}


def callbacks(db: sqlite_utils.Database, case_id: str | None = None,
              now: datetime | None = None, limit: int = 20) -> list[dict]:
    """Scheduled call-backs still to come (or under way), soonest first, each with its
    sentence: "Amazon will call +1 206 555 0100 03 Dec 2026, between 10:00 and 11:00"."""
    now_iso = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    where, params = ["a.status = 'SCHEDULED'", "a.latest >= ?"], [now_iso]
    if case_id is not None:
        where.append("a.case_id = ?")
        params.append(case_id)
    rows = db.query(
        f"select a.*, c.subject from appointments a join cases c on c.case_id = a.case_id "
        f"where {' and '.join(where)} order by a.earliest limit ?", [*params, limit])
    return [_callback(r) for r in rows]


def callbacks_of(db: sqlite_utils.Database, extra: str = "", params=()) -> list[dict]:
    """Every scheduled call-back, past or to come, with its sentence (``extra``: more
    conditions on ``a``, the appointments), for what is stored before a reader's "now"
    is known."""
    rows = db.query(
        "select a.*, c.subject from appointments a join cases c on c.case_id = a.case_id "
        f"where a.status = 'SCHEDULED' {extra} order by a.earliest", list(params))
    return [_callback(r) for r in rows]


def sync_choices(db: sqlite_utils.Database, portal: str | None, account=None) -> list[dict]:
    """The sources Sync now can use: the portal (when a portal is known) and every Support
    API endpoint with the account's saved credentials."""
    out = [{"source": "portal", "target": portal, "name": "Seller Central (browser)"}] \
        if portal else []
    out += [{"source": "spapi", "target": endpoint, "name": "Amazon's Support API"}
            for endpoint in configured(account)]
    return out
