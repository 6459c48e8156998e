"""What the home page reads: cases that wait on the seller, cases that wait on Amazon,
and what the last sync changed. Plain dicts; ``now`` is passed in so ages are testable.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from companion.read.queries import days_since


def needs_answer(db: sqlite_utils.Database, now: datetime, limit: int = 25) -> dict:
    """Cases where Amazon waits on the seller, the longest wait first."""
    rows = list(db.query(
        """
        SELECT case_id, subject, category, status, created_at, continues, waiting_since
        FROM (
          SELECT c.case_id, c.subject, c.category, c.status, c.created_at, c.continues,
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
        SELECT case_id, subject, category, status, created_at, continues, waiting_since
        FROM (
          SELECT c.case_id, c.subject, c.category, c.status, c.created_at, c.continues,
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
        SELECT ch.kind, ch.case_id, ch.detail, ch.at, c.subject, c.status, c.continued_in,
               c.continues
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

