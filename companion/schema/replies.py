"""The tables of the seller's own work: asks, checklists, evidence, drafts (2, 4), the
queue's marks and looks (21) and prepared new cases (23). None has a foreign key to
``cases``: ``caselog reparse`` rebuilds the archive's tables, never these."""

from __future__ import annotations

import sqlite_utils


def v2(db: sqlite_utils.Database) -> None:
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


def v4(db: sqlite_utils.Database) -> None:
    """The seller's own work (asks cache, checklist items, evidence, drafts, draft events)
    must outlive ``caselog reparse``, which deletes and rebuilds ``cases``: drop their
    foreign keys to ``cases`` so that delete is allowed and nothing of theirs is lost."""
    for table in ("case_asks", "checklist_items", "evidence", "drafts", "draft_events"):
        if any(fk.other_table == "cases" for fk in db[table].foreign_keys):
            db[table].transform(drop_foreign_keys=["case_id"])


def v21(db: sqlite_utils.Database) -> None:
    """The seller's day on home: the person's snoozes and "nothing to do" marks on queue
    rows (kept when undone, so the timeline can say what was done and undone), and each
    time the person said they had seen home (what changed is counted from the last one).
    Like the other tables of the person's own work, no foreign keys to ``cases``
    (``caselog reparse`` rebuilds it)."""
    db["queue_marks"].create(
        {
            "id": int,
            "case_id": str,
            "kind": str,             # snooze | nothing
            "until": str,            # snooze: back at this instant (ISO UTC); None: no date
            "until_amazon": int,     # 1: ends when Amazon writes after ``amazon_at``
            "amazon_at": str,        # Amazon's last message when the mark was made
            "status": str,           # the case's status then ("nothing" ends when it moves)
            "wanted": str,           # the queue row's kind then: answer, reopen, ...
            "label": str,            # and its words, for the timeline
            "at": str,
            "undone_at": str,        # None while it stands
        },
        pk="id",
        if_not_exists=True,
    )
    db["queue_marks"].create_index(["case_id", "id"], if_not_exists=True)
    db["queue_marks"].create_index(["at"], if_not_exists=True)
    db["queue_marks"].create_index(["undone_at"], if_not_exists=True)
    db["home_looks"].create(
        {
            "id": int,
            "at": str,               # when the person pressed "Mark as seen"
            "change_id": int,        # the newest ``changes`` row the page had shown
        },
        pk="id",
        if_not_exists=True,
    )


def v23(db: sqlite_utils.Database) -> None:
    """New cases prepared before they exist in Seller Central (``replies.prepared``):
    topic, subject and description with every revision, the topic's checklist, files
    (``path`` relative to CASELOG_HOME, like ``evidence``), and the case it was attached
    to once a sync brought it. No foreign key to ``cases`` (migration 4's reason)."""
    owned = {"foreign_keys": [("prepared_id", "prepared_cases", "id")], "pk": "id",
             "if_not_exists": True}
    db["prepared_cases"].create(
        {"id": int, "topic": str, "topic_title": str, "category": str, "subject": str,
         "description": str, "revision": int,
         "state": str,  # draft | ready | attached | discarded
         "case_id": str, "created_at": str, "updated_at": str, "ready_at": str,
         "attached_at": str}, pk="id", if_not_exists=True)
    db["prepared_revisions"].create(
        {"id": int, "prepared_id": int, "revision": int, "subject": str, "description": str,
         "source": str, "saved_at": str}, **owned)  # source: generated | edited
    db["prepared_items"].create(
        {"id": int, "prepared_id": int, "key": str, "text": str, "help": str,
         "position": int, "done": int, "done_at": str}, **owned)
    db["prepared_evidence"].create(
        {"id": int, "prepared_id": int, "item_key": str, "name": str, "sha256": str,
         "size": int, "content_type": str, "path": str, "added_at": str}, **owned)
    for table, cols, unique in (("prepared_cases", ["state"], False),
                                ("prepared_cases", ["case_id"], False),
                                ("prepared_revisions", ["prepared_id", "revision"], False),
                                ("prepared_items", ["prepared_id", "key"], True),
                                ("prepared_evidence", ["prepared_id"], False),
                                ("prepared_evidence", ["sha256"], False)):
        db[table].create_index(cols, unique=unique, if_not_exists=True)
