"""What the home page reads: cases that wait on the seller, cases that wait on Amazon,
and what the last sync changed. Plain dicts; ``now`` is passed in so ages are testable.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from companion.read.labels import WAITING_ON_AMAZON, WAITING_ON_SELLER, sql_in
from companion.read.queries import days_since

_SELLER, _AMAZON = sql_in(WAITING_ON_SELLER), sql_in(WAITING_ON_AMAZON)


def needs_answer(db: sqlite_utils.Database, now: datetime, limit: int = 25) -> dict:
    """Cases where Amazon waits on the seller, the longest wait first."""
    rows = list(db.query(
        f"""
        SELECT case_id, subject, category, status, created_at, continues, waiting_since
        FROM (
          SELECT c.case_id, c.subject, c.category, c.status, c.created_at, c.continues,
                 COALESCE(c.last_amazon_reply_at,
                          (SELECT max(m.sent_at) FROM messages m
                            WHERE m.case_id = c.case_id AND m.sender = 'amazon'),
                          c.created_at) AS waiting_since
          FROM cases c WHERE c.status IN {_SELLER})
        ORDER BY waiting_since, case_id LIMIT :limit
        """, {"limit": limit}))
    total = db.execute(
        f"SELECT count(*) FROM cases WHERE status IN {_SELLER}").fetchone()[0]
    for r in rows:
        r["days"] = days_since(r["waiting_since"], now)
    return {"rows": rows, "total": total}


def waiting_on_amazon(db: sqlite_utils.Database, now: datetime, limit: int = 25) -> dict:
    """Open cases where the seller waits on Amazon, the longest wait first; the wait runs
    from the last word in the thread (normally the seller's). A case that still says
    Needs your attention but whose answer the person marked sent since Amazon's last
    message waits on Amazon too (``answered_at``): the next sync will show the portal
    agreeing. Read as ``companion.queue.derive`` stored it (``WAITING_SQL``)."""
    found = list(db.query(
        "SELECT c.case_id, c.subject, c.category, c.status, c.created_at, c.continues, "
        "w.waiting_since, w.answered_at FROM queue_waiting w JOIN cases c ON c.case_id = w.case_id "
        "ORDER BY w.waiting_since, w.case_id LIMIT :limit", {"limit": limit}))
    total = db.execute("SELECT count(*) FROM queue_waiting").fetchone()[0]
    return {"rows": [{**r, "days": days_since(r["waiting_since"], now)} for r in found],
            "total": total}


WAITING_SQL = f"""
SELECT c.case_id, c.subject, c.category, c.status, c.created_at, c.continues,
       (SELECT max(m.sent_at) FROM messages m WHERE m.case_id = c.case_id) AS last_message,
       CASE WHEN c.status IN {_SELLER} THEN
         (SELECT max(e.at) FROM draft_events e WHERE e.case_id = c.case_id
            AND e.kind = 'draft_sent'
            AND e.at > coalesce((SELECT max(m.sent_at) FROM messages m
                                 WHERE m.case_id = c.case_id AND m.sender = 'amazon'), ''))
       END AS answered_at,
       max(coalesce((SELECT max(m.sent_at) FROM messages m WHERE m.case_id = c.case_id),
                    c.created_at, ''),
           coalesce(CASE WHEN c.status IN {_SELLER} THEN
             (SELECT max(e.at) FROM draft_events e WHERE e.case_id = c.case_id
                AND e.kind = 'draft_sent') END, '')) AS waiting_since
FROM cases c
WHERE c.status IN {_AMAZON}
   OR (c.status IN {_SELLER} AND EXISTS (
        SELECT 1 FROM draft_events e WHERE e.case_id = c.case_id AND e.kind = 'draft_sent'
          AND e.at > coalesce((SELECT max(m.sent_at) FROM messages m
                               WHERE m.case_id = c.case_id AND m.sender = 'amazon'), '')))
"""


def _grouped(db: sqlite_utils.Database, where: str, params: dict, per_kind: int) -> dict:
    """Changes matching ``where``, grouped by kind, the first ``per_kind`` of each kind
    with each kind's full count in ``counts`` (so 300 new cases cannot push the failures
    out of sight)."""
    items = list(db.query(
        f"""
        SELECT ch.id, ch.kind, ch.case_id, ch.detail, ch.at, c.subject, c.status,
               c.continued_in, c.continues
        FROM (SELECT *, row_number() OVER (PARTITION BY kind ORDER BY id) AS n
              FROM changes WHERE {where}) ch
        LEFT JOIN cases c ON c.case_id = ch.case_id
        WHERE ch.n <= :per_kind ORDER BY ch.id
        """, {**params, "per_kind": per_kind}))
    counts = dict(db.execute(
        f"SELECT kind, count(*) FROM changes WHERE {where} GROUP BY kind", params))
    newest = db.execute(f"SELECT max(id) FROM changes WHERE {where}", params).fetchone()[0]
    groups: dict[str, list] = {}
    for it in items:
        try:
            it["detail_data"] = json.loads(it["detail"]) if it["detail"] else {}
        except ValueError:
            it["detail_data"] = {"text": it["detail"]}
        if not isinstance(it["detail_data"], dict):
            it["detail_data"] = {"value": it["detail_data"]}
        groups.setdefault(it["kind"], []).append(it)
    return {"groups": groups, "counts": counts, "total": sum(counts.values()),
            "newest_id": newest}


def _last_sync(db: sqlite_utils.Database):
    """The last finished sync that counts: one stopped early (sign-in, robot check)
    only if it saved something, so that its nothing does not hide what the sync before
    it found."""
    return db.execute(
        "SELECT s.id, s.finished_at, s.state FROM syncs s WHERE s.state != 'running' "
        "AND (s.state IN ('ok', 'partial') OR EXISTS "
        "     (SELECT 1 FROM changes ch WHERE ch.sync_id = s.id)) "
        "ORDER BY s.id DESC LIMIT 1").fetchone()


def last_changes(db: sqlite_utils.Database, per_kind: int = 20) -> dict:
    """What the last finished sync saw, grouped by kind (``_grouped``)."""
    row = _last_sync(db)
    if row is None:
        return {"sync": None, "groups": {}, "counts": {}, "total": 0, "newest_id": None}
    return {"sync": {"id": row[0], "finished_at": row[1], "state": row[2]},
            **_grouped(db, "sync_id = :sync", {"sync": row[0]}, per_kind)}


def changes_since(db: sqlite_utils.Database, look: dict | None, per_kind: int = 20) -> dict:
    """What changed since the person last marked home seen (``look``: the stored
    ``home_looks`` row, its ``change_id`` the newest change that page showed), grouped
    by kind. Before they ever did: what the last sync saw, as before. ``newest_id`` is
    what a "Mark as seen" form on this page sends back."""
    if look is None:
        return {**last_changes(db, per_kind), "look": None}
    out = _grouped(db, "id > :seen", {"seen": look["change_id"] or 0}, per_kind)
    row = _last_sync(db)
    return {**out, "look": look, "newest_id": out["newest_id"] or look["change_id"],
            "sync": {"id": row[0], "finished_at": row[1], "state": row[2]} if row else None}
