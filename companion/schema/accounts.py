"""The tables of the watch and its notifications (25), in each account's own database:
every notification sent, once per event, read or unread; and the watch's state of the
account (``companion.watch``, ``companion.notify``)."""

from __future__ import annotations

import sqlite_utils


def v25(db: sqlite_utils.Database) -> None:
    """Notifications (one row per event ``key``; ``read`` for the UI's badge) and the
    watch's per-account state: when it last synced and why it stopped."""
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
