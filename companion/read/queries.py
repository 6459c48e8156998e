"""Every read the local UI makes of the database: home lists, the cases table, a case with
its thread, full-text search and chart data. The web views only call these functions, so
the SQL lives in one place and can be timed and tested without Flask.

Functions take a ``sqlite_utils.Database`` and return plain dicts; times stay ISO 8601 UTC
strings (as stored) and ``now`` is passed in so that ages are testable.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import sqlite_utils

from scrapers.parse.locales import STATUS_LABELS as _PORTAL_LABELS

# The UI speaks the portal's en_US labels, so a seller sees the words Seller Central uses.
STATUS_LABELS = _PORTAL_LABELS["en_US"]
WAITING_ON_AMAZON = ("PendingAmazonAction", "Reopened")
DONE_STATUSES = ("Resolved", "Closed")
SENDERS = ("amazon", "seller")

# Private-use characters mark FTS matches so that the text can be HTML-escaped first and
# the markers turned into <mark> afterwards: the message text itself is never trusted.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"

CASE_SORTS = {
    "created": "c.created_at",
    "id": "c.case_id",
    "subject": "c.subject COLLATE NOCASE",
    "status": "c.status",
    "category": "c.category",
    "last_reply": "c.last_amazon_reply_at",
    "messages": "c.total_messages",
}


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
    for word in re.split(r"\s+", text.strip())[:12]:
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            quoted.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(quoted) or None


# ---- home ---------------------------------------------------------------------------

def needs_answer(db: sqlite_utils.Database, now: datetime, limit: int = 25) -> dict:
    """Cases where Amazon waits on the seller, the longest wait first."""
    rows = list(db.query(
        """
        SELECT case_id, subject, category, status, created_at, waiting_since FROM (
          SELECT c.case_id, c.subject, c.category, c.status, c.created_at,
                 COALESCE(c.last_amazon_reply_at,
                          (SELECT max(m.sent_at) FROM messages m
                            WHERE m.case_id = c.case_id AND m.sender = 'amazon'),
                          c.created_at) AS waiting_since
          FROM cases c WHERE c.status = 'PendingMerchantAction')
        ORDER BY waiting_since, case_id LIMIT :limit
        """, {"limit": limit}))
    total = db.execute(
        "SELECT count(*) FROM cases WHERE status = 'PendingMerchantAction'").fetchone()[0]
    for r in rows:
        r["days"] = days_since(r["waiting_since"], now)
    return {"rows": rows, "total": total}


def waiting_on_amazon(db: sqlite_utils.Database, now: datetime, limit: int = 25) -> dict:
    """Open cases where the seller waits on Amazon, the longest wait first; the wait runs
    from the last message in the thread (normally the seller's)."""
    rows = list(db.query(
        """
        SELECT case_id, subject, category, status, created_at, waiting_since FROM (
          SELECT c.case_id, c.subject, c.category, c.status, c.created_at,
                 COALESCE((SELECT max(m.sent_at) FROM messages m WHERE m.case_id = c.case_id),
                          c.created_at) AS waiting_since
          FROM cases c WHERE c.status IN ('PendingAmazonAction', 'Reopened'))
        ORDER BY waiting_since, case_id LIMIT :limit
        """, {"limit": limit}))
    total = db.execute(
        "SELECT count(*) FROM cases WHERE status IN ('PendingAmazonAction', 'Reopened')"
    ).fetchone()[0]
    for r in rows:
        r["days"] = days_since(r["waiting_since"], now)
    return {"rows": rows, "total": total}


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


def last_changes(db: sqlite_utils.Database, per_kind: int = 20) -> dict:
    """What the last finished sync saw, grouped by kind, the first ``per_kind`` of each
    kind with each kind's full count in ``counts`` (so 300 new cases cannot push the
    failures out of sight). A sync stopped early (sign-in, robot check) counts only if it
    saved something, so that its nothing does not hide what the sync before it found."""
    row = db.execute(
        "SELECT s.id, s.finished_at, s.state FROM syncs s WHERE s.state != 'running' "
        "AND (s.state IN ('ok', 'partial') OR EXISTS "
        "     (SELECT 1 FROM changes ch WHERE ch.sync_id = s.id)) "
        "ORDER BY s.id DESC LIMIT 1").fetchone()
    if row is None:
        return {"sync": None, "groups": {}, "counts": {}, "total": 0}
    sync_id = row[0]
    items = list(db.query(
        """
        SELECT ch.kind, ch.case_id, ch.detail, ch.at, c.subject, c.status
        FROM (SELECT *, row_number() OVER (PARTITION BY kind ORDER BY id) AS n
              FROM changes WHERE sync_id = :sync) ch
        LEFT JOIN cases c ON c.case_id = ch.case_id
        WHERE ch.n <= :per_kind ORDER BY ch.id
        """, {"sync": sync_id, "per_kind": per_kind}))
    counts = dict(db.execute(
        "SELECT kind, count(*) FROM changes WHERE sync_id = ? GROUP BY kind", [sync_id]))
    groups: dict[str, list] = {}
    for it in items:
        try:
            it["detail_data"] = json.loads(it["detail"]) if it["detail"] else {}
        except ValueError:
            it["detail_data"] = {"text": it["detail"]}
        if not isinstance(it["detail_data"], dict):
            it["detail_data"] = {"value": it["detail_data"]}
        groups.setdefault(it["kind"], []).append(it)
    return {"sync": {"id": sync_id, "finished_at": row[1], "state": row[2]},
            "groups": groups, "counts": counts, "total": sum(counts.values())}


def portal_url(db: sqlite_utils.Database) -> str | None:
    """The portal the last sync used, else the one the newest case came from."""
    for sql in ("SELECT portal FROM syncs WHERE portal IS NOT NULL ORDER BY id DESC LIMIT 1",
                "SELECT portal FROM cases WHERE portal IS NOT NULL "
                "ORDER BY last_captured_at DESC LIMIT 1"):
        row = db.execute(sql).fetchone()
        if row and row[0]:
            return row[0]
    return None


def categories(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT DISTINCT category FROM cases WHERE category IS NOT NULL ORDER BY category")]


# ---- cases table --------------------------------------------------------------------

def case_filters_sql(filters: dict, alias: str = "c") -> tuple[list[str], dict]:
    """WHERE clauses for the filters the cases table and the timeline share."""
    where, params = [], {}
    if filters.get("status") in STATUS_LABELS:
        where.append(f"{alias}.status = :status")
        params["status"] = filters["status"]
    if filters.get("category"):
        where.append(f"{alias}.category = :category")
        params["category"] = filters["category"]
    if filters.get("case"):
        where.append(f"{alias}.case_id = :case")
        params["case"] = filters["case"]
    return where, params


def cases_table(db: sqlite_utils.Database, filters: dict, sort: str = "created",
                direction: str = "desc", page: int = 1, per_page: int = 100,
                now: datetime | None = None) -> dict:
    now = now or utc_now()
    where, params = case_filters_sql(filters)
    if filters.get("owes") == "yes":
        where.append("c.status = 'PendingMerchantAction'")
    elif filters.get("owes") == "no":
        where.append("c.status != 'PendingMerchantAction'")
    q = (filters.get("q") or "").strip()
    if q:
        match = fts_query(q)
        clause = "c.case_id LIKE :qid"
        params["qid"] = q.replace("%", "").replace("_", "") + "%"
        if match:
            clause += " OR c.rowid IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH :qm)"
            params["qm"] = match
        where.append(f"({clause})")
    sort_sql = CASE_SORTS.get(sort, CASE_SORTS["created"])
    direction = "ASC" if direction == "asc" else "DESC"
    where_sql = ("WHERE " + " AND ".join(where)) if where else ""
    total = db.execute(f"SELECT count(*) FROM cases c {where_sql}", params).fetchone()[0]
    page = max(1, page)
    params.update(limit=per_page, offset=(page - 1) * per_page)
    rows = list(db.query(
        f"""
        SELECT c.case_id, c.subject, c.status, c.category, c.created_at,
               c.last_amazon_reply_at, c.total_messages, c.in_lobby, c.last_error
        FROM cases c {where_sql}
        ORDER BY {sort_sql} {direction} NULLS LAST, c.case_id {direction}
        LIMIT :limit OFFSET :offset
        """, params))
    for r in rows:
        r["age_days"] = days_since(r["created_at"], now)
        r["owes"] = r["status"] == "PendingMerchantAction"
    pages = max(1, -(-total // per_page))
    return {"rows": rows, "total": total, "page": page, "pages": pages}


# ---- one case -----------------------------------------------------------------------

def case_detail(db: sqlite_utils.Database, case_id: str, newest_first: bool = False) -> dict | None:
    rows = list(db.query("SELECT * FROM cases WHERE case_id = ?", [case_id]))
    if not rows:
        return None
    case = rows[0]
    try:
        case["tag_list"] = json.loads(case["tags"]) if case.get("tags") else []
    except ValueError:
        case["tag_list"] = []
    order = "DESC" if newest_first else "ASC"
    messages = list(db.query(
        f"""SELECT rowid, message_key, contact_id, sender, sender_address, sent_at, html, text,
                   truncated FROM messages WHERE case_id = ?
            ORDER BY sent_at {order}, rowid {order}""", [case_id]))
    attachments: dict[str, list] = {}
    for a in db.query("SELECT * FROM attachments WHERE case_id = ? ORDER BY name", [case_id]):
        attachments.setdefault(a["message_key"], []).append(a)
    for m in messages:
        m["attachments"] = attachments.pop(m["message_key"], [])
    history = list(db.query(
        "SELECT status, previous_status, observed_at, sync_id FROM status_history "
        "WHERE case_id = ? ORDER BY observed_at, id", [case_id]))
    last_amazon = case.get("last_amazon_reply_at") or next(
        (m["sent_at"] for m in sorted(messages, key=lambda m: m["sent_at"], reverse=True)
         if m["sender"] == "amazon"), None)
    return {"case": case, "messages": messages, "history": history,
            "orphan_attachments": [a for lst in attachments.values() for a in lst],
            "last_amazon_reply_at": last_amazon}


def attachment(db: sqlite_utils.Database, case_id: str, attachment_id: str) -> dict | None:
    rows = list(db.query("SELECT * FROM attachments WHERE case_id = ? AND attachment_id = ?",
                         [case_id, attachment_id]))
    return rows[0] if rows else None


# ---- search -------------------------------------------------------------------------

def message_snippets(db: sqlite_utils.Database, match: str, rowids: list[int],
                     tokens: int = 24) -> dict[int, str]:
    """FTS snippets (with MARK_OPEN/MARK_CLOSE around matches) for a page of messages,
    computed only for the rows shown rather than for every match."""
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    return {r[0]: r[1] for r in db.execute(
        f"SELECT rowid, snippet(messages_fts, 0, ?, ?, '…', ?) FROM messages_fts "
        f"WHERE messages_fts MATCH ? AND rowid IN ({marks})",
        [MARK_OPEN, MARK_CLOSE, tokens, match, *rowids])}


def search(db: sqlite_utils.Database, q: str, limit: int = 50) -> dict:
    """Cases whose subject matches and messages whose text matches, best first."""
    match = fts_query(q)
    if not match:
        return {"q": q, "cases": [], "messages": [], "message_total": 0}
    cases = list(db.query(
        """
        SELECT c.case_id, c.status, c.category, c.created_at,
               highlight(cases_fts, 0, :o, :c) AS subject_marked
        FROM cases_fts JOIN cases c ON c.rowid = cases_fts.rowid
        WHERE cases_fts MATCH :m ORDER BY rank LIMIT 20
        """, {"m": match, "o": MARK_OPEN, "c": MARK_CLOSE}))
    hits = db.execute(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
        [match, limit]).fetchall()
    rowids = [h[0] for h in hits]
    message_total = db.execute(
        "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", [match]).fetchone()[0]
    snippets = message_snippets(db, match, rowids)
    messages = []
    if rowids:
        marks = ",".join("?" * len(rowids))
        by_id = {r["rowid"]: r for r in db.query(
            f"""SELECT m.rowid, m.case_id, m.message_key, m.sender, m.sent_at, c.subject,
                       c.status FROM messages m JOIN cases c ON c.case_id = m.case_id
                WHERE m.rowid IN ({marks})""", rowids)}
        for rid in rowids:
            if rid in by_id:
                messages.append({**by_id[rid], "snippet": snippets.get(rid, "")})
    return {"q": q, "cases": cases, "messages": messages, "message_total": message_total}


# ---- charts -------------------------------------------------------------------------

def chart_key(db: sqlite_utils.Database) -> tuple:
    """Cheap fingerprint of what the charts read: it changes whenever a sync writes."""
    return tuple(db.execute(
        "SELECT (SELECT max(id) FROM syncs), (SELECT max(finished_at) FROM syncs), "
        "(SELECT max(rowid) FROM messages), (SELECT max(id) FROM status_history), "
        "(SELECT count(*) FROM cases)").fetchone())


def weekly_opened_resolved(db: sqlite_utils.Database, now: datetime, weeks: int = 26) -> list:
    """[(week start date, opened, resolved)] for the last ``weeks`` weeks (Mondays, UTC).

    A resolution counts at the time caselog saw the status change; when the case was
    already resolved at its first sync, the last message of the thread stands in."""
    from datetime import timedelta

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
        """
        SELECT COALESCE(
            (SELECT min(h.observed_at) FROM status_history h WHERE h.case_id = c.case_id
               AND h.status IN ('Resolved', 'Closed') AND h.previous_status IS NOT NULL),
            (SELECT max(m.sent_at) FROM messages m WHERE m.case_id = c.case_id),
            c.created_at)
        FROM cases c WHERE c.status IN ('Resolved', 'Closed')
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
