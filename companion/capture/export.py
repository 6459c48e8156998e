"""The export format (docs/DESIGN.md): every stored case, newest first, messages oldest
first, the same shape as the simulated portal's ``/__sim/truth`` so the two compare as JSON.

Cases that left the lobby are included: the archive outlives the portal's view.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlite_utils


def _z(ts: str | None) -> str | None:
    """Stored times may carry microseconds; the export has whole seconds."""
    if not ts:
        return ts
    if len(ts) > 19 and ts[19] == ".":
        return ts[:19] + "Z"
    return ts


def iter_cases(db: sqlite_utils.Database, case_ids: list[str] | None = None) -> Iterator[dict]:
    """Yield export cases one at a time (memory stays flat however big the archive)."""
    where, params = "where last_captured_at is not null", []
    if case_ids is not None:
        where += f" and case_id in ({','.join('?' * len(case_ids))})"
        params = list(case_ids)
    cases = db.execute(
        f"select case_id, status, subject, category, created_at from cases {where} "
        "order by created_at desc, case_id desc", params).fetchall()
    for case_id, status, subject, category, created_at in cases:
        attachments: dict[str, list] = {}
        for key, name, size in db.execute(
                "select message_key, name, size from attachments where case_id = ? "
                "order by rowid", [case_id]):
            attachments.setdefault(key, []).append({"name": name, "size": size})
        messages = [
            {"sender": sender, "sent_at": _z(sent_at), "text": text,
             "attachments": attachments.get(key, []), "channel": channel or "email"}
            for key, sender, sent_at, text, channel in db.execute(
                "select message_key, sender, sent_at, text, channel from messages "
                "where case_id = ? order by sent_at, rowid", [case_id])
        ]
        yield {"case_id": case_id, "status": status, "subject": subject,
               "category": category, "created_at": _z(created_at), "messages": messages}


