"""Drafted replies: the template chosen by the case's situation
(``companion.replies.situation``), rendered in the sandbox (``companion.replies.sandbox``),
saved with every revision, marked ready and marked sent by the person.

caselog prepares and never sends. A draft never invents a fact: what the data cannot
tell (the seller's name, a root cause) is a visible ``[placeholder]``, and a draft that
still holds one cannot be marked ready or sent. Templates are files
(``companion/replies/data/templates/*.j2``, overridden by ``CASELOG_HOME/templates/``).

Showing a draft writes nothing: ``preview`` is what ``ensure`` would store (a new draft,
or an untouched one re-rendered because the case changed), computed in memory. It is
stored when the person acts on it (``for_edit`` before a save, ready or sent), and a
draft the person edited is theirs: it never follows the case again.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import sqlite_utils

from companion.replies import sandbox, window
from companion.replies.sandbox import DraftError
from companion.replies.situation import TRANSFERRED, context
from companion.schema import utcnow

SITUATIONS = ("asked", "appeal", "follow_up", "reopen", "new_case", "reply")
PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,160}\]")
MAX_BODY = 100_000


def placeholders(body: str) -> list[str]:
    return PLACEHOLDER.findall(body or "")


def split_placeholders(db: sqlite_utils.Database, draft: dict) -> tuple[list[str], list[str]]:
    """(the template's placeholders still in the draft, other ``[text]`` the person typed),
    each without repeats. Both block "ready": any bracketed text may be a note-to-self,
    and a placeholder half edited is no longer the template's; the split only lets the
    message say which is which and how to keep a bracket on purpose."""
    left = list(dict.fromkeys(placeholders(draft.get("body") or "")))
    if not left:
        return [], []
    generated: set[str] = set()
    if draft.get("pending"):  # shown, not stored yet: its text is the template's
        generated.update(placeholders(draft["body"]))
    for r in db.query("select body from draft_revisions where draft_id = ? and "
                      "source = 'generated'", [draft.get("id")]):
        generated.update(placeholders(r["body"]))
    return [p for p in left if p in generated], [p for p in left if p not in generated]


WAITING = ("You marked your answer sent and Amazon has not written since: a new draft "
           "starts when Amazon writes again (or press \u201cStart a new draft\u201d).")
SITUATION_WORDS = {"asked": "Answer to what Amazon asked",
                   "appeal": "Plan of action for an appeal",
                   "follow_up": "Follow-up: no answer from Amazon",
                   "reopen": "Request to reopen",
                   "new_case": "A new case: this one can no longer be reopened",
                   "reply": "Reply"}
STATE_WORDS = {"draft": "Draft", "ready": "Ready to send", "sent": "Marked sent"}
EVENT_WORDS = {"draft_sent": "Marked sent", "draft_ready": "Marked ready"}
TYPED_HINT = ("caselog reads any text in square brackets as a placeholder; "
              "write it with round brackets ( ) if it is meant to stay")


def placeholder_message(template: list[str], typed: list[str]) -> str:
    """One sentence naming what still blocks a draft, for the page and the CLI."""
    def some(items):
        more = f" and {len(items) - 5} more" if len(items) > 5 else ""
        return ", ".join(items[:5]) + more
    parts = []
    if template:
        parts.append(f"fill in the placeholders first: {some(template)}")
    if typed:
        parts.append(f"square brackets you typed: {some(typed)} ({TYPED_HINT})")
    return "; ".join(parts)


def transfer_reason(case: dict) -> str:
    """Why a transferred case has no draft, and where to write instead."""
    other = case.get("continued_in")
    where = f"case {other}" if other else "another case"
    then = (f"Write to Amazon in case {other}." if other else
            "Amazon's message names the case that continues it; write to Amazon there.")
    return (f"Case {case['case_id']} was transferred to {where}: Amazon no longer tracks "
            f"it here, and it takes no reply and no reopening. {then}")


def _refuse_transferred(db: sqlite_utils.Database, case_id: str) -> None:
    case = db["cases"].get(case_id)
    if case["status"] in TRANSFERRED:
        raise DraftError(transfer_reason(case))


def render(db: sqlite_utils.Database, case_id: str, situation: str | None = None,
           now: datetime | None = None, ctx: dict | None = None) -> tuple[str, str, str]:
    """(situation, template name, body) for the case's current situation; a DraftError
    for a transferred case (no reply or reopen draft: see ``transfer_reason``)."""
    _refuse_transferred(db, case_id)
    ctx = ctx or context(db, case_id, now)
    situation = situation or ctx["situation"]
    if situation not in SITUATIONS:
        raise DraftError(f"unknown situation {situation!r}; one of {', '.join(SITUATIONS)}")
    name = f"{situation}.j2"
    return situation, name, sandbox.render(name, ctx, isolated=sandbox.is_users(name))


def render_string(source: str, db: sqlite_utils.Database, case_id: str) -> str:
    """Render template text (e.g. one a person is trying out) with a case's context,
    isolated like a person's template file."""
    return sandbox.render("<text>", context(db, case_id), source=source, isolated=True)


# --- stored drafts ------------------------------------------------------------------

def current(db: sqlite_utils.Database, case_id: str) -> dict | None:
    rows = list(db.query("select * from drafts where case_id = ? and state != 'sent' "
                         "order by id desc limit 1", [case_id]))
    return rows[0] if rows else None


def get(db: sqlite_utils.Database, case_id: str, draft_id: int) -> dict:
    rows = list(db.query("select * from drafts where case_id = ? and id = ?",
                         [case_id, draft_id]))
    if not rows:
        raise DraftError(f"no draft {draft_id} in case {case_id}")
    return rows[0]


def _revise(db, draft: dict, body: str, source: str) -> dict:
    now = utcnow()
    rev = (draft.get("revision") or 0) + 1
    with db.conn:
        db["drafts"].update(draft["id"], {"body": body, "revision": rev, "state": "draft",
                                          "updated_at": now, "ready_at": None})
        db["draft_revisions"].insert({"draft_id": draft["id"], "case_id": draft["case_id"],
                                      "revision": rev, "body": body, "source": source,
                                      "saved_at": now})
    return db["drafts"].get(draft["id"])


def last_source(db, draft_id: int) -> str | None:
    """generated or edited: who wrote the draft's current text."""
    rows = list(db.query("select source from draft_revisions where draft_id = ? "
                         "order by revision desc limit 1", [draft_id]))
    return rows[0]["source"] if rows else None


def _decide(db, case_id: str, regenerate: bool, situation: str | None,
            ctx: dict | None) -> tuple[dict | None, tuple | None]:
    """(the current stored draft, the rendering to store, or None to keep it as is).
    A draft nobody has edited yet follows the case: re-rendered when its data changed."""
    draft = current(db, case_id)
    if draft and not regenerate:
        if draft["state"] != "draft" or last_source(db, draft["id"]) != "generated":
            return draft, None
        rendered = render(db, case_id, situation, ctx=ctx)
        return draft, (None if rendered[2] == draft["body"] else rendered)
    return draft, render(db, case_id, situation, ctx=ctx)


def answered_at(db: sqlite_utils.Database, case_id: str) -> str | None:
    """When the person marked a reply sent after Amazon's last message, else None.
    Until Amazon writes again no new draft starts by itself: the answer is out, and a
    fresh draft of the same situation would only invite sending it twice."""
    row = db.execute(
        "select max(at) from draft_events where case_id = ? and kind = 'draft_sent' and "
        "at > coalesce((select max(sent_at) from messages where case_id = ? and "
        "sender = 'amazon'), '')", [case_id, case_id]).fetchone()
    return row[0] if row else None


def _waiting(db, case_id: str) -> bool:
    """No draft stored and an answer marked sent since Amazon last wrote."""
    return current(db, case_id) is None and answered_at(db, case_id) is not None


def preview(db: sqlite_utils.Database, case_id: str, ctx: dict | None = None) -> dict | None:
    """The draft a page shows, without writing: the stored one, or what ``ensure``
    would store, marked ``pending`` (its ``id`` is None when no draft is stored yet);
    None while the person's sent answer waits for Amazon (``answered_at``)."""
    if _waiting(db, case_id):
        return None
    draft, rendered = _decide(db, case_id, False, None, ctx)
    if rendered is None:
        return {**draft, "pending": False}
    situation, name, body = rendered
    if draft:
        return {**draft, "situation": situation, "template": name, "body": body,
                "revision": (draft["revision"] or 0) + 1, "pending": True}
    return {"id": None, "case_id": case_id, "situation": situation, "template": name,
            "body": body, "state": "draft", "revision": 1, "created_at": None,
            "updated_at": None, "ready_at": None, "sent_at": None, "pending": True}


def ensure(db: sqlite_utils.Database, case_id: str, regenerate: bool = False,
           situation: str | None = None, ctx: dict | None = None) -> dict:
    """The case's current draft, stored: generated when there is none (or when asked to
    regenerate: a new revision of the same draft, the old text kept in the history), an
    untouched one brought in step with the case. A transferred case has none
    (DraftError), even when one was stored before the transfer, and neither has a case
    whose sent answer waits for Amazon, unless the person asks (``regenerate``)."""
    _refuse_transferred(db, case_id)
    if not regenerate and _waiting(db, case_id):
        raise DraftError(WAITING)
    draft, rendered = _decide(db, case_id, regenerate, situation, ctx)
    if rendered is None:
        return draft
    situation, name, body = rendered
    if draft:
        with db.conn:
            db["drafts"].update(draft["id"], {"situation": situation, "template": name})
        return _revise(db, {**draft, "situation": situation}, body, "generated")
    now = utcnow()
    with db.conn:
        draft_id = db["drafts"].insert({
            "case_id": case_id, "situation": situation, "template": name, "body": "",
            "state": "draft", "revision": 0, "created_at": now, "updated_at": now}).last_pk
    return _revise(db, db["drafts"].get(draft_id), body, "generated")


def for_edit(db: sqlite_utils.Database, case_id: str, draft_id: int | None) -> int:
    """The id of the stored draft a form acts on. The page may have shown the draft only
    in memory (a new one, or an untouched one re-rendered): it is stored first, so the
    history holds the generated text the person started from. Refused for a
    transferred case (it takes no reply)."""
    _refuse_transferred(db, case_id)
    cur = current(db, case_id)
    if draft_id is None or (cur is not None and cur["id"] == draft_id):
        return ensure(db, case_id)["id"]
    return draft_id


def save(db: sqlite_utils.Database, case_id: str, draft_id: int, body: str) -> dict:
    """Save the person's edit as a new revision (a ready draft goes back to draft)."""
    draft = get(db, case_id, draft_id)
    if draft["state"] == "sent":
        raise DraftError("this draft was marked sent; start a new one instead")
    body = (body or "").replace("\x00", "").replace("\r\n", "\n")
    if len(body) > MAX_BODY:
        raise DraftError(f"the draft is longer than {MAX_BODY} characters")
    if body == draft["body"]:
        return draft
    return _revise(db, draft, body, "edited")


def history(db: sqlite_utils.Database, draft_id: int) -> list[dict]:
    return list(db.query("select * from draft_revisions where draft_id = ? "
                         "order by revision desc", [draft_id]))


def _refuse_placeholders(db, draft: dict, action: str) -> None:
    template, typed = split_placeholders(db, draft)
    if template or typed:
        raise DraftError(f"cannot mark {action}: {placeholder_message(template, typed)}")


def _event(db, draft: dict, kind: str, at: str) -> None:
    detail = {"situation": draft["situation"], "revision": draft["revision"],
              "excerpt": " ".join(draft["body"].split())[:160]}
    db["draft_events"].insert({"case_id": draft["case_id"], "draft_id": draft["id"],
                               "kind": kind, "at": at, "detail": json.dumps(detail)})


def _markable(db, case_id: str, draft_id: int, action: str) -> tuple[dict, str]:
    """The draft a person marks ready or sent, if it may be; and the moment."""
    draft = get(db, case_id, draft_id)
    if draft["state"] == "sent":
        raise DraftError("this draft was already marked sent")
    _refuse_placeholders(db, draft, action)
    return draft, utcnow()


def mark_ready(db: sqlite_utils.Database, case_id: str, draft_id: int) -> dict:
    draft, now = _markable(db, case_id, draft_id, "ready")
    with db.conn:
        db["drafts"].update(draft_id, {"state": "ready", "ready_at": now, "updated_at": now})
        _event(db, draft, "draft_ready", now)
    return db["drafts"].get(draft_id)


def mark_sent(db: sqlite_utils.Database, case_id: str, draft_id: int) -> dict:
    """The person says they sent this text in Seller Central; recorded for the timeline
    and the reminders. caselog itself never sends."""
    draft, now = _markable(db, case_id, draft_id, "sent")
    with db.conn:
        db["drafts"].update(draft_id, {"state": "sent", "sent_at": now, "updated_at": now,
                                       "ready_at": draft["ready_at"] or now})
        _event(db, draft, "draft_sent", now)
    return db["drafts"].get(draft_id)


def events(db: sqlite_utils.Database, case_id: str | None = None) -> list[dict]:
    """``draft_events`` rows, newest first, for timelines."""
    if case_id:
        return list(db.query("select * from draft_events where case_id = ? order by at desc",
                             [case_id]))
    return list(db.query("select * from draft_events order by at desc"))


def _reopen_notes(ctx: dict) -> list[str]:
    """The reopen window next to a reopen or new-case draft (``window``): until when,
    or why not any more and what to do instead."""
    r, situation, cid = ctx.get("reopen"), ctx["situation"], ctx["case"]["case_id"]
    if not r or situation not in ("reopen", "new_case"):
        return []
    if r["passed"]:
        return [window.advice(r, cid)]
    if situation == "new_case":  # a closed case without a Reopen button
        return [f"Seller Central shows no Reopen button for this case: open a new case "
                f"with this text; it cites case {cid}."]
    out = []
    if r["rule"] == "answered":
        left = "less than a day" if r["days_left"] < 1 else (
            f"{r['days_left']} day{'s' if r['days_left'] != 1 else ''}")
        out.append(f"Amazon reopens an answered case only within {r['window_days']} days "
                   f"of its last message: reopen by {r['closes']} ({left} left).")
    elif r["warn"]:
        out.append(f"Reopen soon: the window ends around {r['deadline']} "
                   f"({r['days_left']} days left).")
    if r["can_reopen"] == 0 and r.get("can_reply"):
        out.append("Seller Central still takes a reply on this case: send this as a "
                   "reply there, no reopening needed.")
    elif r["can_reopen"] == 0:
        out.append("Seller Central shows no Reopen button for this case; open a new case "
                   "and cite this case id.")
    return out


def notes(ctx: dict) -> list[str]:
    """Advice shown next to the draft, not inside it: deadlines and escalation."""
    out = _reopen_notes(ctx)
    if ctx["situation"] == "follow_up":
        if ctx["days_waiting"] is not None and ctx["days_waiting"] < ctx["follow_up_after_days"]:
            out.append(f"Amazon has had {ctx['days_waiting']} days; a follow-up is due after "
                       f"{ctx['follow_up_after_days']}. Contacting too often can delay a case.")
        if ctx["escalate"]:
            out.append(f"{ctx['follow_ups']} follow-ups without an answer: consider asking "
                       "for escalation.")
    return out
