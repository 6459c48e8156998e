"""The cases table (filters, sort, pages) and one case with its thread, history and
attachments. Plain dicts; ``now`` is passed in so ages are testable.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from companion.read import search_terms
from companion.read.labels import WAITING_ON_SELLER, sql_in
from companion.read.params import choice, clamp_int, clean_text
from companion.read.queries import STATUS_LABELS, case_filters_sql, days_since, utc_now
from companion.read.thread import present

CASE_SORTS = {
    "created": "c.created_at",
    "id": "c.case_id",
    "subject": "c.subject COLLATE NOCASE",
    "status": "c.status",
    "category": "c.category",
    "last_reply": "c.last_amazon_reply_at",
    "messages": "c.total_messages",
}
# Sorts the companion computes outside SQL (``companion.queue.deadlines``: the queue's
# deadline), accepted in the URL like the SQL ones.
COMPUTED_SORTS = ("deadline",)
TABLE_FILTERS = ("status", "category", "q", "owes")
_ROW_COLUMNS = """c.case_id, c.subject, c.status, c.category, c.created_at,
               c.last_amazon_reply_at, c.total_messages, c.in_lobby, c.last_error,
               c.continued_in, c.continues"""
# Fifty rows a page, like the queue: a row costs its template about 0.1 ms, and a
# hundred of them kept the page over its 20 ms budget on 10,000 cases.
PER_PAGE = 50


def table_args(args) -> dict:
    """The cases table's query string, cleaned: known filters with clean text (a status
    or ``owes`` value only when it is a known one), a known sort and direction, and a
    page number clamped to what an integer column can hold (``cases_table`` brings it
    down to the last page)."""
    filters = {}
    for key in TABLE_FILTERS:
        value = clean_text(args.get(key))
        if (value and (key != "status" or value in STATUS_LABELS)
                and (key != "owes" or value in ("yes", "no"))):
            filters[key] = value
    return {"filters": filters,
            "sort": choice(args.get("sort"), (*CASE_SORTS, *COMPUTED_SORTS), "created"),
            "direction": choice(args.get("dir"), ("asc", "desc"), "desc"),
            "page": clamp_int(args.get("page"), 1, 1, 10**9)}


def _table_where(db, filters: dict) -> tuple[str, dict]:
    where, params = case_filters_sql(filters)
    if filters.get("owes") == "yes":
        where.append(f"c.status IN {sql_in(WAITING_ON_SELLER)}")
    elif filters.get("owes") == "no":
        where.append(f"c.status NOT IN {sql_in(WAITING_ON_SELLER)}")
    q = clean_text(filters.get("q"))
    if q:
        where.append(_q_clause(db, q, params))
    return ("WHERE " + " AND ".join(where)) if where else "", params


def _q_clause(db, q: str, params: dict) -> str:
    """The search box, matched as on the search page (``companion.read.search_terms``): the
    case id's start, or every word in the subject, or, for ids (an ASIN, a shipment, an
    order), a message of the case that names them."""
    words = search_terms.parse(q)
    arms = []
    if words.digits:
        params.update(qid=words.digits, qid_end=words.digits + ":")
        arms.append("(c.case_id >= :qid AND c.case_id < :qid_end)")
    if words:
        arms.append("(" + " AND ".join(search_terms.where(db, words, "cases", params, "qs")) + ")")
    if words.ids_only:
        inner = " AND ".join(search_terms.where(db, words, "messages", params, "qm"))
        arms.append(f"c.case_id IN (SELECT m.case_id FROM messages m WHERE {inner})")
    return "(" + (" OR ".join(arms) or "0") + ")"


def cases_table(db: sqlite_utils.Database, filters: dict, sort: str = "created",
                direction: str = "desc", page: int = 1, per_page: int = PER_PAGE,
                now: datetime | None = None) -> dict:
    """One page of the table: ``{"rows", "total", "page", "pages"}``; a page past the
    end shows the last one."""
    now = now or utc_now()
    where_sql, params = _table_where(db, filters)
    sort_sql = CASE_SORTS.get(sort, CASE_SORTS["created"])
    direction = "ASC" if direction == "asc" else "DESC"
    total = db.execute(f"SELECT count(*) FROM cases c {where_sql}", params).fetchone()[0]
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    params.update(limit=per_page, offset=(page - 1) * per_page)
    rows = list(db.query(
        f"""
        SELECT {_ROW_COLUMNS}
        FROM cases c {where_sql}
        ORDER BY {sort_sql} {direction} NULLS LAST, c.case_id {direction}
        LIMIT :limit OFFSET :offset
        """, params))
    return {"rows": _aged(rows, now), "total": total, "page": page, "pages": pages}


def table_where(db: sqlite_utils.Database, filters: dict) -> tuple[str, dict]:
    """The table's filters as a WHERE clause on ``cases c`` and its parameters."""
    return _table_where(db, filters)


def _aged(rows: list[dict], now: datetime) -> list[dict]:
    for r in rows:
        r["age_days"] = days_since(r["created_at"], now)
        r["owes"] = r["status"] in WAITING_ON_SELLER
    return rows


def matching_ids(db: sqlite_utils.Database, filters: dict, sort: str = "created",
                 direction: str = "desc") -> list[str]:
    """Every case id the table's filters match, in the table's order for a sort the
    database can do (for a computed sort, and for the CSV of the whole table)."""
    where_sql, params = _table_where(db, filters)
    sort_sql = CASE_SORTS.get(sort, CASE_SORTS["created"])
    direction = "ASC" if direction == "asc" else "DESC"
    return [r[0] for r in db.execute(
        f"SELECT c.case_id FROM cases c {where_sql} "
        f"ORDER BY {sort_sql} {direction} NULLS LAST, c.case_id {direction}", params)]


def rows_for(db: sqlite_utils.Database, case_ids: list[str],
             now: datetime | None = None) -> list[dict]:
    """The table's rows of these cases, in the order given."""
    if not case_ids:
        return []
    marks = ",".join("?" * len(case_ids))
    found = {r["case_id"]: r for r in db.query(
        f"SELECT {_ROW_COLUMNS} FROM cases c WHERE c.case_id IN ({marks})", case_ids)}
    return _aged([found[i] for i in case_ids if i in found], now or utc_now())


def page_of(total: int, page: int, per_page: int = PER_PAGE) -> tuple[int, int]:
    """(the page shown, the number of pages): a page past the end shows the last one."""
    pages = max(1, -(-total // per_page))
    return min(max(1, page), pages), pages


def transfer_links(db: sqlite_utils.Database, case: dict) -> dict:
    """Both ends of a transfer as the case page links them: ``continued_in`` (the case
    this transferred one continues in) and ``continues`` (the case this one continues),
    each ``{"case_id", "stored"}`` or None. The other end may not be synced yet; the
    page links it all the same (the next sync brings it)."""
    out: dict = {"continued_in": None, "continues": None}
    for key in out:
        other = case.get(key)
        if other:
            out[key] = {"case_id": other, "stored": db.execute(
                "SELECT 1 FROM cases WHERE case_id = ?", [other]).fetchone() is not None}
    return out


def referring_cases(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """Stored cases whose transfer link names ``case_id`` (for the page of a case not
    synced yet: it says which case pointed there)."""
    return list(db.query(
        "SELECT case_id, subject, status, continued_in, continues FROM cases "
        "WHERE continued_in = ? OR continues = ? ORDER BY case_id", [case_id, case_id]))


def case_detail(db: sqlite_utils.Database, case_id: str, newest_first: bool = False) -> dict | None:
    """One case with its thread (each message with its channel and a chat's turns,
    ``companion.read.thread``), attachments, status history and transfer links."""
    rows = list(db.query("SELECT * FROM cases WHERE case_id = ?", [case_id]))
    if not rows:
        return None
    case = rows[0]
    try:
        case["tag_list"] = json.loads(case["tags"]) if case.get("tags") else []
    except ValueError:
        case["tag_list"] = []
    order = "DESC" if newest_first else "ASC"
    messages = [present(m) for m in db.query(
        f"""SELECT rowid, message_key, contact_id, sender, sender_address, sent_at, html, text,
                   truncated, channel, turns FROM messages WHERE case_id = ?
            ORDER BY sent_at {order}, rowid {order}""", [case_id])]
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
            "last_amazon_reply_at": last_amazon,
            "last_message_at": max((m["sent_at"] for m in messages if m["sent_at"]),
                                   default=None),
            "transfer": transfer_links(db, case)}


def attachment(db: sqlite_utils.Database, case_id: str, attachment_id: str) -> dict | None:
    rows = list(db.query("SELECT * FROM attachments WHERE case_id = ? AND attachment_id = ?",
                         [case_id, attachment_id]))
    return rows[0] if rows else None

