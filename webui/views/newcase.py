"""Preparing a new case (``/cases/new``): choose a topic, see the open cases it would
duplicate before anything is written, prepare the description and the evidence,
download the dossier, and attach the work to the case once the seller opened it in
Seller Central and a sync brought it.

Plain HTML forms: every act is a POST with the CSRF token that redirects back (303) to
the page it came from, with its message carried by flash. GETs only read. The pages'
data comes from ``companion.newcase.pages``; the acts are ``companion.newcase.prepared``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from companion.newcase import dossier as newcase_dossier
from companion.newcase import pages as newcase
from companion.newcase import prepared, topics
from companion.read.params import clean_text
from companion.replies import evidence
from companion.replies.sandbox import DraftError
from webui.db import get_db
from webui.files import send_evidence

bp = Blueprint("newcase", __name__)
FLASH = ("newcase-ok", "newcase-error")
IDS_MAX = 500


def _flashes() -> list[tuple[str, str]]:
    return get_flashed_messages(with_categories=True, category_filter=FLASH)


def _back(pid: int | None = None, message: str | None = None, error: str | None = None,
          anchor: str = ""):
    if error:
        flash(error, "newcase-error")
    elif message:
        flash(message, "newcase-ok")
    target = url_for("newcase.show", pid=pid) if pid else url_for("newcase.index")
    return redirect(target + anchor, code=303)


@bp.get("/cases/new")
def index():
    """The topic chooser, or one topic (``?topic=``) with its warnings (``&ids=``)."""
    db = get_db()
    topic_id = clean_text(request.args.get("topic"), 64)
    if topic_id:
        ids = clean_text(request.args.get("ids"), IDS_MAX)
        found = newcase.topic_page(db, topic_id, ids)
        if found is not None:
            return render_template("newcase/topic.html", t=found, flashes=_flashes())
        flash(f"There is no topic {topic_id!r}; choose one from the list.", "newcase-error")
        status = 404
    else:
        status = 200
    return render_template("newcase/index.html", n=newcase.index_page(db),
                           flashes=_flashes()), status


@bp.post("/cases/new")
def prepare():
    topic_id = clean_text(request.form.get("topic"), 64)
    ids = clean_text(request.form.get("ids"), IDS_MAX)
    try:
        p = newcase.prepare(get_db(), topic_id, ids)
    except (topics.TopicError, DraftError) as exc:
        flash(str(exc), "newcase-error")
        return redirect(url_for("newcase.index", topic=topic_id or None, ids=ids or None),
                        code=303)
    return _back(p["id"], "Prepared. Fill in what caselog cannot know, then mark it ready.")


def _page_or_404(pid: int) -> dict:
    try:
        return newcase.prepared_page(get_db(), pid)
    except prepared.PreparedError:
        abort(404)


@bp.get("/cases/new/<rowid:pid>")
def show(pid: int):
    return render_template("newcase/prepared.html", d=_page_or_404(pid), flashes=_flashes())


def _exists_or_404(db, pid: int) -> dict:
    try:
        return prepared.get(db, pid)
    except prepared.PreparedError:
        abort(404)


def _act(pid: int, act, ok: str, anchor: str = ""):
    """Apply ``act(db)`` to an existing preparation and go back with its message."""
    db = get_db()
    _exists_or_404(db, pid)
    try:
        message = act(db) or ok
    except (prepared.PreparedError, evidence.EvidenceError) as exc:
        return _back(pid, error=str(exc), anchor=anchor)
    return _back(pid, message, anchor=anchor)


@bp.post("/cases/new/<rowid:pid>/save")
def save(pid: int):
    subject, body = request.form.get("subject"), request.form.get("description")
    return _act(pid, lambda db: prepared.save(db, pid, subject, body) and None,
                "Saved.", "#description")


@bp.post("/cases/new/<rowid:pid>/ready")
def ready(pid: int):
    subject, body = request.form.get("subject"), request.form.get("description")

    def act(db):
        prepared.save(db, pid, subject, body)  # the button also saves what is typed
        prepared.mark_ready(db, pid)

    return _act(pid, act, "Ready. Open the case in Seller Central with this text and "
                "these files; after your next sync caselog offers to attach this work "
                "to it.", "#description")


@bp.post("/cases/new/<rowid:pid>/done")
def tick(pid: int):
    key, done = clean_text(request.form.get("item"), 100), request.form.get("done") == "1"
    return _act(pid, lambda db: prepared.set_done(db, pid, key, done) and None,
                "Done." if done else "Not done.", "#checklist")


@bp.post("/cases/new/<rowid:pid>/files")
def upload(pid: int):
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _back(pid, error="Not attached: the file is larger than caselog accepts.")
    if upload is None or not upload.filename:
        return _back(pid, error="Choose a file to attach first.", anchor="#checklist")
    key = clean_text(request.form.get("item"), 100) or None

    def act(db):
        row = prepared.add_file(db, pid, upload.stream, upload.filename, key)
        return f"Attached {row['name']} ({row['size']} bytes)."

    return _act(pid, act, "Attached.", "#checklist")


@bp.post("/cases/new/<rowid:pid>/files/<rowid:fid>/remove")
def remove(pid: int, fid: int):
    return _act(pid, lambda db: f"Removed {prepared.remove_file(db, pid, fid)['name']}.",
                "Removed.", "#checklist")


@bp.get("/cases/new/<rowid:pid>/files/<rowid:fid>")
def download(pid: int, fid: int):
    return send_evidence(lambda: prepared.get_file(get_db(), pid, fid))


@bp.post("/cases/new/<rowid:pid>/attach")
def attach(pid: int):
    """The person confirmed: the work goes onto the case, and so do they."""
    db = get_db()
    case_id = clean_text(request.form.get("case_id"), 40)
    _exists_or_404(db, pid)
    try:
        p = prepared.attach_to_case(db, pid, case_id)
    except prepared.PreparedError as exc:
        return _back(pid, error=str(exc))
    return redirect(url_for("cases.case", case_id=p["case_id"]) + "#prepared", code=303)


@bp.post("/cases/new/<rowid:pid>/discard")
def discard(pid: int):
    return _act(pid, lambda db: prepared.discard(db, pid) and None,
                "Discarded: it is no longer offered for new cases.")


@bp.get("/cases/new/<rowid:pid>/dossier")
def prepared_dossier(pid: int):
    db = get_db()
    p = _exists_or_404(db, pid)
    html = newcase_dossier.build(db, pid, topics.library().get(p["topic"]))
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    resp = make_response(html)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Content-Disposition"] = (
        f'attachment; filename="caselog-prepared-{pid}-{stamp}.html"')
    return resp
