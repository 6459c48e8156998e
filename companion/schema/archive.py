"""The archive's tables: cases, messages, status history, captures, syncs, and what
the second source and portal v2 added to them (migrations 1, 3, 6-9)."""

from __future__ import annotations

import sqlite_utils


def v1(db: sqlite_utils.Database) -> None:
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


def v3(db: sqlite_utils.Database) -> None:
    """Reminders read each open case's last Amazon and last seller message: a covering
    index makes that one seek per case instead of a walk through its thread."""
    db["messages"].create_index(["case_id", "sender", "sent_at"], if_not_exists=True)


def v6(db: sqlite_utils.Database) -> None:
    """What each capture asked for (page, date window, page token): a listing made of
    several queries (narrowed by creation date past the portal's 1,000-result cap) can
    only be judged complete again by ``caselog reparse`` if it knows which query each
    page answered."""
    if "params" not in db["captures"].columns_dict:
        db["captures"].add_column("params", str)


def v7(db: sqlite_utils.Database) -> None:
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


def v8(db: sqlite_utils.Database) -> None:
    """The timeline's channel filter: chats and calls are a few in every hundred
    messages, so finding a page of them newest first walks this index instead of every
    message (a few ms on 100,000 messages, against 50+ ms with another filter beside)."""
    db["messages"].create_index(["channel", "sent_at"], if_not_exists=True)


def v9(db: sqlite_utils.Database) -> None:
    """Two sources, one archive: which source wrote each message (the more detailed copy
    of a message is kept, see ``companion.capture.merge``) and which one each run used."""
    if "source" not in db["messages"].columns_dict:
        db["messages"].add_column("source", str)  # json | spapi | html | import
    if "source" not in db["syncs"].columns_dict:
        db["syncs"].add_column("source", str)  # portal | spapi
