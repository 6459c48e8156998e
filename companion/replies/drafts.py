"""Drafted replies: the template chosen by the case's situation, rendered in a Jinja
sandbox, saved with every revision, marked ready and marked sent by the person.

caselog prepares and never sends. A draft never invents a fact: what the data cannot
tell (the seller's name, a root cause) is a visible ``[placeholder]``, and a draft that
still holds one cannot be marked ready or sent. Templates are files
(``companion/replies/data/templates/*.j2``, overridden by ``CASELOG_HOME/templates/``) and are
treated as untrusted: sandboxed, no attribute tricks, bounded time and output.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jinja2
import sqlite_utils
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from companion.home import home
from companion.replies import checklists, reminders
from companion.schema import utcnow

BUILTIN_TEMPLATES = Path(__file__).parent / "data" / "templates"
SITUATIONS = ("asked", "appeal", "follow_up", "reopen", "reply")
PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,160}\]")
RENDER_SECONDS = 2.0
MAX_OUTPUT = 100_000
MAX_BODY = 100_000


class DraftError(ValueError):
    """A refused draft action (placeholders left, wrong state); the message says why."""


class DraftTemplateError(DraftError):
    """A template that cannot be rendered safely; names the template and the problem."""


class _Sandbox(SandboxedEnvironment):
    """The stock sandbox (no private attributes, bounded ``range``) plus bounds on
    ``*`` and ``**`` so one expression cannot allocate gigabytes."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) \
                        and len(seq) * n > MAX_OUTPUT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


def template_dirs() -> list[Path]:
    return [home() / "templates", BUILTIN_TEMPLATES]


def environment() -> _Sandbox:
    return _Sandbox(
        loader=jinja2.FileSystemLoader([str(p) for p in template_dirs()]),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
    )


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
    for r in db.query("select body from draft_revisions where draft_id = ? and "
                      "source = 'generated'", [draft["id"]]):
        generated.update(placeholders(r["body"]))
    return [p for p in left if p in generated], [p for p in left if p not in generated]


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


def _no_brackets(value):
    """Text quoted from the portal must not look like a placeholder."""
    if isinstance(value, str):
        return value.replace("[", "(").replace("]", ")")
    return value


def _ph(text: str) -> str:
    return "[" + str(text).replace("[", "(").replace("]", ")") + "]"


def _day(dt: datetime | None) -> str | None:
    return f"{dt:%B} {dt.day}, {dt:%Y}" if dt else None


def _render(env: _Sandbox, name: str, ctx: dict, source: str | None = None) -> str:
    """Render with a wall-clock budget enforced by a trace function (a template's endless
    loop raises inside the loop) and a cap on output size."""
    deadline = time.monotonic() + RENDER_SECONDS

    def tracer(frame, event, arg):
        if time.monotonic() > deadline:
            raise DraftTemplateError(
                f"template {name}: took longer than {RENDER_SECONDS:g} s (an endless loop?)")
        return tracer

    out: list[str] = []
    size = 0
    old = sys.gettrace()
    try:
        tmpl = env.from_string(source) if source is not None else env.get_template(name)
        sys.settrace(tracer)
        try:
            for chunk in tmpl.generate(**ctx):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise DraftTemplateError(
                        f"template {name}: output longer than {MAX_OUTPUT} characters")
                out.append(chunk)
        finally:
            sys.settrace(old)
    except DraftTemplateError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise DraftTemplateError(f"template {name}, line {exc.lineno}: {exc.message}") from exc
    except SecurityError as exc:
        raise DraftTemplateError(f"template {name}: not allowed: {exc}") from exc
    except jinja2.UndefinedError as exc:
        raise DraftTemplateError(f"template {name}: unknown name: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise DraftTemplateError(f"template {name}: cannot find template {exc.name!r}") from exc
    except RecursionError as exc:
        raise DraftTemplateError(f"template {name}: recursion too deep") from exc
    except MemoryError as exc:
        raise DraftTemplateError(f"template {name}: used too much memory") from exc
    except Exception as exc:  # any other failure of user-supplied template code
        raise DraftTemplateError(f"template {name}: {type(exc).__name__}: {exc}") from exc
    return "".join(out)


# --- the case's situation ------------------------------------------------------------

def context(db: sqlite_utils.Database, case_id: str, now: datetime | None = None) -> dict:
    """Everything a template may use, plus ``situation``. Values the data cannot give are
    None, and templates show them with ``ph()``."""
    now = now or datetime.now(UTC)
    case = db["cases"].get(case_id)
    config = reminders.load_config()
    s = reminders.settings_for(config, case.get("category"))
    msgs = list(db.query("select message_key, sender, sent_at from messages where case_id = ? "
                         "order by sent_at", [case_id]))
    last_amazon = max((m["sent_at"] for m in msgs if m["sender"] == "amazon"), default=None)
    last_seller = max((m["sent_at"] for m in msgs if m["sender"] == "seller"), default=None)
    sent_events = [e["at"] for e in db.query(
        "select at from draft_events where case_id = ? and kind = 'draft_sent'", [case_id])]

    items = checklists.refresh(db, case_id)
    all_asks = checklists.scan_asks(db, case_id)
    # Open asks: those in Amazon's messages after the seller last wrote; if the seller owes
    # an answer but wrote since, the latest Amazon message that asked anything.
    open_asks = [a for a in all_asks if not last_seller or (a["sent_at"] or "") > last_seller]
    if not open_asks and case["status"] == "PendingMerchantAction" and all_asks:
        latest = all_asks[-1]["message_key"]
        open_asks = [a for a in all_asks if a["message_key"] == latest]
    ask_rows = []
    answered: set[str] = set()
    for a in open_asks:
        if a["kind"] in answered:  # asked again in a later message: one answer is enough
            continue
        answered.add(a["kind"])
        evid = [e for it in items if it["ask_kind"] == a["kind"] for e in it["evidence"]]
        ask_rows.append({
            "kind": a["kind"], "label": a["label"], "sentence": _no_brackets(a["sentence"]),
            "sent_on": _day(reminders.parse_time(a["sent_at"])),
            "evidence": [_no_brackets(e["name"]) for e in evid],
            "items": [_no_brackets(it["text"]) for it in items if it["ask_kind"] == a["kind"]],
        })
    evidence = [_no_brackets(e["name"]) for e in db.query(
        "select name from evidence where case_id = ? order by id", [case_id])]

    seller_last = max([t for t in [last_seller, *sent_events] if t], default=None)
    seller_last_dt = reminders.parse_time(seller_last)
    days_waiting = (now - seller_last_dt).days if seller_last_dt else None
    after_amazon = [m for m in msgs if m["sender"] == "seller"
                    and (not last_amazon or m["sent_at"] > last_amazon)]
    unsynced = [t for t in sent_events if not last_seller or t > last_seller]
    follow_ups = max(len(after_amazon) - 1, 0) + len(unsynced)

    # The closing date is known only when caselog saw the change happen, and then only
    # to within the syncs around it: closed after the sync that last saw the old status,
    # before the one that saw the new. The draft names the day only when both fall on
    # it; the window counts from the earlier bound, so its warning never comes late. A
    # case first synced as closed has no such date: the window is estimated from
    # Amazon's last message (said with "about" in the notes).
    closed_at = closed_after = None
    for r in db.query("select status, previous_status, observed_at, sync_id from "
                      "status_history where case_id = ? order by observed_at", [case_id]):
        if r["status"] in ("Closed", "Answered") and r["previous_status"]:
            closed_at = r["observed_at"]
            closed_after = db.execute(
                "select max(started_at) from syncs where id < ? and started_at < ?",
                [r["sync_id"] or 0, closed_at]).fetchone()[0]
    closed_dt = reminders.parse_time(closed_after or closed_at or last_amazon
                                     or case["created_at"])
    seen_dt = reminders.parse_time(closed_at)
    closed_day = _day(seen_dt) if seen_dt and closed_dt and seen_dt.date() == closed_dt.date() \
        else None
    reopen = None
    if closed_dt:
        deadline = closed_dt + timedelta(days=s["reopen_window_days"])
        left = (deadline - now).days
        reopen = {"closed_on": closed_day,
                  "deadline": _day(deadline),
                  "days_left": left, "warn": 0 <= left <= s["reopen_warn_days"],
                  "passed": left < 0, "can_reopen": case.get("can_reopen"),
                  "can_reply": case.get("can_edit")}

    status, category = case["status"], (case.get("category") or "")
    if status == "PendingMerchantAction" and "account health" in category.lower():
        situation = "appeal"
    elif status in ("PendingMerchantAction", "Answered") and ask_rows:
        # "Answered" with asks after the seller's last message: Amazon's answer was a
        # request for documents, so the reply answers it (no reopen needed: the case
        # is still open to a reply).
        situation = "asked"
    elif status in reminders.WAITING_ON_AMAZON:
        situation = "follow_up"
    elif status in ("Closed", "Answered"):
        situation = "reopen"
    else:
        situation = "reply"

    return {
        "situation": situation,
        "case": {"case_id": case_id, "subject": _no_brackets(case["subject"]),
                 "category": _no_brackets(category) or None, "status": status,
                 "created_on": _day(reminders.parse_time(case["created_at"]))},
        "today": _day(now), "asks": ask_rows, "evidence": evidence,
        "open_items": [_no_brackets(i["text"]) for i in items if not i["done"]],
        "last_seller_message_on": _day(seller_last_dt), "days_waiting": days_waiting,
        "last_amazon_message_on": _day(reminders.parse_time(last_amazon)),
        "amazon_replied_since": bool(last_amazon and (not seller_last
                                                      or last_amazon > seller_last)),
        "follow_up_after_days": s["follow_up_after_days"], "follow_ups": follow_ups,
        "escalate": follow_ups >= s["escalate_after_follow_ups"],
        "reopen": reopen,
        "seller_name": _no_brackets(str(config["seller"].get("name") or "")) or None,
        "ph": _ph,
    }


# A person's own template runs in a child process with an address-space cap: the
# sandbox stops attribute tricks and the tracer stops endless loops, but a single call
# such as ``'%999999999d' % 1`` or ``'x'.ljust(10**9)`` allocates gigabytes before any
# check can run. The built-in templates are the project's own and render in-process.
CHILD_MEMORY = 768 * 1024 * 1024
CHILD_SECONDS = RENDER_SECONDS + 8.0  # the child's own start-up, then the render budget


def _child_main() -> None:
    """Entry point of the rendering child: JSON job on stdin, JSON answer on stdout."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    job = json.loads(sys.stdin.read())
    env = _Sandbox(
        loader=jinja2.FileSystemLoader(job["dirs"]), undefined=jinja2.StrictUndefined,
        autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    try:
        body = _render(env, job["name"], {**job["ctx"], "ph": _ph}, source=job["source"])
        answer = {"body": body}
    except DraftTemplateError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": f"template {job['name']}: used too much memory"}
    sys.stdout.write(json.dumps(answer))


def _render_isolated(name: str, ctx: dict, source: str | None = None) -> str:
    import subprocess

    job = json.dumps({"dirs": [str(p) for p in template_dirs()], "name": name,
                      "source": source, "ctx": {k: v for k, v in ctx.items() if k != "ph"}})
    try:
        proc = subprocess.run(
            [sys.executable, "-c", f"from {__name__} import _child_main; _child_main()"],
            input=job, capture_output=True, text=True, timeout=CHILD_SECONDS,
            cwd=str(Path(__file__).resolve().parents[2]))
    except subprocess.TimeoutExpired as exc:
        raise DraftTemplateError(
            f"template {name}: took longer than {RENDER_SECONDS:g} s (an endless loop?)") from exc
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise DraftTemplateError(f"template {name}: used too much memory or crashed")
    if "error" in answer:
        raise DraftTemplateError(answer["error"])
    return answer["body"]


def _is_users(name: str) -> bool:
    return (home() / "templates" / name).is_file()


def render(db: sqlite_utils.Database, case_id: str, situation: str | None = None,
           now: datetime | None = None, ctx: dict | None = None) -> tuple[str, str, str]:
    """(situation, template name, body) for the case's current situation."""
    ctx = ctx or context(db, case_id, now)
    situation = situation or ctx["situation"]
    if situation not in SITUATIONS:
        raise DraftError(f"unknown situation {situation!r}; one of {', '.join(SITUATIONS)}")
    name = f"{situation}.j2"
    if _is_users(name):
        return situation, name, _render_isolated(name, ctx)
    return situation, name, _render(environment(), name, ctx)


def render_string(source: str, db: sqlite_utils.Database, case_id: str) -> str:
    """Render template text (e.g. one a person is trying out) with a case's context,
    isolated like a person's template file."""
    return _render_isolated("<text>", context(db, case_id), source=source)


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


def ensure(db: sqlite_utils.Database, case_id: str, regenerate: bool = False,
           situation: str | None = None, ctx: dict | None = None) -> dict:
    """The case's current draft, generating one when there is none (or when asked to
    regenerate: a new revision of the same draft, the old text kept in the history).
    A draft nobody has edited yet follows the case: re-rendered when its data changed."""
    draft = current(db, case_id)
    if draft and not regenerate:
        if draft["state"] != "draft" or last_source(db, draft["id"]) != "generated":
            return draft
        # Nobody edited it yet: keep it in step with the case (new asks, new evidence).
        situation, name, body = render(db, case_id, situation, ctx=ctx)
        if body == draft["body"]:
            return draft
    else:
        situation, name, body = render(db, case_id, situation, ctx=ctx)
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


def mark_ready(db: sqlite_utils.Database, case_id: str, draft_id: int) -> dict:
    draft = get(db, case_id, draft_id)
    if draft["state"] == "sent":
        raise DraftError("this draft was already marked sent")
    _refuse_placeholders(db, draft, "ready")
    now = utcnow()
    with db.conn:
        db["drafts"].update(draft_id, {"state": "ready", "ready_at": now, "updated_at": now})
        _event(db, draft, "draft_ready", now)
    return db["drafts"].get(draft_id)


def mark_sent(db: sqlite_utils.Database, case_id: str, draft_id: int) -> dict:
    """The person says they sent this text in Seller Central; recorded for the timeline
    and the reminders. caselog itself never sends."""
    draft = get(db, case_id, draft_id)
    if draft["state"] == "sent":
        raise DraftError("this draft was already marked sent")
    _refuse_placeholders(db, draft, "sent")
    now = utcnow()
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


def notes(ctx: dict) -> list[str]:
    """Advice shown next to the draft, not inside it: deadlines and escalation."""
    out = []
    r = ctx.get("reopen")
    if ctx["situation"] == "reopen" and r:
        if r["passed"]:
            out.append(f"The reopen window (about {r['deadline']}) seems to have passed; "
                       "open a new case and cite this case id.")
        elif r["warn"]:
            out.append(f"Reopen soon: the window ends around {r['deadline']} "
                       f"({r['days_left']} days left).")
        if r["can_reopen"] == 0 and r.get("can_reply"):
            out.append("Seller Central still takes a reply on this case: send this as a "
                       "reply there, no reopening needed.")
        elif r["can_reopen"] == 0:
            out.append("Seller Central shows no Reopen button for this case; open a new case "
                       "and cite this case id.")
    if ctx["situation"] == "follow_up":
        if ctx["days_waiting"] is not None and ctx["days_waiting"] < ctx["follow_up_after_days"]:
            out.append(f"Amazon has had {ctx['days_waiting']} days; a follow-up is due after "
                       f"{ctx['follow_up_after_days']}. Contacting too often can delay a case.")
        if ctx["escalate"]:
            out.append(f"{ctx['follow_ups']} follow-ups without an answer: consider asking "
                       "for escalation.")
    return out
