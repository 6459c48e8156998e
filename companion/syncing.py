"""Running a sync of one account, the one way every caller does it: ``caselog sync``,
``caselog watch``, and the UI's Sync now and Sync all (which start ``caselog sync`` as a
process: Playwright never runs inside a web request).

Around the capture itself (``companion.capture.sync``, wrapped, not repeated) this owns:
the account's sync lock (one sync at a time per account, refused at once with the
seller's words), the account's own session, credentials and capture archive, the run's
``syncs`` row, the refresh of what the sync changed (``companion.queue.derive``), and the
notifications (stored for the UI's badge; sent through the channels only when the
caller asks, as the watch does). A caller only chooses the source and how to report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import sqlite_utils

from companion import accounts, folders
from companion.accounts import Busy
from companion.capture import sync as capture
from companion.capture.archive import Archive
from companion.capture.sync import SyncOptions, SyncResult
from companion.folders import Account
from companion.notify import deliver
from companion.notify.settings import Settings
from companion.queue import derive
from companion.schema import open_db

__all__ = ["Busy", "OtherAccountsDatabase", "Synced", "SyncOptions", "run_sync", "touched"]

FINISHED = ("ok", "partial")


@dataclass
class Synced:
    """What one sync did: the capture's result, its summary, the cases refreshed, and the
    notifications sent (empty unless the caller asked for them to be sent)."""

    account: Account
    result: SyncResult
    summary: dict
    refreshed: list[str] = field(default_factory=list)
    notified: list[dict] = field(default_factory=list)
    stored_events: int = 0


def touched(summary: dict) -> list[str]:
    """The cases a sync changed: new, with a new Amazon reply, or with a new status."""
    return sorted({*summary["new_cases"], *summary["new_replies"],
                   *(c["case_id"] for c in summary["status_changes"])})


async def run_sync(account: Account, opts: SyncOptions, *,
                   db: sqlite_utils.Database | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   send: Settings | None = None,
                   locked: Callable[[], None] | None = None) -> Synced:
    """Sync ``account`` from the source ``opts`` names. ``db`` is the account's database
    (opened from the account when not given); ``send``: the notification settings to send
    the sync's news with (the watch), else they are only stored (a person is there to
    read the result); ``locked``: called once the lock is held, before the source is
    opened (the watch notes its round there). Raises ``Busy`` when another process syncs
    the account; never raises for anything the source did (that is the result's state).
    """
    own_db = db is None
    if own_db:
        db = open_db(account.db_path)
    else:
        _same_account(account, db)
    try:
        with accounts.sync_lock(account):
            if locked is not None:
                locked()
            opts = replace(opts, account=account)
            result = await capture.sync(db, opts, archive=Archive(account.captures),
                                        progress=progress)
            return await _after(account, db, result, send)
    finally:
        if own_db:
            db.close()


class OtherAccountsDatabase(ValueError):
    """The database given is another account's: its cases would meet this account's
    session, captures and notifications."""


def _same_account(account: Account, db: sqlite_utils.Database) -> None:
    path = next((r[2] for r in db.execute("pragma database_list") if r[1] == "main"), "")
    owner = folders.owner_of(path) if path else None
    if owner is not None and owner != account.name:
        raise OtherAccountsDatabase(
            f"{path} is the database of the account {owner!r}, not of {account.name!r}: "
            f"sync it with --account {owner}, or leave out --db")


async def _after(account: Account, db: sqlite_utils.Database, result: SyncResult,
                 send: Settings | None) -> Synced:
    summary = result.summary()
    done = Synced(account, result, summary, touched(summary))
    if result.sync_id is not None:
        # A call-back Amazon scheduled or moved changes the queue though the case brought
        # no message or status: the Support API lists it with the case.
        done.refreshed = sorted({*done.refreshed, *(r[0] for r in db.execute(
            "select distinct a.case_id from appointments a join syncs s on s.id = ? "
            "where a.seen_at >= s.started_at", [result.sync_id]))})
    if done.refreshed:
        # What follows from the sync is read with the account's own settings files
        # (replies.toml, its checklist library), which derive finds through the account
        # being read.
        with folders.use_account(account.name):
            derive.refresh(db, done.refreshed)
    if result.sync_id is None or result.state not in FINISHED:
        return done
    if send is not None:
        done.notified = await deliver.after_sync(db, account.name, result.sync_id, send,
                                                 acct=account)
    else:
        done.stored_events = deliver.record_sync(db, account.name, result.sync_id,
                                                 acct=account)
    return done
