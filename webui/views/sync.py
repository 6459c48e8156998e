"""Sync now (POST, CSRF-checked) and its self-polling progress partial."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from companion import queries
from webui.app import is_htmx
from webui.db import get_db
from webui.syncrun import SyncRunner

bp = Blueprint("sync", __name__, url_prefix="/sync")


def runner() -> SyncRunner:
    ext = current_app.extensions
    if "caselog.sync" not in ext:  # setdefault: two first requests share one runner
        ext.setdefault("caselog.sync", SyncRunner(current_app.config["DB_PATH"],
                                                  current_app.config.get("CASELOG_HOME")))
    return ext["caselog.sync"]


def sync_context(db) -> dict:
    portal = queries.portal_url(db) or current_app.config.get("PORTAL_URL")
    return {"sync": runner().status(db), "portal": portal}


@bp.post("/")
def start():
    db = get_db()
    portal = queries.portal_url(db) or current_app.config.get("PORTAL_URL")
    if portal:
        runner().start(portal, queries.last_sync_id(db))
    if is_htmx():
        return render_template("_sync.html", **sync_context(db))
    return redirect(url_for("home.index") + "#sync")


@bp.get("/status")
def status():
    db = get_db()
    if request.headers.get("HX-Request"):
        return render_template("_sync.html", **sync_context(db))
    return render_template("sync.html", **sync_context(db))
