"""What is worth telling from one sync: its ``changes`` rows (a new Amazon reply, a
status change, a transfer) merged into one event per case, and the answers and follow-ups
that fall due within a day (``companion.replies.reminders``). Pure reads; each event
carries the key that makes it one notification however many rounds see it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from companion.folders import Account
from companion.read.labels import status_label
from companion.replies import reminders

TRANSFERRED = ("transferred",)       # the portal's Transferred, the Support API's TRANSFERRED
TEXT_CHARS = 1000
DEADLINE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Event:
    kind: str            # reply | status | transfer | deadline | stopped | test
    key: str             # one notification per key
    title: str
    body: str
    case_id: str | None = None


def _case(db: sqlite_utils.Database, case_id: str) -> dict:
    row = db.execute("select subject, status, continued_in from cases where case_id = ?",
                     [case_id]).fetchone()
    return {"subject": row[0], "status": row[1], "continued_in": row[2]} if row else {}


def _last_amazon_text(db: sqlite_utils.Database, case_id: str) -> str:
    row = db.execute("select text from messages where case_id = ? and sender = 'amazon' "
                     "order by sent_at desc limit 1", [case_id]).fetchone()
    text = (row[0] if row else "") or ""
    return text[:TEXT_CHARS] + (" ..." if len(text) > TEXT_CHARS else "")


def _head(account: str) -> str:
    return "" if account == "default" else f"[{account}] "


def sync_events(db: sqlite_utils.Database, account: str, sync_id: int,
                include_text: bool = False) -> list[Event]:
    """One event per case the sync changed (a transfer says it all; a reply names the
    new status too), in the order the sync saved them."""
    per_case: dict[str, dict] = {}
    for row in db.query("select id, case_id, kind, detail from changes where sync_id = ? "
                        "and kind in ('new_reply', 'status_change') order by id", [sync_id]):
        seen = per_case.setdefault(row["case_id"], {"status": None, "reply": False})
        if row["kind"] == "new_reply":
            seen["reply"] = True
        else:
            detail = json.loads(row["detail"] or "{}")
            seen["status"] = (detail.get("from"), detail.get("to"))
    return [_event(db, account, sync_id, cid, seen, include_text)
            for cid, seen in per_case.items()]


def _event(db, account: str, sync_id: int, cid: str, seen: dict, include_text: bool
           ) -> Event:
    case = _case(db, cid)
    subject = case.get("subject") or "(no subject)"
    lines = [f"Case {cid}: {subject}"]
    status = seen["status"]
    if status and (status[1] or "").lower() in TRANSFERRED:
        kind = "transfer"
        goes = case.get("continued_in")
        title = f"{_head(account)}Case {cid} was transferred"
        lines.append(f"Amazon moved it to case {goes}." if goes else
                     "Amazon transferred it to another case.")
    elif seen["reply"]:
        kind = "reply"
        title = f"{_head(account)}Amazon replied in case {cid}"
        lines.append("New reply from Amazon.")
    else:
        kind = "status"
        title = f"{_head(account)}Case {cid}: {status_label(status[1])}"
    if status:
        lines.append(f"Status: {status_label(status[0])} -> {status_label(status[1])}")
    if include_text and (seen["reply"] or kind == "transfer"):
        text = _last_amazon_text(db, cid)
        if text:
            lines += ["", text]
    return Event(kind, f"sync:{sync_id}:{cid}", title, "\n".join(lines), cid)


def deadline_events(db: sqlite_utils.Database, account: str,
                    now: datetime | None = None, acct: Account | None = None) -> list[Event]:
    """Answers and follow-ups falling due in the next 24 hours, once per due date (an
    overdue one was told when it was due soon, or is on the reminders list)."""
    now = now or datetime.now(UTC)
    try:
        config = reminders.load_config(acct)
    except reminders.ConfigError:
        config = {"defaults": dict(reminders.DEFAULTS), "categories": {}, "seller": {}}
    out = []
    for rem in reminders.for_cases(db, None, now, config).values():
        left = rem["due_ts"] - now.timestamp()
        if not 0 <= left <= DEADLINE_SECONDS:
            continue
        hours = max(1, round(left / 3600))
        what = "Your answer to Amazon" if rem["kind"] == "answer" else "A follow-up"
        title = f"{_head(account)}Case {rem['case_id']}: {rem['label']} within {hours} h"
        body = (f"Case {rem['case_id']}: {rem['subject']}\n{what} is due by "
                f"{rem['due_at'].replace('T', ' ').replace('Z', ' UTC')}.")
        out.append(Event("deadline", f"deadline:{rem['case_id']}:{rem['kind']}:"
                         f"{rem['due_at']}", title, body, rem["case_id"]))
    return out
