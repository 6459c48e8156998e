"""Saving parsed records: the *save* step of capture -> parse -> save, with no network.

Every case is written in ONE transaction together with the captures it came from, its
messages, attachments, status history, the ``changes`` it caused and the sync's progress
counter, so a process killed at any moment leaves either the whole case or none of it.
Keys make re-runs idempotent: cases by ``case_id``, messages by ``(case_id, message_key)``,
attachments by ``(case_id, attachment_id)``. Nothing is deleted because the portal stopped
showing it: a case missing from a complete listing only gets ``in_lobby = 0``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import sqlite_utils

from companion.capture.archive import Archived
from companion.procs import pid_alive
from companion.schema import utcnow

CLOSED_STATUSES = frozenset({"Resolved", "Closed"})


@dataclass
class CaseUnit:
    """Everything one case's capture produced in one sync: what :func:`save_case` stores."""

    case_id: str
    parsed: dict                       # ParsedCase, messages of every page fetched
    captures: list[Archived]
    sync_id: int | None = None
    portal: str | None = None
    listed: dict | None = None         # ListedCase from this sync's listing
    full_texts: dict = field(default_factory=dict)   # message_key -> (html, text)
    complete: bool = True              # the thread was read to its end (or to known ground)
    source: str = "json"
    observed_at: str | None = None     # when the portal showed this (first capture's time)


@dataclass
class CaseOutcome:
    case_id: str
    new_case: bool = False
    new_replies: int = 0
    status_change: tuple[str | None, str] | None = None
    fully_captured: bool = False


# -- syncs ---------------------------------------------------------------------------------

def mark_interrupted(db: sqlite_utils.Database) -> list[int]:
    """Runs left ``running`` by a process that no longer exists were killed: say so."""
    ids = [r["id"] for r in db.query("select id, pid from syncs where state = 'running'")
           if not pid_alive(r["pid"]) or r["pid"] == os.getpid()]
    if ids:
        with db.atomic():
            for i in ids:
                db["syncs"].update(i, {"state": "interrupted"})
    return ids


def running_sync(db: sqlite_utils.Database) -> dict | None:
    for r in db.query("select * from syncs where state = 'running' order by id desc"):
        if pid_alive(r["pid"]) and r["pid"] != os.getpid():
            return r
    return None


def start_sync(db: sqlite_utils.Database, portal: str | None, mode: str) -> int:
    with db.atomic():
        return db["syncs"].insert({
            "portal": portal, "mode": mode, "state": "running", "started_at": utcnow(),
            "pid": os.getpid(), "total": 0, "done": 0, "listed": 0, "requests": 0,
        }).last_pk


def update_sync(db: sqlite_utils.Database, sync_id: int, **values) -> None:
    with db.atomic():
        db.execute(f"update syncs set {', '.join(k + ' = ?' for k in values)} where id = ?",
                   [*values.values(), sync_id])


def finish_sync(db: sqlite_utils.Database, sync_id: int, state: str, summary: dict | None,
                error: str | None = None, requests: int | None = None) -> None:
    values = {"state": state, "finished_at": utcnow(), "error": error}
    if summary is not None:
        values["summary"] = json.dumps(summary, ensure_ascii=False)
    if requests is not None:
        values["requests"] = requests
    update_sync(db, sync_id, **values)


# -- reading what is stored ----------------------------------------------------------------

def stored_cases(db: sqlite_utils.Database) -> dict[str, dict]:
    """The fields sync needs to decide which cases to open, for every stored case."""
    return {r["case_id"]: r for r in db.query(
        "select case_id, status, last_amazon_reply_at, fully_captured, last_captured_at, "
        "last_error, in_lobby from cases")}


def message_state(db: sqlite_utils.Database, case_id: str) -> dict[str, int]:
    """message_key -> truncated flag, for the stop rule and the See-more fetches."""
    return {r["message_key"]: r["truncated"] for r in db.query(
        "select message_key, truncated from messages where case_id = ?", [case_id])}


# -- saving --------------------------------------------------------------------------------

def _insert_captures(db, sync_id, captures: list[Archived], replay: bool = False) -> None:
    """New captures get a row; replayed ones (``reparse``) only get their parse status."""
    for cap in captures:
        if replay and cap.id is not None:
            db.execute("update captures set parse_status = ?, parse_error = ? where id = ?",
                       [cap.parse_status, cap.parse_error, cap.id])
        else:
            row = cap.row(sync_id)
            cap.id = db.conn.execute(_INSERT_CAPTURE, [row[c] for c in _CAPTURE_COLUMNS]
                                     ).lastrowid


def save_listing(db: sqlite_utils.Database, sync_id: int | None, listed: list[dict],
                 captures: list[Archived], complete: bool, observed_at: str,
                 replay: bool = False) -> list[str]:
    """Mark listed cases as seen; when the listing is complete, cases missing from it
    get ``in_lobby = 0`` and a ``left_lobby`` change. Returns the ids that left."""
    listed_ids = {c["case_id"] for c in listed}
    left: list[str] = []
    with db.atomic():
        _insert_captures(db, sync_id, captures, replay)
        db.execute("create temp table if not exists _listed (case_id text primary key)")
        db.execute("delete from _listed")
        db.conn.executemany("insert or ignore into _listed values (?)",
                            [(i,) for i in listed_ids])
        db.execute("update cases set in_lobby = 1, last_listed_at = ? "
                   "where case_id in (select case_id from _listed)", [observed_at])
        if complete:
            left = [r[0] for r in db.execute(
                "select case_id from cases where coalesce(in_lobby, 1) = 1 and source != 'import'"
                " and case_id not in (select case_id from _listed)").fetchall()]
            if left:
                db.conn.executemany("update cases set in_lobby = 0 where case_id = ?",
                                    [(i,) for i in left])
                if not replay:
                    db["changes"].insert_all(
                        {"sync_id": sync_id, "case_id": i, "kind": "left_lobby",
                         "detail": "{}", "at": observed_at} for i in left)
        if sync_id is not None and not replay:
            db["syncs"].update(sync_id, {"listed": len(listed_ids)})
    return left


_UPSERT_MESSAGE = """
insert into messages (case_id, message_key, contact_id, sender, sender_address, sent_at,
                      html, text, truncated, capture_id)
values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
on conflict (case_id, message_key) do update set
    contact_id = excluded.contact_id, sender = excluded.sender,
    sender_address = excluded.sender_address, sent_at = excluded.sent_at,
    html = excluded.html, text = excluded.text, truncated = excluded.truncated,
    capture_id = excluded.capture_id
"""

_UPSERT_ATTACHMENT = """
insert into attachments (case_id, attachment_id, message_key, name, size, content_type)
values (?, ?, ?, ?, ?, ?)
on conflict (case_id, attachment_id) do update set
    message_key = excluded.message_key, name = excluded.name, size = excluded.size,
    content_type = excluded.content_type
"""

_CAPTURE_COLUMNS = ("sync_id", "case_id", "kind", "url", "fetched_at", "sha256", "path",
                    "content_type", "parse_status", "parse_error")
_INSERT_CAPTURE = (f"insert into captures ({', '.join(_CAPTURE_COLUMNS)}) "
                   f"values ({', '.join('?' * len(_CAPTURE_COLUMNS))})")


def _write(db, verb: str, row: dict, case_id: str | None = None) -> None:
    """One plain INSERT or UPDATE of a cases row (sqlite-utils' per-call table
    introspection cost more than the write itself on a 1,000-case sync)."""
    cols = list(row)
    if verb == "insert":
        db.execute(f"insert into cases ({', '.join(cols)}) values "
                   f"({', '.join('?' * len(cols))})", [row[c] for c in cols])
    else:
        db.execute(f"update cases set {', '.join(c + ' = ?' for c in cols)} where case_id = ?",
                   [row[c] for c in cols] + [case_id])


def _rendered_key(key: str, sender: str, sent_at: str, text: str | None) -> str:
    """The key this message has (or would have) when read from a rendered page: how a
    saved or rendered copy and the portal's own record of one message are matched."""
    if key.startswith("h:"):
        return key
    from scrapers.parse.records import html_message_key

    return html_message_key(sender, sent_at or "", text or "")


def save_case(db: sqlite_utils.Database, unit: CaseUnit, replay: bool = False) -> CaseOutcome:
    """Store one captured case, atomically. See the module docstring for the rules.
    ``replay`` (reparse): the captures rows exist already, and the sync's log (changes,
    progress) is history that is not written twice."""
    p = unit.parsed
    cid = unit.case_id
    at = unit.observed_at or (unit.captures[0].fetched_at if unit.captures else utcnow())
    out = CaseOutcome(cid)
    with db.atomic():
        _insert_captures(db, unit.sync_id, unit.captures, replay)
        main_cap = next((c.id for c in unit.captures
                         if c.kind in ("viewcase", "html", "import")), None)
        old = next(db.query("select * from cases where case_id = ?", [cid]), None)
        status = p.get("status") or (unit.listed or {}).get("status") or (old or {}).get("status")
        tags = p.get("tags") or []
        row = {
            "subject": p.get("subject") or (unit.listed or {}).get("subject") or "",
            "status": status,
            "category": p.get("category") or (tags[0] if tags else None),
            "tags": json.dumps(tags, ensure_ascii=False),
            "created_at": p.get("created_at") or (unit.listed or {}).get("created_at"),
            "primary_email": p.get("primary_email"),
            "can_edit": p.get("can_edit"), "can_reopen": p.get("can_reopen"),
            "escalated": p.get("escalated"),
            "last_captured_at": at, "last_error": None, "source": unit.source,
        }
        if unit.portal:
            row["portal"] = unit.portal
        day_dates = (unit.listed or {}).get("dates") == "day"  # listed by the rendered lobby
        if unit.listed is not None:
            if not day_dates:
                row["last_amazon_reply_at"] = unit.listed.get("last_amazon_reply_at")
            row["in_lobby"] = 1
            row["last_listed_at"] = at
        if old is None:
            out.new_case = True
            row.update({"case_id": cid, "first_seen_at": at,
                        "in_lobby": row.get("in_lobby", 1 if unit.source != "import" else 0)})
            _write(db, "insert", row)
        else:
            _write(db, "update", row, cid)

        existing = {r["message_key"]: r for r in db.query(
            "select message_key, sender, sent_at, text, truncated from messages "
            "where case_id = ?", [cid])}
        incoming = p.get("messages") or []
        # Rendered copies (h: keys) and records with ids only meet after an import or an
        # HTML fallback; only then is the matching worth computing.
        by_rendered = {}
        if any(k.startswith("h:") for k in existing) or \
                any(m["message_key"].startswith("h:") for m in incoming):
            by_rendered = {_rendered_key(k, r["sender"], r["sent_at"], r["text"]): k
                           for k, r in existing.items()}
        new_amazon = 0
        msg_rows, att_rows = [], []
        # Pages list newest first; insert oldest first so rowid order is thread order.
        for m in reversed(incoming):
            key = m["message_key"]
            html, text, truncated = m.get("html"), m.get("text"), bool(m.get("truncated"))
            if key in unit.full_texts:
                html, text = unit.full_texts[key]
                truncated = False
            prev = existing.get(key)
            if prev is None:
                twin = by_rendered.get(_rendered_key(key, m["sender"], m["sent_at"], text)) \
                    if by_rendered else None
                if twin is not None and key.startswith("h:") and not twin.startswith("h:"):
                    continue  # a rendered copy of a message already stored with its id
                if twin is not None and twin.startswith("h:") and not key.startswith("h:"):
                    db.execute("delete from attachments where case_id = ? and message_key = ?",
                               [cid, twin])
                    db.execute("delete from messages where case_id = ? and message_key = ?",
                               [cid, twin])
                elif m["sender"] == "amazon":
                    new_amazon += 1
            elif truncated and not prev["truncated"]:
                continue  # never replace a stored full text by the portal's preview
            elif (not truncated and prev["text"] == text and prev["sent_at"] == m["sent_at"]
                  and not prev["truncated"] and not m.get("attachments")):
                continue  # unchanged: spare the row (and the FTS index) a rewrite
            msg_rows.append((cid, key, m.get("contact_id"), m["sender"],
                             m.get("sender_address"), m["sent_at"], html, text,
                             int(truncated), main_cap))
            for i, a in enumerate(m.get("attachments") or []):
                aid = a.get("attachment_id") or f"{key}#{i}:{a.get('name')}"
                att_rows.append((cid, aid, key, a.get("name"), a.get("size"),
                                 a.get("content_type")))
        # Plain upserts rather than one sqlite-utils call per row: same table, same keys,
        # ten times faster on long threads (a full sync writes every message).
        if msg_rows:
            db.conn.executemany(_UPSERT_MESSAGE, msg_rows)
        if att_rows:
            db.conn.executemany(_UPSERT_ATTACHMENT, att_rows)

        captured, remaining = db.execute(
            "select count(*), coalesce(sum(truncated), 0) from messages where case_id = ?",
            [cid]).fetchone()
        total = p.get("total_messages")
        if total is None:  # a rendered page that did not show the whole thread
            total = max(captured, (old or {}).get("total_messages") or 0)
        out.fully_captured = bool(unit.complete and captured >= total and remaining == 0)
        extra = {"total_messages": total, "captured_messages": captured,
                 "fully_captured": int(out.fully_captured)}
        if day_dates or (unit.listed is None and not (old or {}).get("last_amazon_reply_at")):
            extra["last_amazon_reply_at"] = db.execute(
                "select max(sent_at) from messages where case_id = ? and sender = 'amazon'",
                [cid]).fetchone()[0]
        _write(db, "update", extra, cid)

        old_status = (old or {}).get("status")
        if old is None or old_status != status:
            db.execute("insert into status_history (case_id, status, previous_status, "
                       "observed_at, sync_id) values (?, ?, ?, ?, ?)",
                       [cid, status, old_status, at, unit.sync_id])
            if old is not None:
                out.status_change = (old_status, status)
        if old is not None:
            out.new_replies = new_amazon
        if not replay:
            _record_outcome(db, unit.sync_id, out, row["subject"], at)
            if unit.sync_id is not None:
                db.execute("update syncs set done = done + 1 where id = ?", [unit.sync_id])
    return out


def _record_outcome(db, sync_id, out: CaseOutcome, subject: str, at: str) -> None:
    rows = []
    if out.new_case:
        rows.append(("new_case", {"subject": subject}))
    if out.status_change:
        rows.append(("status_change", {"from": out.status_change[0], "to": out.status_change[1]}))
    if out.new_replies:
        rows.append(("new_reply", {"count": out.new_replies}))
    if rows:
        db.conn.executemany(
            "insert into changes (sync_id, case_id, kind, detail, at) values (?, ?, ?, ?, ?)",
            [(sync_id, out.case_id, kind, json.dumps(detail, ensure_ascii=False), at)
             for kind, detail in rows])


def record_failure(db: sqlite_utils.Database, sync_id: int | None, case_id: str | None,
                   error: str, captures: list[Archived]) -> None:
    """A case that could not be captured or parsed: keep its captures (for ``reparse``),
    note the error on the case if it is stored, log a ``failure`` change, count progress.
    Captures that parsed but were not applied are stored as ``pending``."""
    at = utcnow()
    for cap in captures:
        if cap.parse_status == "ok":
            cap.parse_status = "pending"
    with db.atomic():
        _insert_captures(db, sync_id, captures)
        db.execute("update cases set last_error = ?, fully_captured = 0 where case_id = ?",
                   [error, case_id])
        db["changes"].insert({"sync_id": sync_id, "case_id": case_id, "kind": "failure",
                              "detail": json.dumps({"error": error}, ensure_ascii=False),
                              "at": at})
        if sync_id is not None:
            db.execute("update syncs set done = done + 1 where id = ?", [sync_id])


def record_captures(db: sqlite_utils.Database, sync_id: int | None,
                    captures: list[Archived]) -> None:
    """Captures that belong to no case and were not applied (a listing page the parser
    could not read): kept, with their parse status, for ``reparse``."""
    with db.atomic():
        _insert_captures(db, sync_id, captures)


def save_attachment_file(db: sqlite_utils.Database, case_id: str, attachment_id: str,
                         capture: Archived, local_path: str, sync_id: int | None) -> None:
    with db.atomic():
        _insert_captures(db, sync_id, [capture])
        db["attachments"].update((case_id, attachment_id),
                                 {"local_path": local_path, "sha256": capture.sha256})
