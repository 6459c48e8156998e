"""Evidence checklists per case: built from the case's category and from what Amazon
asked (``companion.replies.asks``), using the library of ``companion.replies.library``
(built-in TOML files in ``companion/replies/data/checklists`` and the user's own in
``CASELOG_HOME/checklists/*.toml``), stored so that ticks and notes survive every
rebuild.

A library file is::

    id = "invoices"              # a user file with a built-in id replaces that checklist,
    title = "Invoices"           # or, with ``extend = true``, adds/replaces items by id
    categories = ["authenticity"]  # case categories (case-insensitive substrings)
    asks = ["invoices"]          # ask kinds that add this checklist
    [[items]]
    id = "recent"
    text = "Dated within the last 365 days"
    help = "optional hint"
    asks = ["invoices"]          # optional: only these items come with that ask

Items added because Amazon asked carry the sentence that asked; a rebuild adds new items
and updates sentences, and never loses a tick, a note or a file: an item nobody touched
that the case no longer calls for is dropped, a touched one is kept.

Reading never writes: ``view`` is the checklist as a rebuild would leave it, computed in
memory (asks of messages not scanned yet are detected on the fly), so a page can show a
case nobody built. ``refresh`` applies the same changes to the database; it runs when the
person acts on the checklist (a tick, a note, a file) and from ``refresh_after_sync``.
"""

from __future__ import annotations

import hashlib

import sqlite_utils

from companion.folders import Account
from companion.read.labels import DONE, sql_in
from companion.replies import asks as asks_mod
from companion.replies.library import ChecklistError, default_library
from companion.schema import utcnow

# The columns a rebuild may change on a stored item.
COLS = ("text", "help", "source", "ask_kind", "sentence", "message_key", "position",
        "checklist_title")
OPEN = f"c.status not in {sql_in(DONE)}"


# --- asks, cached per message -------------------------------------------------------

def _unscanned(db: sqlite_utils.Database, case_id: str) -> list[tuple[dict, str]]:
    """The case's Amazon messages that are new or whose text changed since they were
    scanned for asks (a truncated preview replaced by the full text), with the text's
    sha1."""
    scanned = {r["message_key"]: r["text_sha1"] for r in db.query(
        "select message_key, text_sha1 from asks_scanned where case_id = ?", [case_id])}
    todo = []
    for m in db.query("select message_key, sender, sent_at, text from messages "
                      "where case_id = ? and sender = 'amazon' order by sent_at", [case_id]):
        sha = hashlib.sha1((m["text"] or "").encode()).hexdigest()
        if scanned.get(m["message_key"]) != sha:
            todo.append((m, sha))
    return todo


def _stored_asks(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    return list(db.query(
        "select * from case_asks where case_id = ? order by sent_at, message_key, position",
        [case_id]))


def case_asks(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """All of the case's asks, oldest message first, without writing: the stored asks of
    messages scanned with their current text, and asks detected now in the others."""
    todo = _unscanned(db, case_id)
    stored = _stored_asks(db, case_id)
    if not todo:
        return stored
    redo = {m["message_key"] for m, _ in todo}
    found = [{"case_id": case_id, "message_key": a["message_key"], "position": a["position"],
              "kind": a["kind"], "label": a["label"], "sentence": a["sentence"],
              "sent_at": a["sent_at"]}
             for a in asks_mod.detect_in_messages([m for m, _ in todo])]
    rows = [a for a in stored if a["message_key"] not in redo] + found
    rows.sort(key=lambda a: (a["sent_at"] or "", a["message_key"], a["position"]))
    return rows


def scan_asks(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """Store the asks of messages not scanned yet (or whose text changed), then return all
    of the case's asks, oldest message first (what ``case_asks`` computes)."""
    todo = _unscanned(db, case_id)
    if todo:
        found = asks_mod.detect_in_messages([m for m, _ in todo])
        now = utcnow()
        with db.conn:  # plain executemany: one statement per table, not per row
            db.conn.executemany("delete from case_asks where case_id = ? and message_key = ?",
                                [(case_id, m["message_key"]) for m, _ in todo])
            db.conn.executemany(
                "insert or replace into case_asks (case_id, message_key, position, kind, "
                "label, sentence, sent_at) values (?, ?, ?, ?, ?, ?, ?)",
                [(case_id, a["message_key"], a["position"], a["kind"], a["label"],
                  a["sentence"], a["sent_at"]) for a in found])
            db.conn.executemany(
                "insert or replace into asks_scanned (case_id, message_key, text_sha1, "
                "scanned_at) values (?, ?, ?, ?)",
                [(case_id, m["message_key"], sha, now) for m, sha in todo])
    return _stored_asks(db, case_id)


# --- per-case checklists ------------------------------------------------------------

def _matches_category(cl: dict, category: str | None) -> bool:
    cat = (category or "").lower()
    return bool(cat) and any(c and c in cat for c in cl["categories"])


def plan(case: dict, case_asks: list[dict], lib: dict[str, dict]) -> list[dict]:
    """The items a case should have, in order: first what Amazon asked for (in the order
    it asked; the latest sentence for each kind), then the category's checklists."""
    latest: dict[str, dict] = {}
    for a in case_asks:  # oldest first, so the last one wins
        latest[a["kind"]] = a
    ordered_kinds = sorted(latest, key=lambda k: (latest[k]["sent_at"] or "",
                                                  latest[k]["position"]))
    wanted: dict[str, dict] = {}
    for kind in ordered_kinds:
        ask = latest[kind]
        for cl in lib.values():
            if kind not in cl["asks"]:
                continue
            tagged = any(i["asks"] for i in cl["items"])
            for item in cl["items"]:
                if tagged and kind not in item["asks"]:
                    continue
                key = f"{cl['id']}:{item['id']}"
                if key in wanted:
                    continue
                wanted[key] = {"key": key, "checklist": cl["id"], "checklist_title": cl["title"],
                               "text": item["text"], "help": item["help"], "source": "ask",
                               "ask_kind": kind, "sentence": ask["sentence"],
                               "message_key": ask["message_key"]}
    for cl in lib.values():
        if not _matches_category(cl, case.get("category")):
            continue
        for item in cl["items"]:
            key = f"{cl['id']}:{item['id']}"
            wanted.setdefault(key, {
                "key": key, "checklist": cl["id"], "checklist_title": cl["title"],
                "text": item["text"], "help": item["help"], "source": "category",
                "ask_kind": None, "sentence": None, "message_key": None})
    for n, row in enumerate(wanted.values()):
        row["position"] = n
    return list(wanted.values())


def _changes(wanted: list[dict], existing: dict[str, dict], touched: set[int]) -> dict:
    """How a stored checklist must change to match ``wanted``: new items, changed ones
    (an ask seen once stays an ask), and the items the case no longer calls for (the
    library changed, an ask was a misreading fixed since): dropped when the person never
    touched them (no tick, no note, no file), else moved after the current list."""
    new, changed = [], []
    for row in wanted:
        old = existing.get(row["key"])
        if old is None:
            new.append(row)
        elif any(old[k] != row[k] for k in COLS) and not (
                old["source"] == "ask" and row["source"] == "category"):
            changed.append((old, row))
    wanted_keys = {row["key"] for row in wanted}
    stale = sorted((old for key, old in existing.items()
                    if key not in wanted_keys and old["source"] in ("ask", "category")),
                   key=lambda o: (o["position"], o["id"]))
    drop = {o["id"] for o in stale if not o["done"] and not o["note"] and o["id"] not in touched}
    kept = [o for o in stale if o["id"] not in drop]
    moves = {o["id"]: len(wanted) + n for n, o in enumerate(kept)
             if o["position"] != len(wanted) + n}
    return {"new": new, "changed": changed, "drop": drop, "moves": moves}


def _wanted(db, case_id: str, lib: dict | None, asks: list[dict]) -> list[dict]:
    case = db["cases"].get(case_id)
    return plan(case, asks, default_library(errors=[]) if lib is None else lib)


def view(db: sqlite_utils.Database, case_id: str, lib: dict[str, dict] | None = None,
         asks: list[dict] | None = None) -> list[dict]:
    """The case's checklist as ``refresh`` would leave it, computed without writing.
    Items not stored yet have ``id`` None; every item has its ``evidence`` list."""
    asks = case_asks(db, case_id) if asks is None else asks
    wanted = _wanted(db, case_id, lib, asks)
    stored = items(db, case_id)
    ch = _changes(wanted, {r["key"]: r for r in stored},
                  {r["id"] for r in stored if r["evidence"]})
    updated = {old["id"]: row for old, row in ch["changed"]}
    out = []
    for r in stored:
        if r["id"] in ch["drop"]:
            continue
        if r["id"] in updated:
            r = {**r, **{c: updated[r["id"]][c] for c in COLS}}
        if r["id"] in ch["moves"]:
            r = {**r, "position": ch["moves"][r["id"]]}
        out.append(r)
    out += [{"id": None, "case_id": case_id, "key": row["key"], "checklist": row["checklist"],
             **{c: row[c] for c in COLS}, "done": 0, "note": "", "done_at": None,
             "evidence": []} for row in ch["new"]]
    out.sort(key=lambda r: (r["position"], r["id"] is None, r["id"] or 0))
    return out


def refresh(db: sqlite_utils.Database, case_id: str, lib: dict[str, dict] | None = None
            ) -> list[dict]:
    """Bring the case's stored checklist up to date with its asks and category (storing
    the asks too), keeping every tick, note and user item; returns the items."""
    wanted = _wanted(db, case_id, lib, scan_asks(db, case_id))
    existing = {r["key"]: r for r in db.query(
        "select * from checklist_items where case_id = ?", [case_id])}
    touched = {r["item_id"] for r in db.query(
        "select distinct item_id from evidence where case_id = ? and item_id is not null",
        [case_id])}
    ch = _changes(wanted, existing, touched)
    if not (ch["new"] or ch["changed"] or ch["drop"] or ch["moves"]):
        return items(db, case_id)
    now = utcnow()
    with db.conn:
        db.conn.executemany("delete from checklist_items where id = ?",
                            [(i,) for i in ch["drop"]])
        db.conn.executemany("update checklist_items set position = ? where id = ?",
                            [(pos, i) for i, pos in ch["moves"].items()])
        db.conn.executemany(
            # "or ignore": two requests building the same case at once must not collide
            "insert or ignore into checklist_items (case_id, key, checklist, "
            + ", ".join(COLS) + ", done, note, created_at, updated_at) values (?, ?, ?, "
            + ", ".join("?" * len(COLS)) + ", 0, '', ?, ?)",
            [(case_id, row["key"], row["checklist"], *(row[c] for c in COLS), now, now)
             for row in ch["new"]])
        db.conn.executemany(
            "update checklist_items set " + ", ".join(f"{c} = ?" for c in COLS)
            + ", updated_at = ? where id = ?",
            [(*(row[c] for c in COLS), now, old["id"]) for old, row in ch["changed"]])
    return items(db, case_id)


def refresh_after_sync(db: sqlite_utils.Database, case_ids: list[str] | None = None,
                       account: Account | None = None) -> int:
    """Store the checklists (and asks) of open cases a sync may have changed: the given
    ones, or every open case. Pages compute the same lists in memory without it; calling
    it after a sync only saves them that work. Cheap on re-runs: asks are cached per
    message text. Returns how many cases it looked at."""
    sql = f"select c.case_id from cases c where {OPEN}"
    params: list = []
    if case_ids is not None:
        if not case_ids:
            return 0
        sql += f" and c.case_id in ({','.join('?' * len(case_ids))})"
        params = list(case_ids)
    ids = [r["case_id"] for r in db.query(sql, params)]
    lib = default_library(errors=[], account=account)
    for cid in ids:
        refresh(db, cid, lib)
    return len(ids)


def items(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """Stored items with their evidence files (list under ``evidence``)."""
    rows = list(db.query(
        "select * from checklist_items where case_id = ? order by position, id", [case_id]))
    ev: dict[int, list] = {}
    for e in db.query("select * from evidence where case_id = ? order by id", [case_id]):
        ev.setdefault(e["item_id"], []).append(e)
    for r in rows:
        r["evidence"] = ev.get(r["id"], [])
    return rows


def progress(db: sqlite_utils.Database, case_ids: list[str] | None = None
             ) -> dict[str, dict]:
    """{case_id: {"done", "total"}} of stored checklists (what list pages show is
    ``companion.queue.progress.for_cases``, which also counts lists not stored yet)."""
    sql = "select case_id, sum(done) as done, count(*) as total from checklist_items"
    params: list = []
    if case_ids is not None:
        if not case_ids:
            return {}
        sql += f" where case_id in ({','.join('?' * len(case_ids))})"
        params = list(case_ids)
    sql += " group by case_id"
    return {r["case_id"]: {"done": r["done"] or 0, "total": r["total"]}
            for r in db.query(sql, params)}


# --- the person's acts ----------------------------------------------------------------

def item_by_key(db: sqlite_utils.Database, case_id: str, key: str) -> dict:
    """The stored item a form names by its key. The page may have shown items that were
    only computed, so the case's checklist is stored first (``refresh``)."""
    refresh(db, case_id)
    rows = list(db.query("select * from checklist_items where case_id = ? and key = ?",
                         [case_id, key]))
    if not rows:
        raise ChecklistError("that item is no longer on this case's checklist; "
                             "reload the page")
    return rows[0]


def get_item(db: sqlite_utils.Database, case_id: str, item_id: int) -> dict:
    rows = list(db.query("select * from checklist_items where case_id = ? and id = ?",
                         [case_id, item_id]))
    if not rows:
        raise ChecklistError(f"no checklist item {item_id} in case {case_id}")
    return rows[0]


def set_done(db: sqlite_utils.Database, case_id: str, item_id: int, done: bool) -> dict:
    get_item(db, case_id, item_id)
    now = utcnow()
    with db.conn:
        db["checklist_items"].update(item_id, {"done": int(done), "done_at": now if done else None,
                                               "updated_at": now})
    return get_item(db, case_id, item_id)


def set_note(db: sqlite_utils.Database, case_id: str, item_id: int, note: str) -> dict:
    get_item(db, case_id, item_id)
    note = (note or "").replace("\x00", "")[:5000]
    with db.conn:
        db["checklist_items"].update(item_id, {"note": note, "updated_at": utcnow()})
    return get_item(db, case_id, item_id)


def add_item(db: sqlite_utils.Database, case_id: str, text: str) -> dict:
    """A seller's own item for this case only."""
    text = " ".join((text or "").replace("\x00", "").split())[:500]
    if not text:
        raise ChecklistError("an item needs some text")
    n = db.execute("select count(*) from checklist_items where case_id = ?",
                   [case_id]).fetchone()[0]
    now = utcnow()
    with db.conn:
        db["checklist_items"].insert({
            "case_id": case_id, "key": f"user:{now}", "checklist": "user",
            "checklist_title": "Your items", "text": text, "help": "", "source": "user",
            "position": 1000 + n, "done": 0, "note": "", "created_at": now, "updated_at": now})
    return get_item(db, case_id, db.execute("select last_insert_rowid()").fetchone()[0])
