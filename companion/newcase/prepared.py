"""New cases prepared before they exist: a topic from the library
(``companion.newcase.topics``), a subject and description rendered from the topic's
template in the sandbox and then edited by the person (every save kept), the topic's
evidence list as a checklist, and files, until the seller has opened the case in Seller
Central and a sync brought it; then the work is attached to that case.

caselog never opens the case: the seller copies the description into Seller Central.
Like a draft, a description holding a ``[placeholder]`` (any square-bracketed text)
cannot be marked ready. Attaching moves the work onto the case in one transaction: the
checklist becomes checklist items of the case (source ``prepared``, first on its list),
the files become its evidence rows (the bytes stay where they are, by sha256), and the
preparation records the case id; its description stays here, shown on the case page.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import BinaryIO

import sqlite_utils

from companion.read.queries import case_exists
from companion.replies import drafts, evidence, reminders, sandbox
from companion.replies.related import identifiers
from companion.schema import utcnow

OPEN_STATES = ("draft", "ready")
MAX_SUBJECT = 200
ITEM_POSITION = -1000  # prepared items come first on the case's checklist


class PreparedError(ValueError):
    """A refused act on a prepared case; the message says why."""


def _seller_name() -> str | None:
    try:
        return reminders.load_config()["seller"].get("name") or None
    except reminders.ConfigError:
        return None  # the case page says what is wrong with replies.toml


def context(topic: dict, ids_text: str = "", related: list[dict] | None = None) -> dict:
    """What a topic's templates see: the topic, the identifiers the person gave
    (``ids.order``, ``ids.asin``, ``ids.shipment``), cases to cite, the seller's name."""
    found = identifiers(ids_text or "")
    return {
        "topic": {k: topic[k] for k in ("id", "title", "category", "needs", "evidence")},
        "ids": {k: found.get(k, []) for k in ("order", "asin", "shipment")},
        "related": [{"case_id": r["case_id"], "subject": r.get("subject")}
                    for r in related or []],
        "seller_name": _seller_name(), "today": date.today().isoformat(),
        "ph": sandbox.ph,
    }


def render(topic: dict, ids_text: str = "", related: list[dict] | None = None
           ) -> tuple[str, str]:
    """(subject, description) from the topic's templates; a person's own topic file
    renders in the capped child like their draft templates. Raises DraftTemplateError
    naming the file."""
    ctx = context(topic, ids_text, related)
    name = Path(topic["file"]).name
    isolated = not topic.get("builtin")
    subject = sandbox.render(f"{name} (subject)", ctx, source=topic["subject"] or
                             topic["title"], isolated=isolated)
    body = sandbox.render(name, ctx, source=topic["template"], isolated=isolated)
    return " ".join(subject.split())[:MAX_SUBJECT], body.strip() + "\n"


def _revise(db, p: dict, subject: str, body: str, source: str) -> dict:
    now, rev = utcnow(), (p.get("revision") or 0) + 1
    with db.conn:
        db["prepared_cases"].update(p["id"], {"subject": subject, "description": body,
                                              "revision": rev, "state": "draft",
                                              "updated_at": now, "ready_at": None})
        db["prepared_revisions"].insert({"prepared_id": p["id"], "revision": rev,
                                         "subject": subject, "description": body,
                                         "source": source, "saved_at": now})
    return get(db, p["id"])


def create(db: sqlite_utils.Database, topic: dict, ids_text: str = "",
           related: list[dict] | None = None) -> dict:
    """Store a new preparation of ``topic``: its rendered text as revision 1 and the
    topic's evidence list as its checklist (copied: a later edit of the topic file does
    not change work under way)."""
    subject, body = render(topic, ids_text, related)
    now = utcnow()
    with db.conn:
        pid = db["prepared_cases"].insert({
            "topic": topic["id"], "topic_title": topic["title"],
            "category": topic["category"], "subject": "", "description": "",
            "revision": 0, "state": "draft", "created_at": now, "updated_at": now}).last_pk
        db["prepared_items"].insert_all(
            [{"prepared_id": pid, "key": e["id"], "text": e["text"], "help": e["help"],
              "position": n, "done": 0} for n, e in enumerate(topic["evidence"])])
    return _revise(db, get(db, pid), subject, body, "generated")


def get(db: sqlite_utils.Database, pid: int) -> dict:
    rows = list(db.query("select * from prepared_cases where id = ?", [pid]))
    if not rows:
        raise PreparedError(f"no prepared case {pid}")
    return rows[0]


def _editable(db, pid: int) -> dict:
    p = get(db, pid)
    if p["state"] == "attached":
        raise PreparedError(f"this preparation is attached to case {p['case_id']}; "
                            "its work goes on there")
    if p["state"] == "discarded":
        raise PreparedError("this preparation was discarded")
    return p


def open_list(db: sqlite_utils.Database) -> list[dict]:
    """Preparations not yet found in Seller Central, latest first."""
    return list(db.query("select * from prepared_cases where state in ('draft', 'ready') "
                         "order by updated_at desc, id desc"))


def attached_list(db: sqlite_utils.Database, limit: int = 10) -> list[dict]:
    return list(db.query("select * from prepared_cases where state = 'attached' "
                         "order by attached_at desc limit ?", [limit]))


def for_case(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """The preparations attached to a case (one, normally), with their revision count."""
    return list(db.query(
        "select p.*, (select count(*) from prepared_revisions r where r.prepared_id = p.id)"
        " as revisions from prepared_cases p where p.case_id = ? and p.state = 'attached' "
        "order by p.id", [case_id]))


def history(db: sqlite_utils.Database, pid: int) -> list[dict]:
    return list(db.query("select * from prepared_revisions where prepared_id = ? "
                         "order by revision desc", [pid]))


def items(db: sqlite_utils.Database, pid: int) -> list[dict]:
    """The checklist, each item with its ``files``."""
    rows = list(db.query("select * from prepared_items where prepared_id = ? "
                         "order by position, id", [pid]))
    by_key: dict[str, list] = {}
    for f in files(db, pid):
        by_key.setdefault(f["item_key"], []).append(f)
    return [{**r, "files": by_key.get(r["key"], [])} for r in rows]


def files(db: sqlite_utils.Database, pid: int) -> list[dict]:
    return list(db.query("select * from prepared_evidence where prepared_id = ? order by id",
                         [pid]))


# --- the person's acts ----------------------------------------------------------------

def save(db: sqlite_utils.Database, pid: int, subject: str | None, body: str | None) -> dict:
    """The person's edit as a new revision (a ready preparation goes back to draft)."""
    p = _editable(db, pid)
    subject = " ".join((subject if subject is not None else p["subject"]).split())
    body = (body if body is not None else p["description"]).replace("\x00", "")
    body = body.replace("\r\n", "\n")
    if len(subject) > MAX_SUBJECT:
        raise PreparedError(f"the subject is longer than {MAX_SUBJECT} characters")
    if len(body) > drafts.MAX_BODY:
        raise PreparedError(f"the description is longer than {drafts.MAX_BODY} characters")
    if subject == p["subject"] and body == p["description"]:
        return p
    return _revise(db, p, subject, body, "edited")


def split_placeholders(db: sqlite_utils.Database, p: dict) -> tuple[list[str], list[str]]:
    """(the template's placeholders left in subject and description, other square
    brackets the person typed): both block "ready", as in drafts."""
    text = f"{p['subject']}\n{p['description']}"
    left = list(dict.fromkeys(drafts.placeholders(text)))
    generated: set[str] = set()
    for r in db.query("select subject, description from prepared_revisions where "
                      "prepared_id = ? and source = 'generated'", [p["id"]]):
        generated.update(drafts.placeholders(f"{r['subject']}\n{r['description']}"))
    return [x for x in left if x in generated], [x for x in left if x not in generated]


def mark_ready(db: sqlite_utils.Database, pid: int) -> dict:
    p = _editable(db, pid)
    template, typed = split_placeholders(db, p)
    if template or typed:
        raise PreparedError("cannot mark ready: "
                            + drafts.placeholder_message(template, typed))
    now = utcnow()
    with db.conn:
        db["prepared_cases"].update(pid, {"state": "ready", "ready_at": now,
                                          "updated_at": now})
    return get(db, pid)


def _item(db, pid: int, key: str) -> dict:
    rows = list(db.query("select * from prepared_items where prepared_id = ? and key = ?",
                         [pid, key]))
    if not rows:
        raise PreparedError("that item is not on this preparation's checklist; "
                            "reload the page")
    return rows[0]


def set_done(db: sqlite_utils.Database, pid: int, key: str, done: bool) -> dict:
    _editable(db, pid)
    item = _item(db, pid, key)
    with db.conn:
        db["prepared_items"].update(item["id"], {"done": int(done),
                                                 "done_at": utcnow() if done else None})
    return _item(db, pid, key)


def add_file(db: sqlite_utils.Database, pid: int, src: BinaryIO | bytes, name: str | None,
             item_key: str | None = None) -> dict:
    """A file for the case being prepared (for one checklist item, or the case), checked
    and stored like any evidence (``evidence.store``)."""
    _editable(db, pid)
    if item_key:
        _item(db, pid, item_key)
    stored = evidence.store(src, name)
    same = list(db.query("select name from prepared_evidence where prepared_id = ? and "
                         "sha256 = ? and item_key is ?", [pid, stored["sha256"], item_key]))
    if same:
        raise evidence.EvidenceError(f"this file is already attached as '{same[0]['name']}'")
    with db.conn:
        fid = db["prepared_evidence"].insert({"prepared_id": pid, "item_key": item_key,
                                              **stored}).last_pk
    return db["prepared_evidence"].get(fid)


def get_file(db: sqlite_utils.Database, pid: int, fid: int) -> dict:
    rows = list(db.query("select * from prepared_evidence where prepared_id = ? and id = ?",
                         [pid, fid]))
    if not rows:
        raise evidence.EvidenceError(f"no file {fid} in prepared case {pid}")
    return rows[0]


def remove_file(db: sqlite_utils.Database, pid: int, fid: int) -> dict:
    _editable(db, pid)
    row = get_file(db, pid, fid)
    with db.conn:
        db["prepared_evidence"].delete(fid)
    evidence.forget_bytes(db, row)
    return row


def discard(db: sqlite_utils.Database, pid: int) -> dict:
    """The person will not open this case after all; the text stays readable, the
    files are let go."""
    _editable(db, pid)
    gone = files(db, pid)
    with db.conn:
        db.execute("delete from prepared_evidence where prepared_id = ?", [pid])
        db["prepared_cases"].update(pid, {"state": "discarded", "updated_at": utcnow()})
    for row in gone:
        evidence.forget_bytes(db, row)
    return get(db, pid)


def _move_items(db, p: dict, case_id: str, now: str) -> dict[str, int]:
    """The checklist as checklist items of the case; {prepared key: item id}."""
    out = {}
    for n, it in enumerate(items(db, p["id"])):
        key = f"prepared:{p['id']}:{it['key']}"
        db.execute(
            "insert or ignore into checklist_items (case_id, key, checklist, checklist_title,"
            " text, help, source, position, done, note, done_at, created_at, updated_at) "
            "values (?, ?, 'prepared', ?, ?, ?, 'prepared', ?, ?, '', ?, ?, ?)",
            [case_id, key, f"Prepared: {p['topic_title']}", it["text"], it["help"],
             ITEM_POSITION + n, it["done"], it["done_at"], now, now])
        out[it["key"]] = db.execute("select id from checklist_items where case_id = ? and "
                                    "key = ?", [case_id, key]).fetchone()[0]
    return out


def attach_to_case(db: sqlite_utils.Database, pid: int, case_id: str) -> dict:
    """Put the prepared work on the case the seller opened: checklist, files and the
    description (shown on its page), in one transaction. The person confirmed it."""
    p = _editable(db, pid)
    if not case_exists(db, case_id):
        raise PreparedError(f"caselog has no case {case_id}; sync first")
    other = db.execute("select id from prepared_cases where case_id = ? and id != ? and "
                       "state = 'attached'", [case_id, pid]).fetchone()
    if other:
        raise PreparedError(f"case {case_id} already holds prepared case {other[0]}")
    now = utcnow()
    with db.conn:
        item_ids = _move_items(db, p, case_id, now)
        for f in files(db, pid):
            item_id = item_ids.get(f["item_key"])
            if not db.execute("select 1 from evidence where case_id = ? and sha256 = ? and "
                              "item_id is ?", [case_id, f["sha256"], item_id]).fetchone():
                db["evidence"].insert({"case_id": case_id, "item_id": item_id,
                                       **{k: f[k] for k in ("name", "sha256", "size",
                                                            "content_type", "path",
                                                            "added_at")}})
        db.execute("delete from prepared_evidence where prepared_id = ?", [pid])
        db["prepared_cases"].update(pid, {"state": "attached", "case_id": case_id,
                                          "attached_at": now, "updated_at": now})
    return get(db, pid)
