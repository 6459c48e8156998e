"""Read models of the documented-replies panels: everything the case page's panel and
the home page's reminders show, as plain dicts the UI's templates receive.

Building them writes nothing: the checklist, the asks and the draft are the in-memory
ones (``checklists.view``, ``checklists.case_asks``, ``drafts.preview``) and slow parts
are remembered (``reminders.open_reminders``, ``related.for_case``, the sandbox's
renders). Problems with the person's own files (a broken template, settings or checklist
file) become messages in the panel, never errors.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from companion.replies import (
    checklists,
    drafts,
    evidence,
    progress,
    related,
    reminders,
    window,
)
from companion.replies.library import default_library
from companion.replies.sandbox import DraftError
from companion.replies.situation import context

HOME_REMINDERS = 15   # the most overdue first; the cases table holds the rest
HOME_PROGRESS = 20    # cases waiting on the seller whose evidence progress home shows
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


def _draft_part(db, case_id: str, ctx: dict, now: datetime) -> dict:
    out: dict = {"problems": [], "draft": None, "notes": [], "reminder": None}
    try:
        out["draft"] = drafts.preview(db, case_id, ctx)
        out["notes"] = drafts.notes(ctx)
    except DraftError as exc:
        out["problems"].append(str(exc))
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


def case_panel(db: sqlite_utils.Database, case_id: str, now: datetime | None = None) -> dict:
    """Everything ``replies/_case_panel.html`` shows for one case."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    lib = default_library(errors=problems)
    asks = checklists.case_asks(db, case_id)
    items = _numbered(checklists.view(db, case_id, lib, asks))
    out: dict = {"draft": None, "notes": [], "reminder": None, "placeholders": [],
                 "typed_brackets": [], "history": [], "transfer": None}
    try:
        ctx = context(db, case_id, now, items=items, asks=asks)
    except (reminders.ConfigError, DraftError) as exc:
        problems.append(str(exc))
        ctx = None
    if ctx is not None and ctx["situation"] is None:
        out["transfer"] = _transfer_part(db, case_id)
    elif ctx is not None:
        part = _draft_part(db, case_id, ctx, now)
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


def home_panel(db: sqlite_utils.Database, now: datetime | None = None) -> dict:
    """Due and overdue reminders (the most overdue first, at most ``HOME_REMINDERS``),
    and the evidence progress of the cases that have waited on the seller longest."""
    now = now or datetime.now(UTC)
    try:
        rems, config = reminders.open_reminders(db, now)
        lists, problem = reminders.split_due(rems, now, config), None
    except reminders.ConfigError as exc:
        lists, problem = {"overdue": [], "due": []}, str(exc)
    owing = list(db.query(
        "select case_id, subject from cases where status = 'PendingMerchantAction' "
        "order by coalesce(last_amazon_reply_at, created_at) limit ?", [HOME_PROGRESS]))
    counts = progress.for_cases(db, [r["case_id"] for r in owing])
    shown = (lists["overdue"] + lists["due"])[:HOME_REMINDERS]
    return {**lists, "shown": shown,
            "more": len(lists["overdue"]) + len(lists["due"]) - len(shown),
            "progress": [{**r, **counts[r["case_id"]]} for r in owing if r["case_id"] in counts],
            "problem": problem}
