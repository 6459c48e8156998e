"""Documented replies in the UI: the actions on the case panel (checklist, evidence,
draft), the panel partial, the evidence and dossier downloads.

Every action is a plain form POST (CSRF token in a hidden field) that redirects back to
the case page; with htmx the same POST answers the refreshed panel. Only POSTs write:
each first stores what the page showed from memory (the checklist, the draft) and then
applies the person's act. Views only wire ``companion`` calls together; the panel's data
comes from ``companion.replies.panels``.
"""

from __future__ import annotations

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
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from companion.queue import derive
from companion.read.params import clamp_int, clean_text
from companion.read.queries import case_exists
from companion.replies import checklists, drafts, evidence, panels
from companion.replies import dossier as dossier_mod
from webui.db import get_db
from webui.files import send_evidence
from webui.htmx import is_htmx

bp = Blueprint("replies", __name__)
FLASH = ("replies-ok", "replies-error")


def replies_on() -> bool:
    """Whether this app shows the replies panels (``create_app(..., {"REPLIES": False})``
    leaves them out, for the UI benchmark's comparison)."""
    return bool(current_app.config.get("REPLIES", True))


def flashed() -> list[tuple[str, str]]:
    """The panel's messages carried over a redirect (plain forms, no htmx)."""
    return get_flashed_messages(with_categories=True, category_filter=FLASH)


def _case_or_404(case_id: str) -> None:
    if not case_exists(get_db(), case_id):
        abort(404)


def _panel(case_id: str, message: str | None = None, error: str | None = None,
           acted: bool = True):
    """The panel; after an act (``acted``) its draft follows the case (rendered)."""
    return render_template("replies/_case_panel.html", case_id=case_id,
                           r=panels.case_panel(get_db(), case_id, render_draft=acted),
                           message=message, error=error, flashes=flashed())


def _done(case_id: str, message: str | None = None, error: str | None = None):
    """The panel for htmx, else back to the case page (message carried by flash)."""
    if is_htmx():
        return _panel(case_id, message, error)
    if error:
        flash(error, "replies-error")
    elif message:
        flash(message, "replies-ok")
    return redirect(url_for("cases.case", case_id=case_id) + "#replies", code=303)


def _form_id(name: str) -> int | None:
    value = request.form.get(name)
    return None if not value else clamp_int(value, 0, 0)


@bp.get("/cases/<case_id>/replies")
def panel(case_id: str):
    _case_or_404(case_id)
    if not is_htmx():
        return redirect(url_for("cases.case", case_id=case_id) + "#replies")
    return _panel(case_id, acted=False)


def _item_action(case_id: str, act):
    """Store the checklist the page showed, find the item the form names by its key,
    and apply ``act(db, item)``, which returns the message to show."""
    _case_or_404(case_id)
    db = get_db()
    try:
        item = checklists.item_by_key(db, case_id, clean_text(request.form.get("item"), 500))
        return _done(case_id, act(db, item))
    except checklists.ChecklistError as exc:
        return _done(case_id, error=str(exc))


@bp.post("/cases/<case_id>/checklist/done")
def tick(case_id: str):
    done = request.form.get("done") == "1"

    def act(db, item):
        checklists.set_done(db, case_id, item["id"], done)
        return f"{'Done' if done else 'Not done'}: {item['text']}"

    return _item_action(case_id, act)


@bp.post("/cases/<case_id>/checklist/note")
def note(case_id: str):
    def act(db, item):
        checklists.set_note(db, case_id, item["id"], request.form.get("note", ""))
        return "Note saved."

    return _item_action(case_id, act)


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
    db = get_db()
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _done(case_id, error="The file is larger than caselog accepts.")
    if upload is None or not upload.filename:
        return _done(case_id, error="Choose a file to attach first.")
    try:
        key = clean_text(request.form.get("item"), 500)
        item_id = checklists.item_by_key(db, case_id, key)["id"] if key else None
        row = evidence.attach(db, case_id, upload.stream, upload.filename, item_id=item_id)
    except checklists.ChecklistError as exc:
        return _done(case_id, error=f"Not attached: {exc}")
    except evidence.EvidenceError as exc:
        return _done(case_id, error=f"Not attached: {exc}")
    return _done(case_id, f"Attached {row['name']} ({row['size']} bytes).")


@bp.post("/cases/<case_id>/evidence/<rowid:evidence_id>/remove")
def remove(case_id: str, evidence_id: int):
    _case_or_404(case_id)
    try:
        row = evidence.remove(get_db(), case_id, evidence_id)
    except evidence.EvidenceError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, f"Removed {row['name']}.")


@bp.get("/cases/<case_id>/evidence/<rowid:evidence_id>")
def download(case_id: str, evidence_id: int):
    return send_evidence(lambda: evidence.get(get_db(), case_id, evidence_id))



def _draft_action(case_id: str, act, ok: str):
    """Store the draft the page showed (it may have been computed only), then apply
    ``act(db, draft_id)``."""
    _case_or_404(case_id)
    db = get_db()
    try:
        act(db, drafts.for_edit(db, case_id, _form_id("draft_id")))
    except drafts.DraftError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, ok)


@bp.post("/cases/<case_id>/draft")
def save_draft(case_id: str):
    body = request.form.get("body", "")
    return _draft_action(case_id, lambda db, d: drafts.save(db, case_id, d, body),
                         "Draft saved.")


@bp.post("/cases/<case_id>/draft/open")
def open_draft(case_id: str):
    """Write the draft from the template for the case as it is now (or bring an
    untouched one in step with it), stored, so the editor opens on it."""
    _case_or_404(case_id)
    try:
        drafts.ensure(get_db(), case_id)
    except drafts.DraftError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, "Draft written from the template.")


@bp.post("/cases/<case_id>/draft/regenerate")
def regenerate(case_id: str):
    _case_or_404(case_id)
    db = get_db()
    fresh = drafts.current(db, case_id) is None
    try:
        drafts.ensure(db, case_id, regenerate=True)
    except drafts.DraftError as exc:
        return _done(case_id, error=str(exc))
    return _done(case_id, "New draft started." if fresh else
                 "Draft rebuilt from the template; the old text is in the history.")


@bp.post("/cases/<case_id>/draft/ready")
def ready(case_id: str):
    body = request.form.get("body")

    def act(db, d):
        if body is not None:  # the ready button also saves what is in the editor
            drafts.save(db, case_id, d, body)
        drafts.mark_ready(db, case_id, d)

    return _draft_action(case_id, act, "Draft marked ready. Copy it into Seller Central, "
                         "then mark it sent.")


SENT = ("Marked sent. The thread shows it as sent from caselog until a sync finds it in "
        "Seller Central; no new draft starts until Amazon writes again.")


@bp.post("/cases/<case_id>/draft/sent")
def sent(case_id: str):
    """Mark sent changes more than the panel (the thread, the status line): an htmx
    request has the whole case page reloaded, the message carried by flash."""
    _case_or_404(case_id)
    db = get_db()
    try:
        drafts.mark_sent(db, case_id, drafts.for_edit(db, case_id, _form_id("draft_id")))
        derive.refresh(db, [case_id], archive=False)
    except drafts.DraftError as exc:
        return _done(case_id, error=str(exc))
    if not is_htmx():
        return _done(case_id, SENT)
    flash(SENT, "replies-ok")
    response = make_response("")
    # A reload, not HX-Redirect: the browser treats a move to the same page with another
    # #fragment as a scroll, and the thread would stay as it was.
    response.headers["HX-Refresh"] = "true"
    return response


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
