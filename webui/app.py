"""The Flask application factory: configuration, security, per-request database handle,
template helpers and blueprints. ``create_app(db_path)`` is all a server or a test needs.
"""

from __future__ import annotations

import importlib
import secrets
from datetime import datetime
from pathlib import Path

from flask import Flask, request
from markupsafe import Markup

from companion.read import queries
from companion.schema import open_db
from webui import sanitize
from webui.db import close_db
from webui.security import init_security


def create_app(db_path: str | Path, config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        DB_PATH=str(db_path),
        SECRET_KEY=secrets.token_bytes(32),  # per process: a restart simply asks for a reload
        CASELOG_HOME=None,                   # for attachment paths; default companion.home
        PORTAL_URL=None,                     # fallback when no sync recorded a portal
        OPEN_LOGIN=True,                     # offer the sign-in window (loopback serve only)
        TIMELINE_SOURCES=[],                 # extra timeline event sources (see timeline.py)
        REPLIES=True,                        # False: leave issue 5's panels out (benchmarks)
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
    )
    app.config.update(config or {})
    # Apply the declared schema once, so pages work on a fresh or older database.
    open_db(app.config["DB_PATH"]).conn.close()
    init_security(app)
    app.teardown_appcontext(close_db)
    _template_helpers(app)

    from webui.views import cases, home, search, sync, timeline

    for module in (home, timeline, cases, sync, search):
        app.register_blueprint(module.bp)
    _register_replies(app)
    return app


def _register_replies(app: Flask) -> None:
    """Issue 5's drafts and checklists plug in here when ``webui/replies.py`` exists: a
    ``bp`` blueprint, and optionally ``init_app(app)`` for timeline sources and the like.
    Templates include the ``replies/_*.html`` panels only when ``replies_enabled``."""
    app.jinja_env.globals["replies_enabled"] = False
    if not app.config.get("REPLIES", True):
        return
    try:
        replies = importlib.import_module("webui.views.replies")
    except ModuleNotFoundError as exc:
        if exc.name != "webui.views.replies":
            raise
        return
    if hasattr(replies, "bp"):
        app.register_blueprint(replies.bp)
    if hasattr(replies, "init_app"):
        replies.init_app(app)
    app.jinja_env.globals["replies_enabled"] = True


def is_htmx() -> bool:
    """An htmx swap wants the partial; a history restore wants the whole page."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request")


def _local(value: str | None) -> datetime | None:
    t = queries.parse_time(value)
    return t.astimezone() if t else None


def _template_helpers(app: Flask) -> None:
    env = app.jinja_env
    env.trim_blocks = env.lstrip_blocks = True

    @app.template_filter("when")
    def when(value: str | None, fmt: str = "%d %b %Y %H:%M") -> str:
        t = _local(value)
        return t.strftime(fmt) if t else "—"

    @app.template_filter("day")
    def day(value: str | None) -> str:
        t = _local(value)
        return t.strftime("%A %d %B %Y") if t else "Unknown day"

    @app.template_filter("daykey")
    def daykey(value: str | None) -> str:
        t = _local(value)
        return t.date().isoformat() if t else ""

    @app.template_filter("status_label")
    def status_label(value: str | None) -> str:
        return queries.STATUS_LABELS.get(value or "", value or "Unknown")

    @app.template_filter("safe_message")
    def safe_message(message: dict) -> Markup:
        if message.get("html"):
            return sanitize.clean_html(message["html"])
        return sanitize.text_html(message.get("text"))

    @app.template_filter("marked")
    def marked(snippet: str | None) -> Markup:
        return sanitize.marked(snippet, queries.MARK_OPEN, queries.MARK_CLOSE)

    @app.template_filter("plural")
    def plural(n: int, word: str, many: str | None = None) -> str:
        return f"{n} {word if n == 1 else (many or word + 's')}"

    env.globals["STATUS_LABELS"] = queries.STATUS_LABELS
    env.globals["is_htmx"] = is_htmx
