"""Saving: the *save* step of capture -> parse -> save, with no network and no parsing.

:func:`record` writes a case unit in ONE transaction together with the captures it came
from (their rows and parse outcomes), the case, its messages (by the rules of
``companion.capture.merge``), attachments, status history, the ``changes`` it caused and
the run's progress counter, so a process killed at any moment leaves either the whole
case or none of it. Keys make re-runs idempotent: cases by ``case_id``, messages by
``(case_id, message_key)``, attachments by ``(case_id, attachment_id)``. Nothing is
deleted because the portal stopped showing it: a case missing from a complete listing
only gets ``in_lobby = 0``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from companion.capture import merge
from companion.capture import two_sources as caserow
from companion.capture.archive import Archived
from companion.capture.pipeline import (
    TRANSFERRED,
    CaseUnit,
    Listing,
    StoredCase,
    continued_in,
)
from companion.capture.runs import count_done
from companion.redact import redact
from companion.schema import utcnow

CLOSED_STATUSES = frozenset({"Resolved", "Closed"})


@dataclass
class CaseOutcome:
    case_id: str
    new_case: bool = False
    new_replies: int = 0
    status_change: tuple[str | None, str] | None = None
    fully_captured: bool = False


# -- reading what is stored ----------------------------------------------------------------

def stored_cases(db: sqlite_utils.Database) -> dict[str, dict]:
    """The fields a sync needs to decide which cases to open, for every stored case."""
    return {r["case_id"]: r for r in db.query(
        "select case_id, status, last_amazon_reply_at, fully_captured, last_captured_at, "
        "last_error, in_lobby, created_at from cases")}


def source_state(db: sqlite_utils.Database, source: str) -> dict[str, dict]:
    """What one source last said of every case it has seen (``case_sources``), with the
    case's own error flag: what that source's decisions compare against."""
    return {r["case_id"]: r for r in db.query(
        "select s.case_id, s.status, s.changed_at, s.fully_captured, s.seen_at, "
        "c.last_error from case_sources s join cases c on c.case_id = s.case_id "
        "where s.source = ?", [source])}


def stored_case(db: sqlite_utils.Database, case_id: str,
                source: str = "portal") -> StoredCase | None:
    """What a capture of this case by ``source`` needs to know of what is stored: the
    messages (by key and by identity) and whether that source read it whole."""
    row = db.execute("select fully_captured from cases where case_id = ?",
                     [case_id]).fetchone()
    if row is None:
        return None
    full = bool(row[0])
    if source != "portal":
        mine = db.execute("select fully_captured from case_sources where case_id = ? and "
                          "source = ?", [case_id, source]).fetchone()
        full = bool(mine and mine[0])
    rows = list(db.query("select message_key, truncated, channel, sender, sent_at, text "
                         "from messages where case_id = ?", [case_id]))
    return StoredCase(fully_captured=full, rows=rows,
                      message_keys={r["message_key"]: r["truncated"] for r in rows})


def missing_attachments(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """Attachments of a case whose bytes are not downloaded yet (ones the portal gave an
    id for: the rest cannot be asked for)."""
    return list(db.query(
        "select attachment_id, size from attachments where case_id = ? "
        "and local_path is null and attachment_id not like '%#%'", [case_id]))


# -- captures --------------------------------------------------------------------------------

_CAPTURE_COLUMNS = ("sync_id", "case_id", "kind", "url", "fetched_at", "sha256", "path",
                    "content_type", "parse_status", "parse_error", "params")
_INSERT_CAPTURE = (f"insert into captures ({', '.join(_CAPTURE_COLUMNS)}) "
                   f"values ({', '.join('?' * len(_CAPTURE_COLUMNS))})")


def _captures(db, sync_id, captures: list[Archived], replay: bool = False) -> None:
    """New captures get a row; replayed ones (``reparse``) only their new parse status."""
    for cap in captures:
        if replay and cap.id is not None:
            db.execute("update captures set parse_status = ?, parse_error = ? where id = ?",
                       [cap.parse_status, cap.parse_error, cap.id])
        else:
            row = cap.row(sync_id)
            cap.id = db.conn.execute(_INSERT_CAPTURE, [row[c] for c in _CAPTURE_COLUMNS]
                                     ).lastrowid


def record_captures(db: sqlite_utils.Database, sync_id: int | None,
                    captures: list[Archived], replay: bool = False) -> None:
    """Captures that were not applied to any case (a listing that could not be read):
    kept, with their parse status, for ``reparse``."""
    with db.atomic():
        _captures(db, sync_id, captures, replay)


# -- listing ---------------------------------------------------------------------------------

def record_listing(db: sqlite_utils.Database, sync_id: int | None, found: Listing,
                   replay: bool = False, observed_at: str | None = None) -> list[str]:
    """Mark listed cases as seen; when the listing is complete, cases missing from it
    get ``in_lobby = 0`` and a ``left_lobby`` change. Returns the ids that left."""
    observed_at = observed_at or (found.captures[0].fetched_at if found.captures
                                  else utcnow())
    left: list[str] = []
    if found.source != "portal":  # the Support API lists every case: no lobby to leave
        with db.atomic():
            _captures(db, sync_id, found.captures, replay)
            if sync_id is not None and not replay:
                db["syncs"].update(sync_id, {"listed": len(found.rows)})
        return left
    with db.atomic():
        _captures(db, sync_id, found.captures, replay)
        db.execute("create temp table if not exists _listed (case_id text primary key)")
        db.execute("delete from _listed")
        db.conn.executemany("insert or ignore into _listed values (?)",
                            [(i,) for i in found.rows])
        db.execute("update cases set in_lobby = 1, last_listed_at = ? "
                   "where case_id in (select case_id from _listed)", [observed_at])
        if found.complete:
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
            db["syncs"].update(sync_id, {"listed": len(found.rows)})
    return left


# -- one case --------------------------------------------------------------------------------

_MESSAGE_COLUMNS = ("case_id", "message_key", "contact_id", "sender", "sender_address",
                    "sent_at", "html", "text", "truncated", "capture_id", "channel", "turns",
                    "source")
# A case's messages are staged in a temporary table (no triggers there) and go into
# ``messages`` by one INSERT ... SELECT, so its FTS triggers buffer them all at once.
_STAGE_MESSAGES = (f"create temp table if not exists _incoming_messages "
                   f"({', '.join(_MESSAGE_COLUMNS)})")
_STAGE_MESSAGE = (f"insert into temp._incoming_messages values "
                  f"({', '.join('?' * len(_MESSAGE_COLUMNS))})")
_UPSERT_MESSAGES = f"""
insert into messages ({', '.join(_MESSAGE_COLUMNS)})
select {', '.join(_MESSAGE_COLUMNS)} from temp._incoming_messages where true order by rowid
on conflict (case_id, message_key) do update set
    contact_id = excluded.contact_id, sender = excluded.sender,
    sender_address = excluded.sender_address, sent_at = excluded.sent_at,
    html = excluded.html, text = excluded.text, truncated = excluded.truncated,
    capture_id = excluded.capture_id, channel = excluded.channel, turns = excluded.turns,
    source = excluded.source
"""
CHANNELS = ("email", "chat", "phone")

_UPSERT_ATTACHMENT = """
insert into attachments (case_id, attachment_id, message_key, name, size, content_type)
values (?, ?, ?, ?, ?, ?)
on conflict (case_id, attachment_id) do update set
    message_key = excluded.message_key, name = excluded.name, size = excluded.size,
    content_type = excluded.content_type
"""


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


def _messages(db, unit: CaseUnit, main_capture: int | None) -> int:
    """Apply the merge plan; returns how many Amazon messages are new."""
    cid = unit.case_id
    existing = {r["message_key"]: r for r in db.query(
        "select message_key, sender, sent_at, text, truncated, channel, source from messages "
        "where case_id = ?", [cid])}
    todo = merge.plan(existing, unit.parsed.get("messages") or [], unit.source)
    for key in todo.cleared:  # a better copy brings its own attachments
        db.execute("delete from attachments where case_id = ? and message_key = ?", [cid, key])
    for key in todo.replaced:
        db.execute("delete from attachments where case_id = ? and message_key = ?", [cid, key])
        db.execute("delete from messages where case_id = ? and message_key = ?", [cid, key])
    msg_rows, att_rows = [], []
    for m in todo.rows:
        key = m["message_key"]
        turns = m.get("turns")
        msg_rows.append((cid, key, m.get("contact_id"), m["sender"], m.get("sender_address"),
                         m["sent_at"], m.get("html"), m.get("text"),
                         int(bool(m.get("truncated"))), main_capture,
                         m.get("channel") or "email",
                         json.dumps(turns, ensure_ascii=False) if turns else None,
                         unit.source))
        for i, a in enumerate(m.get("attachments") or []):
            aid = a.get("attachment_id") or f"{key}#{i}:{a.get('name')}"
            att_rows.append((cid, aid, key, a.get("name"), a.get("size"), a.get("content_type")))
    if msg_rows:
        db.execute(_STAGE_MESSAGES)
        db.conn.executemany(_STAGE_MESSAGE, msg_rows)
        db.execute(_UPSERT_MESSAGES)
        db.execute("delete from temp._incoming_messages")
    if att_rows:
        db.conn.executemany(_UPSERT_ATTACHMENT, att_rows)
    return todo.new_amazon


def record(db: sqlite_utils.Database, unit: CaseUnit, replay: bool = False) -> CaseOutcome:
    """Store one captured case, atomically. See the module docstring for the rules.
    ``replay`` (reparse): the captures rows exist already, and the run's log (changes,
    progress) is history that is not written twice.

    The cases row is written at most twice (inserted before its messages, which refer to
    it, and updated once with what they add up to) and the messages in one statement:
    every statement that writes an FTS-indexed table makes SQLite's FTS5 write out what
    the statement before it buffered, so a statement per row cost more than all else a
    full sync does."""
    cid = unit.case_id
    at = unit.observed_at or (unit.captures[0].fetched_at if unit.captures else utcnow())
    out = CaseOutcome(cid)
    with db.atomic():
        _captures(db, unit.sync_id, unit.captures, replay)
        main_cap = next((c.id for c in unit.captures
                         if c.kind in ("viewcase", "html", "import")), None)
        old = next(db.query("select * from cases where case_id = ?", [cid]), None)
        row = caserow.case_row(unit, old, at)
        subject = row["subject"]
        if old is None:
            out.new_case = True
            row.update({"case_id": cid, "first_seen_at": at,
                        "in_lobby": row.get("in_lobby", 1 if unit.source != "import" else 0)})
            _write(db, "insert", row)
            row = {}
        new_amazon = _messages(db, unit, main_cap)
        caserow.link_downloads(db, unit)
        totals = _thread_totals(db, unit, old)
        out.fully_captured = bool(totals["fully_captured"])
        caserow.note_source(db, unit, at, out.fully_captured)
        caserow.save_appointments(db, unit, at)
        status = caserow.status_now(db, cid)
        _write(db, "update", {**row, **totals, "status": status,
                              **_transfer_links(db, cid, status)}, cid)
        _status(db, unit, old, status, at, out)
        if old is not None:
            out.new_replies = new_amazon
        if not replay:
            _record_outcome(db, unit.sync_id, out, subject, at)
            count_done(db, unit.sync_id)
    return out


def _thread_totals(db, unit: CaseUnit, old: dict | None) -> dict:
    """Counts, ``fully_captured`` and (when no listing said) the last Amazon reply."""
    cid = unit.case_id
    captured, remaining = db.execute(
        "select count(*), coalesce(sum(truncated), 0) from messages where case_id = ?",
        [cid]).fetchone()
    total = unit.parsed.get("total_messages")
    if total is None:  # a rendered page short of its thread, or a source without counts
        total = max(captured, (old or {}).get("total_messages") or 0)
    full = bool(unit.complete and captured >= total and remaining == 0)
    extra = {"total_messages": total, "captured_messages": captured,
             "fully_captured": int(full)}
    day_dates = (unit.listed or {}).get("dates") == "day"
    if day_dates or unit.source == "spapi" or (
            unit.listed is None and not (old or {}).get("last_amazon_reply_at")):
        extra["last_amazon_reply_at"] = db.execute(
            "select max(sent_at) from messages where case_id = ? and sender = 'amazon'",
            [cid]).fetchone()[0]
    return extra


def _transfer_links(db, cid: str, status: str | None) -> dict:
    """Both ends of a transfer: this case's ``continued_in`` (from Amazon's message), and
    ``continues`` on whichever end is stored (the other end may come in a later sync).
    Returns this case's own columns; the other end's is written here."""
    texts = [r[0] for r in db.execute(
        "select text from messages where case_id = ? and sender = 'amazon' "
        "order by sent_at desc, rowid desc limit 5", [cid])] if status in TRANSFERRED else []
    target = continued_in(status, texts)
    mine = {"continued_in": target}
    if target == cid:
        mine["continues"] = cid
    elif target:
        db.execute("update cases set continues = ? where case_id = ?", [cid, target])
    source = db.execute("select case_id from cases where continued_in = ? and case_id != ?",
                        [cid, cid]).fetchone()
    if source:
        mine["continues"] = source[0]
    return mine


def _status(db, unit: CaseUnit, old: dict | None, status: str, at: str,
            out: CaseOutcome) -> None:
    old_status = (old or {}).get("status")
    if old is None or old_status != status:
        db.execute("insert into status_history (case_id, status, previous_status, "
                   "observed_at, sync_id) values (?, ?, ?, ?, ?)",
                   [unit.case_id, status, old_status, at, unit.sync_id])
        if old is not None:
            out.status_change = (old_status, status)


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
    error = redact(error)
    for cap in captures:
        if cap.parse_status == "ok":
            cap.parse_status = "pending"
    with db.atomic():
        _captures(db, sync_id, captures)
        db.execute("update cases set last_error = ?, fully_captured = 0 where case_id = ?",
                   [error, case_id])
        db["changes"].insert({"sync_id": sync_id, "case_id": case_id, "kind": "failure",
                              "detail": json.dumps({"error": error}, ensure_ascii=False),
                              "at": utcnow()})
        count_done(db, sync_id)


def save_attachment_file(db: sqlite_utils.Database, case_id: str, attachment_id: str,
                         capture: Archived, sync_id: int | None) -> None:
    with db.atomic():
        _captures(db, sync_id, [capture])
        db["attachments"].update((case_id, attachment_id),
                                 {"local_path": "captures/" + capture.path,
                                  "sha256": capture.sha256})
