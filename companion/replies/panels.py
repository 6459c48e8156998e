"""Read models of the documented-replies panel: everything the case page's panel shows,
as plain dicts the UI's templates receive (home's queue is ``companion.queue.rows``).

Building them writes nothing: the checklist and the asks are the in-memory ones
(``checklists.view``, ``checklists.case_asks``). The draft is rendered only when the
person acts on it (``render_draft``: the panel answering a POST, such as opening the
draft, rebuilding it or attaching a file); a page that only shows the case shows the
stored draft, or a button that writes it. Problems with the person's own files (a
broken template, settings or checklist file) become messages in the panel, never errors.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from companion.replies import (
    checklists,
    drafts,
    evidence,
    related,
    reminders,
    repeats,
    window,
)
from companion.replies.library import default_library
from companion.replies.sandbox import DraftError
from companion.replies.situation import context

REWRITTEN = ("Amazon wrote again after you last edited this draft. \u201cRebuild from "
             "template\u201d starts from the new situation; your text stays in the history.")


def _groups(items: list[dict]) -> list[dict]:
    """Items under their checklist's title. One quote per group when every item came
    from the same sentence; an item quotes its own sentence only when it differs (a
    checklist asked for twice)."""
    groups: list[dict] = []
    for it in items:
        if not groups or groups[-1]["title"] != it["checklist_title"]:
            groups.append({"title": it["checklist_title"], "checklist": it["checklist"],
                           "items": []})
        groups[-1]["items"].append(it)
    for g in groups:
        said = {it["sentence"] for it in g["items"] if it["sentence"]}
        g["sentence"] = said.pop() if len(said) == 1 else None
    return groups


def _numbered(items: list[dict]) -> list[dict]:
    """Items with ``n``, their place on the page: an item not stored yet has no id, and
    the page's element ids (and forms' labels) need something unique."""
    return [{**it, "n": n} for n, it in enumerate(items, 1)]


def _amazon_wrote_since(db, case_id: str, at: str | None) -> bool:
    newer = db.execute("select max(sent_at) from messages where case_id = ? and "
                       "sender = 'amazon'", [case_id]).fetchone()[0]
    return bool(newer and at and newer > at)


def _stored_draft(db, case_id: str) -> dict | None:
    """The draft as stored, without rendering anything; None while none is stored or
    the person's sent answer waits for Amazon."""
    if drafts.answered_at(db, case_id) is not None and drafts.current(db, case_id) is None:
        return None
    stored = drafts.current(db, case_id)
    return {**stored, "pending": False} if stored else None


def _draft_part(db, case_id: str, ctx: dict, now: datetime, render_draft: bool) -> dict:
    out: dict = {"problems": [], "draft": None, "notes": [], "reminder": None,
                 "answered_at": drafts.answered_at(db, case_id), "can_start": False}
    try:
        out["draft"] = (drafts.preview(db, case_id, ctx) if render_draft
                        else _stored_draft(db, case_id))
        # The advice (the reopen window, when to follow up) reads the case, not the
        # draft's text, so it shows before the person writes the draft too.
        out["notes"] = drafts.notes(ctx) if out["draft"] or not out["answered_at"] else []
    except DraftError as exc:
        out["problems"].append(str(exc))
    out["can_start"] = out["draft"] is None and not out["answered_at"]
    try:
        out["reminder"] = reminders.for_cases(db, [case_id], now).get(case_id)
    except reminders.ConfigError:
        pass
    d = out["draft"]
    if d and not d["pending"] and drafts.last_source(db, d["id"]) == "edited" \
            and _amazon_wrote_since(db, case_id, d["updated_at"]):
        out["notes"].append(REWRITTEN)
    out["placeholders"], out["typed_brackets"] = (
        drafts.split_placeholders(db, d) if d else ([], []))
    out["history"] = drafts.history(db, d["id"]) if d and d["id"] else []
    return out


def _transfer_part(db, case_id: str) -> dict:
    """A transferred case has no draft: why, where to write instead (the continuation,
    stored or not yet), and the draft kept from before the transfer, to copy over."""
    case = db["cases"].get(case_id)
    other = case.get("continued_in")
    stored = bool(other) and db.execute("select 1 from cases where case_id = ?",
                                        [other]).fetchone() is not None
    return {"reason": drafts.transfer_reason(case), "continued_in": other,
            "stored": stored, "old_draft": drafts.current(db, case_id)}


def case_panel(db: sqlite_utils.Database, case_id: str, now: datetime | None = None,
               render_draft: bool = False) -> dict:
    """Everything ``replies/_case_panel.html`` shows for one case; the draft rendered
    from its template only with ``render_draft`` (the person acted on it)."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    lib = default_library(errors=problems)
    asks = checklists.case_asks(db, case_id)
    items = _numbered(checklists.view(db, case_id, lib, asks))
    out: dict = {"draft": None, "notes": [], "reminder": None, "placeholders": [],
                 "can_start": False,
                 "typed_brackets": [], "history": [], "transfer": None, "answered_at": None,
                 "repeats": repeats.for_case(db, case_id, asks, now)}
    try:
        ctx = context(db, case_id, now, items=items, asks=asks)
    except (reminders.ConfigError, DraftError) as exc:
        problems.append(str(exc))
        ctx = None
    if ctx is not None and ctx["situation"] is None:
        out["transfer"] = _transfer_part(db, case_id)
    elif ctx is not None:
        part = _draft_part(db, case_id, ctx, now, render_draft)
        problems += part.pop("problems")
        out.update(part)
    out.update(
        problems=problems, items=items, groups=_groups(items),
        done=sum(1 for i in items if i["done"]), total=len(items),
        loose=[e for e in evidence.list_for_case(db, case_id) if e["item_id"] is None],
        typed_hint=drafts.TYPED_HINT, events=drafts.events(db, case_id),
        related=related.for_case(db, case_id),
        max_mb=evidence.max_bytes() // (1024 * 1024),
        accept=",".join("." + ext for ext in sorted(evidence.ALLOWED)))
    return out


def reopen_window(case: dict, last_message_at: str | None,
                  now: datetime | None = None) -> dict | None:
    """An Answered case's reopen window for the case page's summary (``window``): the
    moment it closes, counted from the thread's last message, and what to do once it
    has. None for other statuses. A broken settings file falls back to the defaults
    (the replies panel says what is wrong with it)."""
    if case.get("status") not in reminders.REOPENABLE:
        return None
    now = now or datetime.now(UTC)
    try:
        config = reminders.load_config()
    except reminders.ConfigError:
        config = {"defaults": dict(reminders.DEFAULTS), "categories": {}, "seller": {}}
    s = reminders.settings_for(config, case.get("category"))
    found = window.answered(window.last_activity(
        last_message_at, case.get("last_amazon_reply_at")), s, now)
    if found is None:
        return None
    return {**found, "advice": window.advice(found, case["case_id"], dated=False)}
