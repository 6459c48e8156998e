"""Home's queue: the whole queue as a page, and the person's acts on its rows (snooze,
nothing to do, undo) and on home (mark as seen).

Every act is a plain form POST (CSRF token in a hidden field) that redirects back to
home; with htmx the same POST answers the refreshed queue partial, with the words of
what was done and its Undo. Views only wire ``companion.queue.marks`` and
``companion.queue.rows`` together.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)

from companion.queue import marks
from companion.queue import rows as queue
from companion.read.params import choice, clamp_int
from companion.read.queries import case_exists, utc_now
from webui.db import get_db
from webui.htmx import is_htmx
from webui.views.replies import replies_on

bp = Blueprint("queue", __name__)
FLASH = ("queue-ok", "queue-error", "queue-undo")


def _flashes() -> list:
    return get_flashed_messages(with_categories=True, category_filter=FLASH)


def queue_context() -> dict:
    """What ``_queue.html`` receives: ``wants`` (home's top of the queue and the
    groups' counts) and the messages carried over a redirect."""
    return {"wants": queue.home_queue(get_db(), utc_now(), with_evidence=replies_on()),
            "queue_flashes": _flashes()}


@bp.get("/queue")
def index():
    """One part of the queue (``group``: the list, ``stale`` or ``snoozed``), a page of
    50 rows; an htmx request (home opening a group) gets the rows alone."""
    group = choice(request.args.get("group"), queue.GROUPS, "rows")
    page = clamp_int(request.args.get("page"), 1, 1, 10**6)
    g = queue.group(get_db(), utc_now(), group, page, with_evidence=replies_on())
    if is_htmx():
        return render_template("_queue_group.html", g=g, full=False)
    back = url_for("queue.index", group=None if group == "rows" else group,
                   page=None if g["page"] == 1 else g["page"])
    return render_template("queue.html", g=g, full=True, back=back,
                           queue_flashes=_flashes())


def _done(message: str | None = None, error: str | None = None, undo: dict | None = None):
    """The queue partial for htmx (home), else back to the page the form was on (home,
    or a page of the whole queue), the words carried by flash."""
    if is_htmx():
        return render_template("_queue.html", message=message, error=error, undo=undo,
                               **queue_context())
    if error:
        flash(error, "queue-error")
    elif message:
        flash(message, "queue-ok")
        if undo:
            flash(f"{undo['case_id']}:{undo['id']}", "queue-undo")
    back = request.form.get("back") or ""
    if not back.startswith(request.script_root + "/queue") or "//" in back:  # our own
        back = url_for("home.index")
    return redirect(back + "#queue", code=303)


def _act(case_id: str, kind: str):
    db = get_db()
    if not case_exists(db, case_id):
        abort(404)
    now = utc_now()
    row = queue.row_for(db, case_id, now) or {"kind": "none", "what": "This case"}
    try:
        until = None
        if kind == "snooze":
            until = marks.snooze_until(
                choice(request.form.get("until"), marks.SNOOZES, ""),
                request.form.get("day"), now)
        m = marks.mark(db, case_id, kind, row["kind"], row["what"], until)
    except marks.MarkError as exc:
        return _done(error=str(exc))
    return _done(f"{row['what']} · case {case_id}: {marks.describe(m)}.", undo=m)


@bp.post("/queue/<case_id>/snooze")
def snooze(case_id: str):
    return _act(case_id, "snooze")


@bp.post("/queue/<case_id>/nothing")
def nothing(case_id: str):
    return _act(case_id, "nothing")


@bp.post("/queue/<case_id>/undo")
def undo(case_id: str):
    db = get_db()
    if not case_exists(db, case_id):
        abort(404)
    try:
        m = marks.undo(db, case_id, clamp_int(request.form.get("mark_id"), 0, 0))
    except marks.MarkError as exc:
        return _done(error=str(exc))
    return _done(f"Undone: {m['label'] or 'case ' + case_id} · case {case_id} is back "
                 "in the queue.")


@bp.post("/home/seen")
def seen():
    """The person has seen what home showed: what changed is counted from here on."""
    marks.mark_seen(get_db(), clamp_int(request.form.get("change_id"), 0, 0))
    # A whole new page, not a swap: the queue's "new" tags change with it.
    return redirect(url_for("home.index"), code=303)
