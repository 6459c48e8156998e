"""Sync now and Sign in (POSTs, CSRF-checked) and the self-polling progress partial."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from companion.folders import top
from companion.read import queries, sources
from webui.accounts import account_of, fallback_portal
from webui.db import base_account, db_path_for, get_db
from webui.htmx import is_htmx
from webui.syncrun import SyncRunner, can_open_browser

bp = Blueprint("sync", __name__, url_prefix="/sync")


def runner(name: str | None = None) -> SyncRunner:
    """The account's runner (the request's account by default), made on first use."""
    name = name or g.account.name
    runners = current_app.extensions.setdefault("caselog.syncs", {})
    if name not in runners:  # setdefault: two first requests share one runner
        if name == base_account():
            made = SyncRunner(current_app.config["DB_PATH"],
                              current_app.config.get("CASELOG_HOME"), name)
            current_app.extensions.setdefault("caselog.sync", made)  # serve stops it
        else:
            made = SyncRunner(db_path_for(name), str(top()), name)
        runners.setdefault(name, made)
    return runners[name]


def sync_context(db, name: str | None = None) -> dict:
    """What ``_sync.html`` shows for an account (the request's by default)."""
    name = name or g.account.name
    portal = queries.portal_url(db) or fallback_portal(name)
    # The sign-in window opens on the computer running caselog: only offered when that is
    # the person's own (a loopback bind) and it has a screen.
    can_login = bool(portal) and current_app.config.get("OPEN_LOGIN", True) \
        and can_open_browser()
    return {"sync": runner(name).status(db), "portal": portal, "can_login": can_login,
            "login": runner(name).login_status(),
            "choices": sources.sync_choices(db, portal, account_of(name))}


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
