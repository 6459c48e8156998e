"""Sync now and Sign in (POSTs, CSRF-checked) and the self-polling progress partial."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from companion.read import queries, sources
from webui.db import get_db
from webui.htmx import is_htmx
from webui.syncrun import SyncRunner, can_open_browser

bp = Blueprint("sync", __name__, url_prefix="/sync")


def runner() -> SyncRunner:
    ext = current_app.extensions
    if "caselog.sync" not in ext:  # setdefault: two first requests share one runner
        ext.setdefault("caselog.sync", SyncRunner(current_app.config["DB_PATH"],
                                                  current_app.config.get("CASELOG_HOME")))
    return ext["caselog.sync"]


def sync_context(db) -> dict:
    portal = queries.portal_url(db) or current_app.config.get("PORTAL_URL")
    # The sign-in window opens on the computer running caselog: only offered when that is
    # the person's own (a loopback bind) and it has a screen.
    can_login = bool(portal) and current_app.config.get("OPEN_LOGIN", True) \
        and can_open_browser()
    return {"sync": runner().status(db), "portal": portal, "can_login": can_login,
            "login": runner().login_status(), "choices": sources.sync_choices(db, portal)}


@bp.post("/")
def start():
    """Sync from the chosen source (the form's ``source``: ``portal`` or ``spapi:<URL>``),
    or from the portal when none is chosen; only targets the page offered are taken."""
    db = get_db()
    context = sync_context(db)
    wanted = request.form.get("source", "portal")
    for choice in context["choices"]:
        key = choice["source"] if choice["source"] == "portal" else \
            f"spapi:{choice['target']}"
        if key == wanted:
            runner().start(choice["target"], queries.last_sync_id(db), choice["source"])
            break
    if is_htmx():
        return render_template("_sync.html", **sync_context(db))
    return redirect(url_for("home.index") + "#sync")


@bp.post("/login")
def login():
    """Open the interactive ``caselog login`` window in the background (never inside the
    request: the request only starts the process)."""
    db = get_db()
    context = sync_context(db)
    if context["can_login"]:
        runner().start_login(context["portal"])
        context = sync_context(db)
    if is_htmx():
        return render_template("_sync.html", **context)
    return redirect(url_for("home.index") + "#sync")


@bp.get("/status")
def status():
    db = get_db()
    if request.headers.get("HX-Request"):
        return render_template("_sync.html", **sync_context(db))
    return render_template("sync.html", **sync_context(db))
