"""Full-text search over subjects and message text (e-mails, chat transcripts and call
notes alike: all are ``messages.text``, which the FTS index holds), matches marked with
``MARK_OPEN``/``MARK_CLOSE`` so the text can be escaped before they become ``<mark>``.
"""

from __future__ import annotations

import sqlite_utils

from companion.read.queries import MARK_CLOSE, MARK_OPEN, fts_query


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
                       c.status, coalesce(m.channel, 'email') AS channel
                FROM messages m JOIN cases c ON c.case_id = m.case_id
                WHERE m.rowid IN ({marks})""", rowids)}
        for rid in rowids:
            if rid in by_id:
                messages.append({**by_id[rid], "snippet": snippets.get(rid, "")})
    return {"q": q, "cases": cases, "messages": messages, "message_total": message_total}

