"""The cases table's deadline and the table as CSV.

The deadline of a case is its row in home's queue (``companion.queue.rows``): what
is wanted from the seller and by when, or nothing. The cases table shows it as a column
and can sort by it (in SQL, against the queue's stored phases; cases without one come last in
either direction). The CSV (``caselog export --format csv`` and the table's
"Download CSV" with its current filters and sort) has one row per case: its id, status
in words, subject, category, when it was created, Amazon's last reply, the last message
of either side, the next deadline and what it is for, and the evidence progress.

Times are ISO 8601 UTC with whole seconds, as in the JSON export. A cell that a
spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return: a subject comes from the portal) is written with a leading ``'``,
the usual guard; Python's ``csv`` module reads it back as that text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

import sqlite_utils

from companion.queue import derive, progress
from companion.queue import rows as queue
from companion.read import cases
from companion.read.labels import status_label

COLUMNS = ("Case ID", "Status", "Subject", "Category", "Created", "Last Amazon reply",
           "Last message", "Next deadline", "Wanted", "Evidence")
CHUNK = 400  # cases per query: SQLite's variables, and progress's two lists of them
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


_DATED = """
FROM queue_phases p JOIN cases c ON c.case_id = p.case_id
WHERE p.from_ts <= :now_ts AND :now_ts < p.until_ts {where}
"""
_UNDATED = """
FROM cases c WHERE NOT EXISTS (SELECT 1 FROM queue_phases p WHERE p.case_id = c.case_id
  AND p.from_ts <= :now_ts AND :now_ts < p.until_ts) {where}
"""


def deadline_order(db: sqlite_utils.Database, filters: dict, direction: str,
                   now: datetime, limit: int | None = None, offset: int = 0) -> list[str]:
    """The filtered cases by their deadline as of ``now`` (the queue's stored phases),
    those without one last (newest first): a page of them (``limit``) or all (the
    CSV). The dated part walks the phases' deadline index and stops at the page."""
    where_sql, params = cases.table_where(db, filters)
    where = " AND " + where_sql[len("WHERE "):] if where_sql else ""
    d = "ASC" if direction == "asc" else "DESC"
    params["now_ts"] = now.timestamp()
    derive.current(db)  # the stored rows follow the settings files
    dated_sql = (f"SELECT c.case_id {_DATED.format(where=where)} "
                 f"ORDER BY p.first_due {d}, p.case_id {d}")
    undated_sql = (f"SELECT c.case_id {_UNDATED.format(where=where)} "
                   "ORDER BY c.created_at DESC NULLS LAST, c.case_id DESC")
    if limit is None:
        return [r[0] for r in db.execute(dated_sql, params)] + \
            [r[0] for r in db.execute(undated_sql, params)]
    ids = [r[0] for r in db.execute(dated_sql + " LIMIT :limit OFFSET :offset",
                                    {**params, "limit": limit, "offset": offset})]
    if len(ids) < limit:
        dated = db.execute(f"SELECT count(*) {_DATED.format(where=where)}",
                           params).fetchone()[0]
        ids += [r[0] for r in db.execute(
            undated_sql + " LIMIT :limit OFFSET :offset",
            {**params, "limit": limit - len(ids), "offset": max(0, offset - dated)})]
    return ids


def table(db: sqlite_utils.Database, filters: dict, sort: str, direction: str, page: int,
          now: datetime) -> dict:
    """``cases.cases_table``'s page with each row's ``deadline`` (its queue row, or
    None), sorted by it when ``sort`` is ``deadline``."""
    if sort != "deadline":
        result = cases.cases_table(db, filters, sort, direction, page, now=now)
    else:
        where_sql, params = cases.table_where(db, filters)
        total = db.execute(f"SELECT count(*) FROM cases c {where_sql}", params).fetchone()[0]
        shown, pages = cases.page_of(total, page)
        ids = deadline_order(db, filters, direction, now, cases.PER_PAGE,
                             (shown - 1) * cases.PER_PAGE)
        result = {"rows": cases.rows_for(db, ids, now),
                  "total": total, "page": shown, "pages": pages}
    deadlines = queue.deadlines(db, now, [r["case_id"] for r in result["rows"]])
    for r in result["rows"]:
        r["deadline"] = deadlines.get(r["case_id"])
    return result


def ordered_ids(db: sqlite_utils.Database, filters: dict, sort: str, direction: str,
                now: datetime) -> list[str]:
    """Every case the table's filters match, in the table's order (for its CSV)."""
    if sort == "deadline":
        return deadline_order(db, filters, direction, now)
    return cases.matching_ids(db, filters, sort, direction)


_ROWS_SQL = """
select c.case_id, c.status, c.subject, c.category, c.created_at,
  coalesce(c.last_amazon_reply_at, (select max(m.sent_at) from messages m
             where m.case_id = c.case_id and m.sender = 'amazon')) as last_amazon,
  (select max(m.sent_at) from messages m where m.case_id = c.case_id) as last_message
from cases c where c.case_id in ({marks})
"""


def _z(ts: str | None) -> str:
    return "" if not ts else (ts[:19] + "Z" if len(ts) > 19 and ts[19] == "." else ts)


def cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def rows(db: sqlite_utils.Database, case_ids: list[str], now: datetime,
         with_evidence: bool = True) -> Iterator[list[str]]:
    """The CSV's rows (without the header) of these cases, in the order given."""
    for n in range(0, len(case_ids), CHUNK):
        ids = case_ids[n:n + CHUNK]
        deadlines = queue.deadlines(db, now, ids)
        found = {r["case_id"]: r for r in db.query(
            _ROWS_SQL.format(marks=",".join("?" * len(ids))), ids)}
        counts = progress.for_cases(db, ids) if with_evidence else {}
        for case_id in ids:
            r = found.get(case_id)
            if r is None:
                continue
            d, p = deadlines.get(case_id), counts.get(case_id)
            yield [cell(v) for v in (
                case_id, status_label(r["status"]), r["subject"], r["category"],
                _z(r["created_at"]), _z(r["last_amazon"]), _z(r["last_message"]),
                _z(d["due_at"]) if d else "", d["what"] if d else "",
                f"{p['done']} of {p['total']}" if p else "")]


def write(out, body: Iterable[list[str]]) -> None:
    """The header and the rows, as Python's ``csv`` writes them (RFC 4180 quoting)."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(body)


def as_text(db: sqlite_utils.Database, case_ids: list[str], now: datetime,
            with_evidence: bool = True) -> str:
    buf = io.StringIO()
    write(buf, rows(db, case_ids, now, with_evidence))
    return buf.getvalue()
