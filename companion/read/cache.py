"""Process-wide memos of read models that are dear to compute and change only when the
data under them does (reminders of every open case, related cases, checklist progress).

Every memo is keyed by the database it read (its file path), so two databases served or
tested in one process never see each other's results, and by a cheap fingerprint of the
data it depends on, so a change shows at the next read. Entries are replaced whole,
never changed in place: the UI server is threaded and another request may be reading
the previous value.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import sqlite_utils

T = TypeVar("T")


def db_key(db: sqlite_utils.Database) -> str:
    """Which database this connection reads: its main file, or the connection itself
    for an in-memory database (which no other connection can see anyway). Asked once
    per connection: a list page asks it for every row it shows."""
    known = getattr(db, "_caselog_db_key", None)
    if known is not None:
        return known
    key = f"memory:{id(db.conn)}"
    for _, name, path in db.execute("PRAGMA database_list"):
        if name == "main":
            key = path or key
            break
    try:
        db._caselog_db_key = key
    except AttributeError:  # a Database without instance attributes: ask every time
        pass
    return key


def sync_key(db: sqlite_utils.Database) -> tuple:
    """Cheap fingerprint of what syncs write (cases, messages, status history, syncs):
    it changes whenever a sync, an import or a reparse writes."""
    return tuple(db.execute(
        "SELECT (SELECT max(id) FROM syncs), (SELECT max(finished_at) FROM syncs), "
        "(SELECT max(rowid) FROM messages), (SELECT max(id) FROM status_history), "
        "(SELECT count(*) FROM cases)").fetchone())


class Memo:
    """A bounded, thread-safe map from (database, name) to (fingerprint, value).

    ``get(db, name, stamp, compute)`` returns the stored value while ``stamp`` matches
    and computes (outside the lock: readers never wait on each other's SQL) otherwise.
    The least recently used entries go first once ``size`` is reached."""

    def __init__(self, size: int = 512):
        self.size = size
        self._lock = threading.Lock()
        self._data: OrderedDict[tuple, tuple] = OrderedDict()

    def get(self, db: sqlite_utils.Database, name: Hashable, stamp: Hashable,
            compute: Callable[[], T]) -> T:
        key = (db_key(db), name)
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[0] == stamp:
                self._data.move_to_end(key)
                return hit[1]
        value = compute()
        with self._lock:
            self._data[key] = (stamp, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
