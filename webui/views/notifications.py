"""Notifications in the UI: the header's badge (unread count) and the list of an
account's notifications with Mark read (POSTs, CSRF-checked). The same events the watch
sent (``companion.notify``), read from the account's own database; All accounts merges
them (``webui.views.all_accounts``)."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for

from companion.notify import store
from companion.read.params import clamp_int
from webui.accounts import names, shown
from webui.db import account_db, base_account, get_db
from webui.htmx import is_htmx

bp = Blueprint("notifications", __name__)
SHOWN = 100


def _unread(db) -> int:
    try:
        return store.unread_count(db)
    except Exception:  # a database caselog cannot read: no badge rather than no page
        return 0


def badge(known: list[str], here: str | None) -> int:
    """Unread notifications of the account shown, or of every account (``here`` None)."""
    if here:
        return _unread(get_db())
    if not g.get("all_accounts"):
        return 0  # an error page before the account was known
    return sum(_unread(account_db(name)) for name in known)


@bp.app_context_processor
def _header_badge() -> dict:
    """base.html's badge: the account shown's unread count, every account's on All
    accounts."""
    known = names() if request.endpoint else [base_account()]
    return {"notify_badge": badge(known, shown())}


@bp.get("/notifications")
def index():
    unread_only = request.args.get("unread") == "1"
    rows = store.list_notifications(get_db(), unread_only=unread_only, limit=SHOWN)
    context = {"items": [{**r, "account": g.account.name, "ref": str(r["id"])} for r in rows],
               "unread_only": unread_only, "merged": False}
    if is_htmx():
        return render_template("_notifications.html", **context)
    return render_template("notifications.html", **context)


@bp.post("/notifications/read")
def read():
    """Mark one (``id``) or all (no ``id``) of the account's notifications read: a plain
    form post and a whole new page, so the header's badge counts again too."""
    nid = clamp_int(request.form.get("id"), 0, 0)
    store.mark_read(get_db(), [nid] if nid else None)
    return redirect(url_for("notifications.index"), code=303)
