"""The search page: case ids, subjects and message text (e-mails, chat transcripts and
call notes alike: all are ``messages.text``), each hit with its case id, status and
date, matches marked with ``MARK_OPEN``/``MARK_CLOSE`` so the text can be escaped
before they become ``<mark>``. How words match is ``companion.read.search_terms``.

Hits come newest first: ranking every match by relevance (bm25) cost more than the
rest of the page on a large archive (50 ms for a common word over 100,000 messages),
and a seller looking for a case mostly wants the recent one.
"""

from __future__ import annotations

import sqlite_utils

from companion.read import search_terms
from companion.read.queries import MARK_CLOSE, MARK_OPEN

# Past this many matches, walking the messages newest first until a page is found is
# quicker than sorting every match by time (measured: 26,000 matches sort in 37 ms,
# the walk takes 7 ms; under about a thousand the sort wins).
DENSE = 1000
# More than one message in this many matching: check the newest texts one by one.
SCAN_SHARE = 10
# Counting stops here: "10,000+" says enough, and counting 50,000 matches of ``B0``
# cost 12 ms.
COUNT_CAP = 10_000


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


def snippets(db: sqlite_utils.Database, words: search_terms.Words, rows: list[dict],
             tokens: int = 24) -> dict[int, str]:
    """Marked excerpts of the shown messages (``rows`` with ``rowid`` and ``text``):
    FTS5's snippet around the stemmed words, else a window around the first part."""
    if words.fts:
        out = message_snippets(db, words.fts, [r["rowid"] for r in rows], tokens)
        return {rid: search_terms.mark(s, words) for rid, s in out.items()}
    return {r["rowid"]: search_terms.excerpt(r["text"], words) for r in rows}


def plan(db: sqlite_utils.Database, found: search_terms.Match, total: int) -> tuple[list[str], str]:
    """How to read the newest matching messages: the clauses and the index hint.

    Few matches (``DENSE`` or less): gather them and sort. Many: walk the time index
    newest first, checking each row against the gathered set, or, when more than one
    message in ``SCAN_SHARE`` matches and every word can be checked on the text, against
    the text itself (no set to gather at all)."""
    if total <= DENSE:
        return found.clauses(), ""
    scan = found.scan()
    if scan is not None:
        rows = db.execute(f"SELECT max(rowid) FROM {found.table}").fetchone()[0] or 0
        if total * SCAN_SHARE > rows:
            return scan, "INDEXED BY idx_messages_sent_at"
    return found.clauses(), "INDEXED BY idx_messages_sent_at"


def newest_messages(db: sqlite_utils.Database, found: search_terms.Match, params: dict,
                    total: int, limit: int) -> list[int]:
    """Rowids of the newest ``limit`` messages of ``found`` (``total`` of them)."""
    clauses, hint = plan(db, found, total)
    return [r[0] for r in db.execute(
        f"SELECT m.rowid FROM messages m {hint} WHERE {' AND '.join(clauses) or '1'} "
        f"ORDER BY m.sent_at DESC, m.rowid DESC LIMIT {int(limit)}", params)]


def _subjects(db, words: search_terms.Words, limit: int) -> tuple[list[dict], int]:
    params: dict = {}
    found = search_terms.match(db, words, "cases", params)
    where = " AND ".join(found.clauses())
    total = db.execute(found.count_sql(), params).fetchone()[0]
    hint = "INDEXED BY idx_cases_created_at" if total > DENSE else ""  # as for messages
    rows = list(db.query(
        f"SELECT c.rowid, c.case_id, c.subject, c.status, c.category, c.created_at "
        f"FROM cases c {hint} WHERE {where} ORDER BY c.created_at DESC, c.rowid DESC "
        f"LIMIT {int(limit)}", params)) if total else []
    marked = {}
    if words.fts and rows:
        marks = ",".join("?" * len(rows))
        marked = {r[0]: r[1] for r in db.execute(
            f"SELECT rowid, highlight(cases_fts, 0, ?, ?) FROM cases_fts "
            f"WHERE cases_fts MATCH ? AND rowid IN ({marks})",
            [MARK_OPEN, MARK_CLOSE, words.fts, *[r["rowid"] for r in rows]])}
    for r in rows:
        r["subject_marked"] = search_terms.mark(marked.get(r["rowid"], r["subject"]), words)
    return rows, total


def _messages(db, words: search_terms.Words, limit: int) -> tuple[list[dict], int]:
    params: dict = {}
    found = search_terms.match(db, words, "messages", params)
    rowids, total = _few(db, found, params, limit) if found.rows else ([], None)
    if total is None:
        total = db.execute(found.count_sql(COUNT_CAP + 1), params).fetchone()[0]
        rowids = newest_messages(db, found, params, total, limit) if total else []
    if not rowids:
        return [], total
    marks = ",".join("?" * len(rowids))
    by_id = {r["rowid"]: r for r in db.query(
        f"""SELECT m.rowid, m.case_id, m.message_key, m.sender, m.sent_at, m.text,
                   c.subject, c.status, coalesce(m.channel, 'email') AS channel
            FROM messages m JOIN cases c ON c.case_id = m.case_id
            WHERE m.rowid IN ({marks})""", rowids)}
    rows = [by_id[rid] for rid in rowids if rid in by_id]
    excerpts = snippets(db, words, rows)
    for r in rows:
        r["snippet"] = excerpts.get(r["rowid"], "")
        del r["text"]
    return rows, total


def _few(db, found: search_terms.Match, params: dict, limit: int) -> tuple[list[int], int | None]:
    """A match checked against the text (an id's part) read once, when it is no more
    than ``DENSE`` rows: the newest ``limit`` rowids and the total; ``None`` when more."""
    hits = db.execute(f"SELECT m.rowid, m.sent_at FROM messages m WHERE "
                      f"{' AND '.join(found.clauses())} LIMIT {DENSE + 1}", params).fetchall()
    if len(hits) > DENSE:
        return [], None
    hits.sort(key=lambda h: (h[1] or "", h[0]), reverse=True)
    return [h[0] for h in hits[:limit]], len(hits)


def search(db: sqlite_utils.Database, q: str, limit: int = 50) -> dict:
    """Cases whose id starts with the digits typed, cases whose subject matches and
    messages whose text matches, newest first, with how many of each there are."""
    words = search_terms.parse(q)
    out = {"q": q, "ids": search_terms.case_id_hits(db, words.digits), "cases": [],
           "case_total": 0, "messages": [], "message_total": 0, "message_more": False}
    if not words:
        return out
    out["cases"], out["case_total"] = _subjects(db, words, 20)
    out["messages"], total = _messages(db, words, limit)
    out["message_total"] = min(total, COUNT_CAP)
    out["message_more"] = total > COUNT_CAP  # "10,000+"
    return out
