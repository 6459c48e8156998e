"""The timeline: every event of every case (case opened, each message, each status change
observed), newest first, in keyset pages.

Each kind of event is read by its own query that walks an index newest first and stops
after one page, and the pages are merged here: a UNION ALL ordered by time would sort
every event in the database for each page. Events are ordered by ``(at, rank, seq)``
where ``rank`` separates kinds that share a timestamp and ``seq`` is the row's rowid,
so the order is total and a cursor names exactly where the next page starts.

Other modules can add kinds of events with ``sources``: callables
``source(db, filters, cursor, limit) -> list[event dict]`` whose events carry ``at``,
``rank`` (3 or more), ``seq`` and ``kind`` and follow the same order and cursor rule:
``keyset`` writes that rule as SQL and ``Cursor.admits`` applies it in memory, and
``companion.read.local_days`` is the day rule for ``from``/``to``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlite_utils

from companion.read import search, search_terms
from companion.read.labels import CHANNELS
from companion.read.local_days import clamp_day, date_clauses
from companion.read.params import INT_MAX, TEXT_MAX, clean_text
from companion.read.queries import SENDERS, STATUS_LABELS, case_filters_sql

RANK_OPENED, RANK_STATUS, RANK_MESSAGE = 0, 1, 2
PAGE_SIZE = 50
EXCERPT_CHARS = 320

FILTER_KEYS = ("status", "category", "sender", "channel", "case", "from", "to", "q")
# Filters only messages have: any of them narrows the timeline to messages.
MESSAGE_FILTERS = ("sender", "channel", "q")


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last event's ``(at, rank, seq)``. Decoded from a URL, so
    every part is checked: a short time-like text, a small rank, a seq SQLite's integers
    hold. Anything else reads as no cursor (the first page)."""

    at: str
    rank: int
    seq: int

    def encode(self) -> str:
        return f"{self.at}~{self.rank}~{self.seq}"

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        if not value or len(value) > 80:
            return None
        try:
            at, rank, seq = value.rsplit("~", 2)
            rank_n, seq_n = int(rank), int(seq)
        except ValueError:
            return None
        if not _AT.fullmatch(at) or not 0 <= rank_n <= 99 or not -INT_MAX <= seq_n <= INT_MAX:
            return None
        return cls(at, rank_n, seq_n)

    def admits(self, event: dict) -> bool:
        """True when ``event`` comes after this cursor in newest-first order (the rule
        ``keyset`` writes as SQL, for events computed in memory)."""
        return (event["at"], event["rank"], event["seq"]) < (self.at, self.rank, self.seq)


_AT = re.compile(r"\d[\dT:.+\-Z ]{0,39}")  # ISO times as stored, nothing else


def clean_filters(args) -> dict:
    """Keep only known, non-empty filters, each cleaned (text without control
    characters and capped; a sender, channel or status one of the known values; dates
    real and clamped into the range the day rule can handle)."""
    out = {}
    for key in FILTER_KEYS:
        value = clean_text(args.get(key) or "", 64 if key == "case" else TEXT_MAX)
        if not value:
            continue
        if key == "sender" and value not in SENDERS:
            continue
        if key == "channel" and value not in CHANNELS:
            continue
        if key == "status" and value not in STATUS_LABELS:
            continue
        if key in ("from", "to"):
            value = clamp_day(value)
            if value is None:
                continue
        out[key] = value
    return out


def keyset(at_col: str, seq_col: str, rank: int, cursor: Cursor | None,
           params: dict) -> list[str]:
    """The clause 'this row comes after the cursor in newest-first order' for one kind
    of event of rank ``rank``; every source that reads SQL uses it."""
    if cursor is None:
        return []
    params["cur_at"] = cursor.at
    if rank < cursor.rank:
        return [f"{at_col} <= :cur_at"]
    if rank > cursor.rank:
        return [f"{at_col} < :cur_at"]
    params["cur_seq"] = cursor.seq
    return [f"{at_col} <= :cur_at",
            f"({at_col} < :cur_at OR {seq_col} < :cur_seq)"]


def _opened(db, filters, cursor, limit) -> list[dict]:
    where, params = case_filters_sql(filters)
    where += date_clauses("c.created_at", filters, params)
    where += keyset("c.created_at", "c.rowid", RANK_OPENED, cursor, params)
    params["limit"] = limit
    sql = f"""
        SELECT c.rowid AS seq, c.created_at AS at, c.case_id, c.subject, c.status, c.category,
               c.continued_in, c.continues
        FROM cases c {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY c.created_at DESC, c.rowid DESC LIMIT :limit"""
    return [{**r, "kind": "opened", "rank": RANK_OPENED} for r in db.query(sql, params)]


def _status(db, filters, cursor, limit) -> list[dict]:
    # Pick the page from status_history alone, then join the cases: joining first makes
    # SQLite walk every case and sort every change.
    where, params = case_filters_sql(filters)
    inner = ["h.previous_status IS NOT NULL"]
    if where:
        inner.append("h.case_id IN (SELECT c.case_id FROM cases c WHERE "
                     + " AND ".join(where) + ")")
    inner += date_clauses("h.observed_at", filters, params)
    inner += keyset("h.observed_at", "h.id", RANK_STATUS, cursor, params)
    params["limit"] = limit
    sql = f"""
        SELECT h.id AS seq, h.observed_at AS at, h.case_id, h.status AS new_status,
               h.previous_status, c.subject, c.status, c.category, c.continued_in,
               c.continues
        FROM (SELECT h.id, h.observed_at, h.case_id, h.status, h.previous_status
              FROM status_history h WHERE {" AND ".join(inner)}
              ORDER BY h.observed_at DESC, h.id DESC LIMIT :limit) h
        JOIN cases c ON c.case_id = h.case_id
        ORDER BY h.observed_at DESC, h.id DESC"""
    return [{**r, "kind": "status", "rank": RANK_STATUS} for r in db.query(sql, params)]


def _messages(db, filters, cursor, limit) -> list[dict]:
    where, params = case_filters_sql(filters)
    if "sender" in filters:
        where.append("m.sender = :sender")
        params["sender"] = filters["sender"]
    if filters.get("channel") == "email":  # rows from before migration 7 are e-mails
        where.append("coalesce(m.channel, 'email') = 'email'")  # walks the time index
    elif "channel" in filters:
        where.append("m.channel = :channel")
        params["channel"] = filters["channel"]
    words = search_terms.parse(filters.get("q", ""))
    hint = ""
    if words:
        found = search_terms.match(db, words, "messages", params)
        clauses = found.clauses()
        # Many matches: walk the time index (``search.plan``); a case's own or a
        # channel's messages have indexes of their own that the planner picks.
        if not {"case", "channel"} & filters.keys():
            total = db.execute(found.count_sql(search.COUNT_CAP + 1), params).fetchone()[0]
            clauses, hint = search.plan(db, found, total)
        where += clauses
    where += date_clauses("m.sent_at", filters, params)
    where += keyset("m.sent_at", "m.rowid", RANK_MESSAGE, cursor, params)
    params.update(limit=limit, chars=EXCERPT_CHARS)
    sql = f"""
        SELECT m.rowid AS seq, m.sent_at AS at, m.case_id, m.message_key, m.sender,
               substr(m.text, 1, :chars) AS excerpt, length(m.text) > :chars AS cut,
               coalesce(m.channel, 'email') AS channel, c.subject, c.status, c.category,
               c.continued_in, c.continues, {"m.text" if words else "NULL"} AS text
        FROM messages m {hint} JOIN cases c ON c.case_id = m.case_id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY m.sent_at DESC, m.rowid DESC LIMIT :limit"""
    rows = [{**r, "kind": "message", "rank": RANK_MESSAGE} for r in db.query(sql, params)]
    if words and rows:
        marked = search.snippets(db, words, [{"rowid": r["seq"], "text": r["text"]}
                                             for r in rows], tokens=40)
        for r in rows:
            r["snippet"] = marked.get(r["seq"])
    for r in rows:
        del r["text"]
    return rows


Source = Callable[[sqlite_utils.Database, dict, Cursor | None, int], list[dict]]


def events(db: sqlite_utils.Database, filters: dict, cursor: Cursor | None = None,
           limit: int = PAGE_SIZE, sources: Iterable[Source] = ()) -> dict:
    """One page of events after ``cursor``: ``{"events": [...], "next": Cursor|None}``.

    A sender, a channel or a text search narrows the timeline to messages (only
    messages have them); every other filter applies to all kinds."""
    arms: list[Source] = [_messages]
    if not any(key in filters for key in MESSAGE_FILTERS):
        arms += [_opened, _status, *sources]
    found: list[dict] = []
    for arm in arms:
        found.extend(arm(db, filters, cursor, limit + 1))
    found.sort(key=lambda e: (e["at"], e["rank"], e["seq"]), reverse=True)
    page = found[:limit]
    nxt = None
    if len(found) > limit:
        last = page[-1]
        nxt = Cursor(last["at"], last["rank"], last["seq"])
    return {"events": page, "next": nxt}

