"""SQL views that make the database readable outside caselog (migration 22).

A seller (or whoever helps them) may open ``caselog.db`` in Datasette or any SQLite
browser. The tables hold API values (``PendingMerchantAction``), sender codes and
rowids; these views say what the UI says: the portal's status labels, who wrote, the
channel, the case subject beside each message, and the timeline in one list. They only
read, so they cost nothing until someone opens them; a later migration that changes a
label replaces them (``DROP VIEW`` then ``create``).
"""

from __future__ import annotations

import sqlite_utils

from companion.read.labels import CHANNEL_LABELS, DONE_STATUSES, STATUS_LABELS


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _who_acts(status: str) -> str:
    if status == "PendingMerchantAction":
        return "you"
    return "nobody" if status in DONE_STATUSES else "Amazon"


def _channel(col: str) -> str:
    arms = " ".join(f"WHEN {_quote(k)} THEN {_quote(v)}" for k, v in CHANNEL_LABELS.items())
    return f"CASE coalesce({col}, 'email') {arms} ELSE 'E-mail' END"


def _sender(col: str) -> str:
    return f"CASE {col} WHEN 'amazon' THEN 'Amazon' WHEN 'seller' THEN 'You' ELSE {col} END"


def views() -> dict[str, str]:
    """Name -> SELECT of every view, in the order they depend on each other."""
    labels = ", ".join(f"({_quote(k)}, {_quote(v)}, {_quote(_who_acts(k))})"
                       for k, v in STATUS_LABELS.items())
    return {
        # The portal's words for each status and who has to act next.
        "status_labels": f"SELECT column1 AS status, column2 AS label, column3 AS who_acts "
                         f"FROM (VALUES {labels})",
        "case_overview": """
            SELECT c.case_id, c.subject, coalesce(l.label, c.status) AS status_label,
                   coalesce(l.who_acts, '') AS who_acts,
                   c.status = 'PendingMerchantAction' AS you_owe_an_answer,
                   c.category, c.created_at, c.last_amazon_reply_at,
                   (SELECT count(*) FROM messages m WHERE m.case_id = c.case_id)
                       AS messages_stored,
                   (SELECT max(m.sent_at) FROM messages m WHERE m.case_id = c.case_id)
                       AS last_message_at,
                   c.in_lobby AS listed_in_seller_central, c.continued_in, c.continues,
                   c.source, c.status AS status_value
            FROM cases c LEFT JOIN status_labels l ON l.status = c.status""",
        "message_log": f"""
            SELECT m.case_id, c.subject, coalesce(l.label, c.status) AS case_status,
                   m.sent_at, {_sender('m.sender')} AS sender,
                   {_channel('m.channel')} AS channel, m.text,
                   m.truncated AS only_a_preview,
                   (SELECT count(*) FROM attachments a WHERE a.case_id = m.case_id
                        AND a.message_key = m.message_key) AS attachments,
                   m.message_key
            FROM messages m JOIN cases c ON c.case_id = m.case_id
            LEFT JOIN status_labels l ON l.status = c.status""",
        "status_changes": """
            SELECT h.observed_at, h.case_id, c.subject,
                   coalesce(p.label, h.previous_status) AS changed_from,
                   coalesce(l.label, h.status) AS changed_to, h.sync_id
            FROM status_history h JOIN cases c ON c.case_id = h.case_id
            LEFT JOIN status_labels l ON l.status = h.status
            LEFT JOIN status_labels p ON p.status = h.previous_status
            WHERE h.previous_status IS NOT NULL""",
        # The UI's timeline as one list, newest first: cases opened, messages, changes.
        "timeline": f"""
            SELECT c.created_at AS at, 'Case opened' AS event, c.case_id, c.subject,
                   c.category AS detail
            FROM cases c
            UNION ALL
            SELECT m.sent_at, {_sender('m.sender')} || ' (' || {_channel('m.channel')} || ')',
                   m.case_id, c.subject, substr(m.text, 1, 300)
            FROM messages m JOIN cases c ON c.case_id = m.case_id
            UNION ALL
            SELECT observed_at, 'Status changed', case_id, subject,
                   changed_from || ' -> ' || changed_to
            FROM status_changes
            ORDER BY at DESC""",
    }


def create(db: sqlite_utils.Database) -> None:
    """Create every view that is not there yet (safe to run twice)."""
    for name, select in views().items():
        db.execute(f"CREATE VIEW IF NOT EXISTS [{name}] AS {select}")
