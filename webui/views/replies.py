"""Documented replies in the UI: the case panel (checklist, evidence, draft, reminder,
related cases), the home panel (due and overdue reminders, checklist progress), the cases
table cell, and the timeline's draft events.

Every action is a plain form POST (CSRF token in a hidden field) that redirects back to
the case page; with htmx the same POST answers the refreshed panel. Views only wire
``companion`` calls together.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask import g as flask_g
from werkzeug.exceptions import RequestEntityTooLarge

from companion.home import home
from companion.read import queries
from companion.read.queries import case_filters_sql
from companion.replies import checklists, drafts, evidence, related, reminders
from companion.replies import dossier as dossier_mod
from webui.app import is_htmx
from webui.db import get_db

bp = Blueprint("replies", __name__)
FLASH = ("replies-ok", "replies-error")
HOME_REMINDERS = 15  # the most overdue first; the cases table holds the rest


def _case_or_404(case_id: str) -> dict:
    db = get_db()
    rows = list(db.query("select * from cases where case_id = ?", [case_id]))
    if not rows:
        abort(404)
    return rows[0]


# --- data for the partials ------------------------------------------------------------

def case_panel(case_id: str) -> dict:
    """Everything ``replies/_case_panel.html`` shows. Problems with the user's files
    (a broken template or settings file) become messages, not error pages."""
    db = get_db()
    out: dict = {"problems": [], "draft": None, "notes": [], "reminder": None}
    lib_errors: list[str] = []
    lib = checklists.default_library(errors=lib_errors)
    out["problems"] += lib_errors
    ctx = None
    try:
        ctx = drafts.context(db, case_id)
    except (reminders.ConfigError, drafts.DraftError) as exc:
        out["problems"].append(str(exc))
        checklists.refresh(db, case_id, lib)
    items = checklists.items(db, case_id)
    groups: list[dict] = []
    for it in items:
        if not groups or groups[-1]["title"] != it["checklist_title"]:
            groups.append({"title": it["checklist_title"], "items": []})
        groups[-1]["items"].append(it)
    for g in groups:
        # One quote per group when every item came from the same sentence; an item
        # quotes its own sentence only when it differs (a checklist asked for twice).
        said = {it["sentence"] for it in g["items"] if it["sentence"]}
        g["sentence"] = said.pop() if len(said) == 1 else None
    out.update(items=items, groups=groups, done=sum(i["done"] for i in items),
               total=len(items),
               loose=[e for e in evidence.list_for_case(db, case_id) if e["item_id"] is None])
    if ctx is not None:
        try:
            out["draft"] = drafts.ensure(db, case_id, ctx=ctx)
            out["notes"] = drafts.notes(ctx)
        except drafts.DraftError as exc:
            out["problems"].append(str(exc))
        try:
            out["reminder"] = reminders.for_cases(db, [case_id]).get(case_id)
        except reminders.ConfigError:
            pass
    d = out["draft"]
    if d and drafts.last_source(db, d["id"]) == "edited":
        newer = db.execute("select max(sent_at) from messages where case_id = ? and "
                           "sender = 'amazon'", [case_id]).fetchone()[0]
        if newer and newer > d["updated_at"]:
            out["notes"].append("Amazon wrote again after you last edited this draft. "
                                "\u201cRebuild from template\u201d starts from the new "
                                "situation; your text stays in the history.")
    out["placeholders"], out["typed_brackets"] = (
        drafts.split_placeholders(db, d) if d else ([], []))
    out["typed_hint"] = drafts.TYPED_HINT
    out["history"] = drafts.history(db, d["id"]) if d else []
    out["events"] = drafts.events(db, case_id)
    out["related"] = _related(db, case_id)
    out["max_mb"] = evidence.max_bytes() // (1024 * 1024)
    out["accept"] = ",".join("." + ext for ext in sorted(evidence.ALLOWED))
    return out


def _all_reminders(db) -> tuple[list[dict], dict]:
    """Every open case's reminder, cached until a sync writes, a draft event is added,
    the settings file changes, or five minutes pass (overdue flags are recomputed from
    the due dates on every call, so the cache never shows a stale 'due')."""
    config = reminders.load_config()
    settings = home() / "replies.toml"
    now = datetime.now(UTC)
    key = (queries.chart_key(db),
           db.execute("select max(id) from draft_events").fetchone()[0],
           settings.stat().st_mtime if settings.exists() else None,
           int(now.timestamp() // 300))
    # Replaced whole, never cleared in place: the server is threaded and another request
    # may be reading the previous dict.
    cache = current_app.extensions.get("caselog.reminders") or {}
    if cache.get("key") != key:
        cache = {"key": key,
                 "rems": list(reminders.for_cases(db, None, now, config).values())}
        current_app.extensions["caselog.reminders"] = cache
    return cache["rems"], config


def _related(db, case_id: str) -> list[dict]:
    """Related cases change only when a sync writes: cached per case until then."""
    key = queries.chart_key(db)
    cache = current_app.extensions.get("caselog.related") or {}
    if cache.get("key") != key or len(cache) > 500:  # new data, or bounded size
        cache = {"key": key}
        current_app.extensions["caselog.related"] = cache
    found = cache.get(case_id)
    if found is None:
        found = cache[case_id] = related.find(db, case_id)
    return found


def home_panel() -> dict:
    db = get_db()
    try:
        rems, config = _all_reminders(db)
        lists = reminders.split_due(rems, datetime.now(UTC), config)
        problem = None
    except reminders.ConfigError as exc:
        lists, problem = {"overdue": [], "due": []}, str(exc)
    owing = [r["case_id"] for r in db.query(
        "select case_id from cases where status = 'PendingMerchantAction' "
        "order by coalesce(last_amazon_reply_at, created_at) limit 20")]
    checklists.ensure_built(db, owing)
    prog = checklists.progress(db, owing)
    subjects = {r["case_id"]: r["subject"] for r in db.query(
        f"select case_id, subject from cases where case_id in ({','.join('?' * len(owing))})",
        owing)} if owing else {}
    progress = [{"case_id": c, "subject": subjects.get(c), **prog[c]}
                for c in owing if c in prog and prog[c]["total"]]
    shown = (lists["overdue"] + lists["due"])[:HOME_REMINDERS]
    return {**lists, "shown": shown, "more": len(lists["overdue"]) + len(lists["due"])
            - len(shown), "progress": progress, "problem": problem}


def progress_for(case_id: str) -> dict | None:
    """Called once per row of the cases table: the library is looked up (its files
    stat-ed) once per request, not per row."""
    db = get_db()
    if "caselog_checklists" not in flask_g:
        flask_g.caselog_checklists = checklists.default_library(errors=[])
    checklists.ensure_built(db, [case_id], flask_g.caselog_checklists)
    return checklists.progress(db, [case_id]).get(case_id)


# --- timeline sources -------------------------------------------------------------------

def draft_event_source(db, filters, cursor, limit) -> list[dict]:
    """``draft_events`` as timeline events (rank 3, seq = id), same order and cursor rule
    as companion.timeline."""
    where, params = case_filters_sql(filters)
    if "from" in filters:
        where.append("e.at >= :date_from")
        params["date_from"] = filters["from"]
    if "to" in filters:
        where.append("e.at < date(:date_to, '+1 day')")
        params["date_to"] = filters["to"]
    if cursor is not None:
        params["cur_at"] = cursor.at
        if 3 < cursor.rank:
            where.append("e.at < :cur_at")
        elif 3 > cursor.rank:
            where.append("e.at <= :cur_at")
        else:
            params["cur_seq"] = cursor.seq
            where.append("(e.at < :cur_at OR (e.at = :cur_at AND e.id < :cur_seq))")
    params["limit"] = limit
    sql = f"""
        SELECT e.id AS seq, e.at, e.kind, e.case_id, e.detail, c.subject, c.status,
               c.category
        FROM draft_events e JOIN cases c ON c.case_id = e.case_id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY e.at DESC, e.id DESC LIMIT :limit"""
    out = []
    for r in db.query(sql, params):
        try:
            r["detail_data"] = json.loads(r["detail"] or "{}")
        except ValueError:
            r["detail_data"] = {}
        out.append({**r, "rank": 3})
    return out


def _reminder_events(db) -> list[dict]:
    """All due and overdue reminders as timeline events, newest first, cached with the
    reminders themselves."""
    rems, _ = _all_reminders(db)
    cache = current_app.extensions["caselog.reminders"]
    events = cache.get("events")
    if events is None:
        events = [{**e, "kind": "reminder", "rank": 4,
                   "seq": int(e["case_id"]) if e["case_id"].isdigit() else 0}
                  for e in reminders.timeline_events(db, rems=rems)]
        events.sort(key=lambda e: (e["at"], e["rank"], e["seq"]), reverse=True)
        cache["events"] = events
    return events


def reminder_source(db, filters, cursor, limit) -> list[dict]:
    """Due and overdue reminders as timeline events at their due time (rank 4)."""
    try:
        events = _reminder_events(db)
    except reminders.ConfigError:
        return []
    if "case" in filters:
        events = [e for e in events if e["case_id"] == filters["case"]]
    where, params = case_filters_sql(filters)
    keep = None
    if where and events:
        keep = {r["case_id"] for r in db.query(
            "select c.case_id from cases c where " + " and ".join(where), params)}
    start = (cursor.at, cursor.rank, cursor.seq) if cursor is not None else None
    out = []
    for e in events:  # newest first: skip to the cursor, then take a page
        if start is not None and (e["at"], e["rank"], e["seq"]) >= start:
            continue
        day = e["at"][:10]
        if (keep is not None and e["case_id"] not in keep) or (
                "from" in filters and day < filters["from"]) or (
                "to" in filters and day > filters["to"]):
            continue
        out.append(e)
        if len(out) >= limit:
            break
    return out


def _keep_uploads_home(app) -> None:
    """werkzeug spools uploads over 500 KB to the system temp folder; evidence must not
    touch the disk outside CASELOG_HOME, so spool them into the evidence folder (an
    unnamed temporary file, gone when the request ends)."""
    base = app.request_class

    class Request(base):
        def _get_file_stream(self, total_content_length, content_type, filename=None,
                             content_length=None):
            return tempfile.SpooledTemporaryFile(max_size=500 * 1024, mode="rb+",
                                                 dir=evidence.evidence_dir())

    app.request_class = Request


def init_app(app) -> None:
    _keep_uploads_home(app)
    app.config.setdefault("TIMELINE_SOURCES", [])
    app.config["TIMELINE_SOURCES"] += [draft_event_source, reminder_source]
    app.jinja_env.globals.update(replies_case=case_panel, replies_home=home_panel,
                                 replies_progress=progress_for, replies_flashed=flashed)


# --- actions ------------------------------------------------------------------------------

def _done(case_id: str, message: str | None = None, error: str | None = None):
    """The panel for htmx, else back to the case page (message carried by flash)."""
    if is_htmx():
        case = _case_or_404(case_id)
        return render_template("replies/_case_panel.html", case=case, message=message,
                               error=error)
    if error:
        flash(error, "replies-error")
    elif message:
        flash(message, "replies-ok")
    return redirect(url_for("cases.case", case_id=case_id) + "#replies", code=303)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@bp.get("/cases/<case_id>/replies")
def panel(case_id: str):
    case = _case_or_404(case_id)
    if not is_htmx():
        return redirect(url_for("cases.case", case_id=case_id) + "#replies")
    return render_template("replies/_case_panel.html", case=case)


@bp.post("/cases/<case_id>/checklist/<int:item_id>/done")
def tick(case_id: str, item_id: int):
    _case_or_404(case_id)
    done = request.form.get("done") == "1"
    try:
        item = checklists.set_done(get_db(), case_id, item_id, done)
    except checklists.ChecklistError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, f"{'Done' if done else 'Not done'}: {item['text']}")


@bp.post("/cases/<case_id>/checklist/<int:item_id>/note")
def note(case_id: str, item_id: int):
    _case_or_404(case_id)
    try:
        checklists.set_note(get_db(), case_id, item_id, request.form.get("note", ""))
    except checklists.ChecklistError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, "Note saved.")


@bp.post("/cases/<case_id>/checklist/add")
def add_item(case_id: str):
    _case_or_404(case_id)
    try:
        checklists.add_item(get_db(), case_id, request.form.get("text", ""))
    except checklists.ChecklistError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, "Item added.")


@bp.post("/cases/<case_id>/evidence")
def attach(case_id: str):
    _case_or_404(case_id)
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _done(case_id, error="The file is larger than caselog accepts.")
    if upload is None or not upload.filename:
        return _done(case_id, error="Choose a file to attach first.")
    try:
        row = evidence.attach(get_db(), case_id, upload.stream, upload.filename,
                              item_id=_int(request.form.get("item_id")))
    except evidence.EvidenceError as exc:
        return _done(case_id, error=f"Not attached: {exc}")
    return _done(case_id, f"Attached {row['name']} ({row['size']} bytes).")


@bp.post("/cases/<case_id>/evidence/<int:evidence_id>/remove")
def remove(case_id: str, evidence_id: int):
    _case_or_404(case_id)
    try:
        row = evidence.remove(get_db(), case_id, evidence_id)
    except evidence.EvidenceError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, f"Removed {row['name']}.")


@bp.get("/cases/<case_id>/evidence/<int:evidence_id>")
def download(case_id: str, evidence_id: int):
    try:
        row = evidence.get(get_db(), case_id, evidence_id)
        path = evidence.file_path(row)
    except evidence.EvidenceError:
        abort(404)
    if not path.is_file():
        abort(404)
    return send_file(path, as_attachment=True, download_name=row["name"],
                     mimetype="application/octet-stream")


def _draft_action(case_id: str, fn, ok: str):
    _case_or_404(case_id)
    draft_id = _int(request.form.get("draft_id"))
    if draft_id is None:
        return _done(case_id, error="No draft given.")
    try:
        fn(draft_id)
    except drafts.DraftError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, ok)


@bp.post("/cases/<case_id>/draft")
def save_draft(case_id: str):
    body = request.form.get("body", "")
    return _draft_action(case_id, lambda d: drafts.save(get_db(), case_id, d, body),
                         "Draft saved.")


@bp.post("/cases/<case_id>/draft/regenerate")
def regenerate(case_id: str):
    _case_or_404(case_id)
    try:
        drafts.ensure(get_db(), case_id, regenerate=True)
    except drafts.DraftError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, "Draft rebuilt from the template; the old text is in the history.")


@bp.post("/cases/<case_id>/draft/ready")
def ready(case_id: str):
    body = request.form.get("body")

    def act(d):
        if body is not None:  # the ready button also saves what is in the editor
            drafts.save(get_db(), case_id, d, body)
        drafts.mark_ready(get_db(), case_id, d)

    return _draft_action(case_id, act, "Draft marked ready. Copy it into Seller Central, "
                         "then mark it sent.")


@bp.post("/cases/<case_id>/draft/sent")
def sent(case_id: str):
    return _draft_action(case_id, lambda d: drafts.mark_sent(get_db(), case_id, d),
                         "Marked sent. It is on the timeline; the next sync will show it.")


@bp.get("/cases/<case_id>/dossier")
def dossier(case_id: str):
    _case_or_404(case_id)
    html = dossier_mod.build(get_db(), case_id)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    resp = make_response(html)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Content-Disposition"] = (
        f'attachment; filename="caselog-dossier-{case_id}-{stamp}.html"')
    return resp


def flashed() -> list[tuple[str, str]]:
    return get_flashed_messages(with_categories=True, category_filter=FLASH)
