"""The declared database schema: every table, key, index, FTS table and view in one place,
applied by ``ensure_schema`` (safe to run twice) and changed only by numbered migrations.

Times are ISO 8601 UTC strings ending in ``Z`` so that they sort as text and export as is.
Nothing here deletes a case: cases that left the portal's lobby keep ``in_lobby = 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def open_db(path: str | Path, create: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) a caselog database with the pragmas every user needs:
    WAL so the UI can read while a sync writes, and a busy timeout instead of errors.

    The file is created owner-only before SQLite opens it (SQLite gives its ``-wal`` and
    ``-shm`` files the database's own mode), and a looser existing one is tightened.
    ``create=False`` raises ``FileNotFoundError`` instead of making an empty database
    (commands that only read, such as ``caselog export``)."""
    from companion.home import PRIVATE_FILE, open_private, tighten

    path = Path(path)
    if not path.exists():
        if not create:
            raise FileNotFoundError(str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        open_private(path, "ab").close()
    for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        tighten(f, PRIVATE_FILE)
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=10000")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA synchronous=NORMAL")
    ensure_schema(db)
    return db


def _v1(db: sqlite_utils.Database) -> None:
    """Cases, messages, attachments, status history, syncs, changes, captures, FTS."""
    db["cases"].create(
        {
            "case_id": str,          # 11 digits, as the portal gives it
            "portal": str,           # base URL the case was captured from
            "subject": str,
            "status": str,           # API status value (PendingAmazonAction, ...)
            "category": str,         # first case tag
            "tags": str,             # JSON list of all case tags
            "created_at": str,
            "last_amazon_reply_at": str,   # from the lobby list; None when never
            "primary_email": str,
            "can_edit": int,
            "can_reopen": int,
            "escalated": int,
            "total_messages": int,   # what the portal says the thread holds
            "captured_messages": int,
            "fully_captured": int,   # 1 when every message and full text is stored
            "in_lobby": int,         # 0 once the case stopped appearing in the list
            "first_seen_at": str,
            "last_listed_at": str,
            "last_captured_at": str,
            "last_error": str,       # last capture/parse failure, None when healthy
            "source": str,           # json | html | import
        },
        pk="case_id",
        not_null={"subject", "status"},
        if_not_exists=True,
    )
    db["messages"].create(
        {
            "case_id": str,
            "message_key": str,      # portal contactId, or "h:<sha1>" when the capture has none
            "contact_id": str,
            "sender": str,           # amazon | seller
            "sender_address": str,
            "sent_at": str,
            "html": str,             # message HTML exactly as the portal served it (unsafe)
            "text": str,             # plain text: markup removed, entities decoded, breaks kept
            "truncated": int,        # 1 while only the portal's truncated preview is stored
            "capture_id": int,
        },
        pk=("case_id", "message_key"),
        foreign_keys=[("case_id", "cases", "case_id")],
        if_not_exists=True,
    )
    db["attachments"].create(
        {
            "case_id": str,
            "attachment_id": str,
            "message_key": str,
            "name": str,
            "size": int,
            "content_type": str,
            "local_path": str,       # set when downloaded (relative to CASELOG_HOME)
            "sha256": str,
        },
        pk=("case_id", "attachment_id"),
        foreign_keys=[("case_id", "cases", "case_id")],
        if_not_exists=True,
    )
    db["status_history"].create(
        {
            "id": int,
            "case_id": str,
            "status": str,
            "previous_status": str,
            "observed_at": str,      # when caselog saw it, not when the portal changed it
            "sync_id": int,
        },
        pk="id",
        foreign_keys=[("case_id", "cases", "case_id")],
        if_not_exists=True,
    )
    db["syncs"].create(
        {
            "id": int,
            "portal": str,
            "mode": str,             # full | incremental | import | reparse
            "state": str,            # running | ok | partial | auth | robot | failed | interrupted
            "started_at": str,
            "finished_at": str,
            "pid": int,
            "total": int,            # cases to capture in this run (progress bar)
            "done": int,
            "listed": int,
            "requests": int,
            "error": str,
            "summary": str,          # JSON summary, as printed by sync --json
        },
        pk="id",
        if_not_exists=True,
    )
    db["changes"].create(
        {
            "id": int,
            "sync_id": int,
            "case_id": str,
            "kind": str,             # new_case | new_reply | status_change | failure | left_lobby
            "detail": str,           # JSON
            "at": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db["captures"].create(
        {
            "id": int,
            "sync_id": int,
            "case_id": str,
            "kind": str,             # search | viewcase | message | html | import
            "url": str,
            "fetched_at": str,
            "sha256": str,
            "path": str,             # relative to the archive dir, content-addressed
            "content_type": str,
            "parse_status": str,     # ok | error | pending
            "parse_error": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db["messages"].create_index(["case_id", "sent_at"], if_not_exists=True)
    db["messages"].create_index(["sent_at"], if_not_exists=True)
    db["status_history"].create_index(["case_id", "observed_at"], if_not_exists=True)
    db["changes"].create_index(["sync_id"], if_not_exists=True)
    db["captures"].create_index(["case_id"], if_not_exists=True)
    db["cases"].create_index(["status"], if_not_exists=True)
    db["cases"].create_index(["created_at"], if_not_exists=True)
    if not db["messages_fts"].exists():
        db["messages"].enable_fts(["text"], create_triggers=True, tokenize="unicode61")
    if not db["cases_fts"].exists():
        db["cases"].enable_fts(["subject"], create_triggers=True, tokenize="unicode61")


def _v2(db: sqlite_utils.Database) -> None:
    """Documented replies: detected asks, per-case checklists, evidence files, drafts with
    their history, and the person's acts on drafts (``draft_events``, for the timeline)."""
    db["case_asks"].create(
        {
            "case_id": str,
            "message_key": str,      # the Amazon message that asked
            "position": int,         # order of the ask within that message
            "kind": str,             # companion.asks kind: invoices, plan_of_action, ...
            "label": str,
            "sentence": str,         # the exact sentence that asked
            "sent_at": str,
        },
        pk=("case_id", "message_key", "position"),
        foreign_keys=[("case_id", "cases", "case_id")],
        if_not_exists=True,
    )
    db["asks_scanned"].create(
        {"case_id": str, "message_key": str, "text_sha1": str, "scanned_at": str},
        pk=("case_id", "message_key"),
        if_not_exists=True,
    )
    db["checklist_items"].create(
        {
            "id": int,
            "case_id": str,
            "key": str,              # "<checklist>:<item>" (or "user:<n>"), unique per case
            "checklist": str,
            "checklist_title": str,
            "text": str,
            "help": str,
            "source": str,           # category | ask | user
            "ask_kind": str,         # the ask that added it, None for category items
            "sentence": str,         # Amazon's sentence that asked, None otherwise
            "message_key": str,
            "position": int,
            "done": int,
            "note": str,
            "done_at": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("case_id", "cases", "case_id")],
        if_not_exists=True,
    )
    db["checklist_items"].create_index(["case_id", "key"], unique=True, if_not_exists=True)
    db["evidence"].create(
        {
            "id": int,
            "case_id": str,
            "item_id": int,          # checklist item it documents, None when general
            "name": str,             # safe display name (never used as a path)
            "sha256": str,
            "size": int,
            "content_type": str,
            "path": str,             # relative to CASELOG_HOME: evidence/<h[:2]>/<h>
            "added_at": str,
        },
        pk="id",
        foreign_keys=[("case_id", "cases", "case_id")],
        if_not_exists=True,
    )
    db["evidence"].create_index(["case_id"], if_not_exists=True)
    db["evidence"].create_index(["sha256"], if_not_exists=True)
    db["drafts"].create(
        {
            "id": int,
            "case_id": str,
            "situation": str,        # asked | follow_up | reopen | appeal | reply
            "template": str,
            "body": str,
            "state": str,            # draft | ready | sent
            "revision": int,
            "created_at": str,
            "updated_at": str,
            "ready_at": str,
            "sent_at": str,
        },
        pk="id",
        foreign_keys=[("case_id", "cases", "case_id")],
        if_not_exists=True,
    )
    db["drafts"].create_index(["case_id", "state"], if_not_exists=True)
    db["draft_revisions"].create(
        {
            "id": int,
            "draft_id": int,
            "case_id": str,
            "revision": int,
            "body": str,
            "source": str,           # generated | edited
            "saved_at": str,
        },
        pk="id",
        foreign_keys=[("draft_id", "drafts", "id")],
        if_not_exists=True,
    )
    db["draft_events"].create(
        {
            "id": int,
            "case_id": str,
            "draft_id": int,
            "kind": str,             # draft_ready | draft_sent
            "at": str,
            "detail": str,           # JSON: situation, revision, excerpt
        },
        pk="id",
        foreign_keys=[("case_id", "cases", "case_id")],
        if_not_exists=True,
    )
    db["draft_events"].create_index(["at"], if_not_exists=True)
    db["draft_events"].create_index(["case_id", "at"], if_not_exists=True)


def _v3(db: sqlite_utils.Database) -> None:
    """Reminders read each open case's last Amazon and last seller message: a covering
    index makes that one seek per case instead of a walk through its thread."""
    db["messages"].create_index(["case_id", "sender", "sent_at"], if_not_exists=True)


def _v4(db: sqlite_utils.Database) -> None:
    """The seller's own work (asks cache, checklist items, evidence, drafts, draft events)
    must outlive ``caselog reparse``, which deletes and rebuilds ``cases``: drop their
    foreign keys to ``cases`` so that delete is allowed and nothing of theirs is lost."""
    for table in ("case_asks", "checklist_items", "evidence", "drafts", "draft_events"):
        if any(fk.other_table == "cases" for fk in db[table].foreign_keys):
            db[table].transform(drop_foreign_keys=["case_id"])


def _v5(db: sqlite_utils.Database) -> None:
    """Search should find "invoices" when a seller types "invoice", and "Produktsicherheit"
    with or without umlauts typed right: rebuild both FTS tables with the Porter stemmer
    over unicode61 with diacritics folded. The rebuild reads the stored text, so nothing
    has to be synced again."""
    for table, columns in (("messages", ["text"]), ("cases", ["subject"])):
        if db[f"{table}_fts"].exists():
            db[table].disable_fts()
        db[table].enable_fts(columns, create_triggers=True,
                             tokenize="porter unicode61 remove_diacritics 2")


def _v6(db: sqlite_utils.Database) -> None:
    """What each capture asked for (page, date window, page token): a listing made of
    several queries (narrowed by creation date past the portal's 1,000-result cap) can
    only be judged complete again by ``caselog reparse`` if it knows which query each
    page answered."""
    if "params" not in db["captures"].columns_dict:
        db["captures"].add_column("params", str)


def _v7(db: sqlite_utils.Database) -> None:
    """Version 2 of the portal and the second source: each message's channel (email, chat
    or phone call; old rows are e-mails) and a chat's turns; the case a transferred case
    continues in (and the one it continues); what each source last said of a case (the
    portal's six statuses, the Support API's four, its change signal) so both are kept
    as given; Amazon's scheduled call-backs."""
    if "channel" not in db["messages"].columns_dict:
        db["messages"].add_column("channel", str)
        db["messages"].add_column("turns", str)  # JSON [{"at", "name", "text"}] (chats)
    for column in ("continued_in", "continues"):
        if column not in db["cases"].columns_dict:
            db["cases"].add_column(column, str)
    db["case_sources"].create(
        {
            "case_id": str,
            "source": str,           # portal | spapi
            "status": str,           # the status as this source gives it
            "changed_at": str,       # its change signal (SP-API lastUpdatedDate)
            "seen_at": str,          # when caselog last read the case from it
            "fully_captured": int,
        },
        pk=("case_id", "source"),
        if_not_exists=True,
    )
    db["appointments"].create(
        {
            "case_id": str,
            "appointment_id": str,
            "status": str,           # SCHEDULED | CANCELLED | MISSED | COMPLETED
            "earliest": str,
            "latest": str,
            "phone": str,
            "seen_at": str,
        },
        pk=("case_id", "appointment_id"),
        if_not_exists=True,
    )
    db["appointments"].create_index(["status", "earliest"], if_not_exists=True)


def _v8(db: sqlite_utils.Database) -> None:
    """Two sources, one archive: which source wrote each message (the more detailed copy
    of a message is kept, see ``companion.capture.merge``) and which one each run used."""
    if "source" not in db["messages"].columns_dict:
        db["messages"].add_column("source", str)  # json | spapi | html | import
    if "source" not in db["syncs"].columns_dict:
        db["syncs"].add_column("source", str)  # portal | spapi


def _v9(db: sqlite_utils.Database) -> None:
    """The watch and its notifications (``companion.notify``, ``companion.watch``): every
    notification sent, once per event (``key``), read or unread, for the UI's badge; and
    the watch's own state of the account: when it last synced and why it stopped."""
    db["notifications"].create(
        {"id": int, "account": str, "case_id": str, "kind": str,  # reply | status |
         "key": str, "title": str, "body": str, "at": str,        # transfer | deadline |
         "read": int, "sync_id": int, "channels": str},           # stopped
        pk="id", not_null={"key", "kind", "title", "at"}, defaults={"read": 0},
        if_not_exists=True)
    db["notifications"].create_index(["key"], unique=True, if_not_exists=True)
    db["notifications"].create_index(["read", "at"], if_not_exists=True)
    db["watch_state"].create(
        {"account": str, "last_started_at": str, "last_sync_id": int, "stopped_state": str,
         "stopped_message": str, "stopped_at": str},
        pk="account", if_not_exists=True)


# Numbered migrations, applied in order and recorded in the ``migrations`` table.
# Append new ones; never edit one that has shipped.
MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = [
    (1, "initial schema", _v1),
    (2, "documented replies: asks, checklists, evidence, drafts", _v2),
    (3, "index for reminders: messages by case, sender, time", _v3),
    (4, "replies tables survive reparse: no foreign keys to cases", _v4),
    (5, "full-text search with stemming and folded diacritics", _v5),
    (6, "captures remember what they asked for", _v6),
    (7, "channels, transfers, per-source status, call-backs", _v7),
    (8, "which source wrote each message and ran each sync", _v8),
    (9, "notifications and the watch's state", _v9),
]


def ensure_schema(db: sqlite_utils.Database) -> None:
    db["migrations"].create(
        {"number": int, "name": str, "applied_at": str}, pk="number", if_not_exists=True
    )
    done = {row["number"] for row in db["migrations"].rows}
    for number, name, fn in MIGRATIONS:
        if number in done:
            continue
        with db.conn:
            fn(db)
            db["migrations"].insert({"number": number, "name": name, "applied_at": utcnow()})
