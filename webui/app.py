"""The Flask application factory: configuration, security, per-request database handle,
template filters and blueprints. ``create_app(db_path)`` is all a server or a test needs.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from flask import Flask, Request, g
from jinja2 import FileSystemBytecodeCache
from werkzeug.routing import IntegerConverter

from companion.folders import account, evidence_dir, private_dir, top
from companion.queue.timeline_events import SOURCES
from companion.schema import open_db
from webui.accounts import init_accounts
from webui.db import close_db
from webui.filters import init_filters
from webui.security import init_security
from webui.views import (
    all_accounts,
    cases,
    home,
    newcase,
    notifications,
    queue,
    replies,
    search,
    sync,
    timeline,
)

SPOOL_BYTES = 500 * 1024


class UploadRequest(Request):
    """Werkzeug spools uploads over 500 KB to the system temp folder; evidence must not
    touch the disk outside CASELOG_HOME, so large uploads spool into the request's
    account's evidence folder (an unnamed temporary file, gone when the request ends)."""

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        here = g.get("account")
        return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="rb+",
                                             dir=here.evidence if here else evidence_dir())


class CaselogFlask(Flask):
    request_class = UploadRequest


class RowId(IntegerConverter):
    """A row id in a URL: digits that fit SQLite's 64-bit integers, so a longer number
    is a 404 like any unknown id rather than an overflow."""

    def __init__(self, map):
        super().__init__(map, max=2**63 - 1)


def create_app(db_path: str | Path, config: dict | None = None) -> Flask:
    app = CaselogFlask(__name__)
    app.config.update(
        DB_PATH=str(db_path),
        SECRET_KEY=secrets.token_bytes(32),  # per process: a restart simply asks for a reload
        CASELOG_HOME=None,                   # for attachment paths; default companion.folders
        PORTAL_URL=None,                     # fallback when no sync recorded a portal
        OPEN_LOGIN=True,                     # offer the sign-in window (loopback serve only)
        TIMELINE_SOURCES=[],                 # extra timeline event sources (see timeline.py)
        REPLIES=True,                        # False: leave issue 5's panels out (bench_ui.py)
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        ACCOUNT=account(),                   # whose pages have no /a/NAME prefix
    )
    app.config.update(config or {})
    # Apply the declared schema once, so pages work on a fresh or older database.
    open_db(app.config["DB_PATH"]).conn.close()
    init_accounts(app)   # first: the CSRF check reads the form, which may spool a file
    init_security(app)
    app.teardown_appcontext(close_db)
    init_filters(app)
    app.url_map.converters["rowid"] = RowId

    for module in (home, queue, timeline, cases, sync, search, newcase, notifications,
                   all_accounts):
        app.register_blueprint(module.bp)
    app.jinja_env.globals["replies_enabled"] = bool(app.config["REPLIES"])
    # Compiled templates kept between starts: compiling them is most of a first page.
    cache = Path(app.config["CASELOG_HOME"] or top()) / "cache" / "templates"
    app.jinja_env.bytecode_cache = FileSystemBytecodeCache(str(private_dir(cache)))
    if app.config["REPLIES"]:
        app.register_blueprint(replies.bp)
        app.config["TIMELINE_SOURCES"] = [*app.config["TIMELINE_SOURCES"], *SOURCES]
    return app
