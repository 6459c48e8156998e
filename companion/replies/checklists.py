"""Evidence checklists: the built-in library (TOML files in ``companion/replies/data/checklists``),
the user's own (``CASELOG_HOME/checklists/*.toml``), and each case's checklist built from
its category and from what Amazon asked (``companion.asks``), stored so that ticks and
notes survive every rebuild.

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
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import sqlite_utils

from companion.home import home
from companion.replies import asks as asks_mod
from companion.schema import utcnow

BUILTIN_DIR = Path(__file__).parent / "data" / "checklists"


class ChecklistError(ValueError):
    """A checklist file that cannot be used; the message names the file and the problem."""


def user_dir() -> Path:
    return home() / "checklists"


def _read(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ChecklistError(f"{path.name}: cannot read checklist: {exc}") from exc
    cid = data.get("id") or path.stem
    if not isinstance(cid, str) or not cid.replace("_", "").replace("-", "").isalnum():
        raise ChecklistError(f"{path.name}: id must be letters, digits, - or _")
    items = data.get("items", [])
    if not isinstance(items, list):
        raise ChecklistError(f"{path.name}: [[items]] must be a list of tables")
    clean = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ChecklistError(f"{path.name}: item {n} needs a text")
        clean.append({
            "id": str(item.get("id") or f"item{n}"), "text": item["text"],
            "help": str(item.get("help") or ""), "asks": list(item.get("asks") or []),
        })
    return {
        "id": cid, "title": str(data.get("title") or cid), "extend": bool(data.get("extend")),
        "categories": [str(c).lower() for c in data.get("categories", [])],
        "asks": [str(a) for a in data.get("asks", [])], "items": clean, "file": str(path),
    }


def load_library(user: Path | None = None, errors: list[str] | None = None) -> dict[str, dict]:
    """Built-in checklists overlaid with the user's. A broken user file raises
    ChecklistError, or, when ``errors`` is given, is skipped and reported there."""
    lib: dict[str, dict] = {}
    for path in sorted(BUILTIN_DIR.glob("*.toml")):
        cl = _read(path)
        lib[cl["id"]] = cl
    if user is not None and user.is_dir():
        for path in sorted(user.glob("*.toml")):
            try:
                cl = _read(path)
            except ChecklistError as exc:
                if errors is None:
                    raise
                errors.append(str(exc))
                continue
            base = lib.get(cl["id"])
            if cl["extend"] and base:
                items = {i["id"]: i for i in base["items"]}
                items.update({i["id"]: i for i in cl["items"]})
                cl = {**base, "items": list(items.values()),
                      "categories": base["categories"] + cl["categories"],
                      "asks": base["asks"] + cl["asks"], "file": cl["file"]}
            lib[cl["id"]] = cl
    return lib


_CACHE: dict = {}  # (files and their mtimes) -> (library, errors); pages load it often


def default_library(errors: list[str] | None = None) -> dict[str, dict]:
    """The built-in and the user's checklists, re-read only when a file changed."""
    user = user_dir()
    paths = sorted(BUILTIN_DIR.glob("*.toml"))
    if user.is_dir():
        paths += sorted(user.glob("*.toml"))
    try:
        key = (str(user), tuple((str(p), p.stat().st_mtime_ns) for p in paths))
    except OSError:
        key = None
    global _CACHE
    cache = _CACHE
    if key is None or cache.get("key") != key:
        found: list[str] = []
        cache = {"key": key, "lib": load_library(user, found), "errors": found}
        _CACHE = cache  # replaced whole: other threads may hold the previous one
    if errors is None and cache["errors"]:
        raise ChecklistError(cache["errors"][0])
    if errors is not None:
        errors.extend(cache["errors"])
    return cache["lib"]


# --- asks, cached per message -------------------------------------------------------

def scan_asks(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """Detect asks in the case's Amazon messages that are new or whose text changed
    (a truncated preview replaced by the full text), then return all of the case's asks,
    oldest message first."""
    scanned = {r["message_key"]: r["text_sha1"] for r in db.query(
        "select message_key, text_sha1 from asks_scanned where case_id = ?", [case_id])}
    msgs = list(db.query(
        "select message_key, sender, sent_at, text from messages "
        "where case_id = ? and sender = 'amazon' order by sent_at", [case_id]))
    now = utcnow()
    todo = []
    for m in msgs:
        sha = hashlib.sha1((m["text"] or "").encode()).hexdigest()
        if scanned.get(m["message_key"]) != sha:
            todo.append((m, sha))
    if todo:
        found = asks_mod.detect_in_messages([m for m, _ in todo])
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
    return list(db.query(
        "select * from case_asks where case_id = ? order by sent_at, message_key, position",
        [case_id]))


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


def refresh(db: sqlite_utils.Database, case_id: str, lib: dict[str, dict] | None = None
            ) -> list[dict]:
    """Bring the case's stored checklist up to date with its asks and category, keeping
    every tick, note and user item; returns the items."""
    case = db["cases"].get(case_id)
    lib = default_library(errors=[]) if lib is None else lib
    wanted = plan(case, scan_asks(db, case_id), lib)
    existing = {r["key"]: r for r in db.query(
        "select * from checklist_items where case_id = ?", [case_id])}
    now = utcnow()
    cols = ("text", "help", "source", "ask_kind", "sentence", "message_key", "position",
            "checklist_title")
    inserts, updates = [], []
    for row in wanted:
        old = existing.get(row["key"])
        if old is None:
            inserts.append((case_id, row["key"], row["checklist"], *(row[c] for c in cols),
                            now, now))
        elif any(old[k] != row[k] for k in cols):
            if old["source"] == "ask" and row["source"] == "category":
                continue  # an ask seen once stays an ask
            updates.append((*(row[c] for c in cols), now, old["id"]))
    # Items the case no longer calls for (the library changed, an ask was a misreading
    # fixed since) go away only when the person never touched them: no tick, no note, no
    # file. Touched ones stay, moved after the current list.
    wanted_keys = {row["key"] for row in wanted}
    stale = sorted((old for key, old in existing.items()
                    if key not in wanted_keys and old["source"] in ("ask", "category")),
                   key=lambda o: (o["position"], o["id"]))
    touched = set()
    if stale:
        touched = {r["item_id"] for r in db.query(
            "select distinct item_id from evidence where case_id = ? and item_id is not null",
            [case_id])}
    drop = [(old["id"],) for old in stale
            if not old["done"] and not old["note"] and old["id"] not in touched]
    keep = [(len(wanted) + n, old["id"]) for n, old in enumerate(
        o for o in stale if (o["id"],) not in drop) if old["position"] != len(wanted) + n]
    if inserts or updates or drop or keep:
        with db.conn:
            db.conn.executemany("delete from checklist_items where id = ?", drop)
            db.conn.executemany("update checklist_items set position = ? where id = ?", keep)
            db.conn.executemany(
                # "or ignore": two pages building the same case at once must not collide
                "insert or ignore into checklist_items (case_id, key, checklist, "
                + ", ".join(cols)
                + ", done, note, created_at, updated_at) values (?, ?, ?, "
                + ", ".join("?" * len(cols)) + ", 0, '', ?, ?)", inserts)
            db.conn.executemany(
                "update checklist_items set " + ", ".join(f"{c} = ?" for c in cols)
                + ", updated_at = ? where id = ?", updates)
    return items(db, case_id)


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


def progress(db: sqlite_utils.Database, case_ids: list[str] | None = None
             ) -> dict[str, dict]:
    """{case_id: {"done", "total"}} for cases that have a checklist."""
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


def refresh_cases(db: sqlite_utils.Database, case_ids: list[str] | None = None) -> int:
    """Rebuild checklists for the given cases (default: every case that is not closed or
    resolved); cheap on re-runs because asks are cached per message text."""
    if case_ids is None:
        case_ids = [r["case_id"] for r in db.query(
            "select case_id from cases where status not in ('Closed', 'Resolved')")]
    lib = default_library(errors=[])
    for cid in case_ids:
        refresh(db, cid, lib)
    return len(case_ids)


# Cases a list page brought up to date with the library this process last loaded:
# after a checklist file changes (or the server starts), each listed case is refreshed
# once more, so the counts follow the library without anyone opening the case.
_LISTED: dict = {"key": None, "cases": set()}


def ensure_built(db: sqlite_utils.Database, case_ids: list[str],
                 lib: dict[str, dict] | None = None) -> None:
    """Build or update the checklists a list page needs, for open cases: those without
    items whose Amazon messages were not all scanned or whose category has a checklist;
    those with an Amazon message never scanned (a sync brought it since the case page
    was last opened: its asks change the counts shown); and, once per library version,
    every built one (a checklist file was added or edited)."""
    if not case_ids:
        return
    global _LISTED
    if lib is None:
        lib = default_library(errors=[])
    # the library version is known when the library is the loaded one (a page may load
    # it once and pass it for every row); a hand-made library is not tracked
    key = _CACHE.get("key") if lib is _CACHE.get("lib") else None
    listed = _LISTED
    if key is not None and listed["key"] != key:
        listed = {"key": key, "cases": set()}
        _LISTED = listed  # replaced whole: other threads may hold the previous one
    marks = ",".join("?" * len(case_ids))
    rows = list(db.query(f"""
        select c.case_id, c.category,
          exists (select 1 from checklist_items i where i.case_id = c.case_id) as built,
          exists (select 1 from messages m where m.case_id = c.case_id
                  and m.sender = 'amazon' and not exists (select 1 from asks_scanned s
                     where s.case_id = m.case_id and s.message_key = m.message_key)) as unread
        from cases c where c.case_id in ({marks})
          and c.status not in ('Closed', 'Resolved')""", list(case_ids)))
    for r in rows:
        fresh = key is not None and r["case_id"] in listed["cases"]
        if r["built"]:
            due = r["unread"] or (key is not None and not fresh)
        else:
            due = r["unread"] or any(_matches_category(cl, r["category"])
                                     for cl in lib.values())
        if due:
            refresh(db, r["case_id"], lib)
        if key is not None:
            listed["cases"].add(r["case_id"])
