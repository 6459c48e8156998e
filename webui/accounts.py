"""Which seller account a request is for, and the URLs that keep it.

The account is in the URL: ``/a/NAME/...`` is account NAME's copy of every page; the
account the server was started for (``default``, unless ``caselog serve --account``) keeps
today's URLs without a prefix, so bookmarks made before accounts still work; the All
accounts pages live under ``/all/``. :class:`AccountPrefix` moves ``/a/NAME`` from the
path into ``SCRIPT_NAME`` before Flask sees the request, so every ``url_for`` a page makes
(links, forms, htmx requests, redirects) carries the account without any template or view
knowing it: a page of one account cannot link into another's by accident.

Each request's account is resolved once, before the view runs, into ``g.account`` (a
``companion.folders.Account``; None on the All accounts pages), and its database is
opened from it (``g.db_path``). The read code that is not yet handed an Account (the
templates, checklists, evidence and settings the pages read) reads the URL's account:
:class:`AccountPrefix` runs the request inside ``companion.folders.use_account``.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, abort, current_app, g, redirect, request, url_for

from companion import accounts as registry
from companion import folders as homes
from companion.folders import use_account
from webui.db import base_account, ensure_db

PREFIX = re.compile(r"^/a/([A-Za-z0-9_-]{1,40})(/.*)?$")
ENVIRON_KEY = "caselog.account"
# Pages that exist in every account without an id: the switcher keeps the page.
SAME_PAGE = {"home.index", "timeline.index", "cases.table", "newcase.index",
             "queue.index", "notifications.index", "search.index"}


class AccountPrefix:
    """WSGI middleware: ``/a/NAME/rest`` becomes SCRIPT_NAME ``/a/NAME``, PATH_INFO
    ``/rest``, with NAME in the environ for :func:`init_accounts` to check; the request
    runs inside ``use_account`` of that account (the server's own without a prefix)."""

    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app, self.app = wsgi_app, app

    def __call__(self, environ, start_response):
        name = self.app.config["ACCOUNT"]
        m = PREFIX.match(environ.get("PATH_INFO") or "")
        if m:
            name = environ[ENVIRON_KEY] = m.group(1)
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + f"/a/{m.group(1)}"
            environ["PATH_INFO"] = m.group(2) or "/"
        with use_account(name):
            return self.wsgi_app(environ, start_response)


def names() -> list[str]:
    """Every account of this CASELOG_HOME, the server's own first (listed once per
    request: it reads every account folder's marker)."""
    known = g.get("account_names")
    if known is None:
        try:
            found = registry.names()
        except OSError:
            found = []
        base = base_account()
        known = g.account_names = [base, *(n for n in found if n != base)]
    return known


def root_for(name: str) -> str:
    """The URL prefix of an account's pages ("" for the server's own account)."""
    return "" if name == base_account() else f"/a/{name}"


def top_url(endpoint: str, **values) -> str:
    """A URL of the All accounts pages, which have no account prefix."""
    path = url_for(endpoint, **values)
    here = request.script_root
    return path[len(here):] if here and path.startswith(here) else path


def fallback_portal(name: str | None = None) -> str | None:
    """The portal to offer when no sync recorded one: ``--portal`` for the server's own
    account, else what the registry says of the account."""
    here = g.get("account")
    name = name or (here.name if here else base_account())
    if name == base_account() and current_app.config.get("PORTAL_URL"):
        return current_app.config["PORTAL_URL"]
    try:
        return registry.get(name).portal
    except (LookupError, registry.AccountError):
        return None


def account_home() -> Path:
    """The folder of the request's account (attachment paths must stay inside it)."""
    here = g.get("account")
    if here is None or here.name == base_account():
        return Path(current_app.config.get("CASELOG_HOME") or homes.home())
    return here.folder


def _choose():
    from webui.security import check_host

    check_host()  # before anything says whether an account exists
    g.all_accounts = request.blueprint == "all_accounts"
    name = request.environ.get(ENVIRON_KEY)
    if name is not None and g.all_accounts:
        abort(404)
    if name == base_account():  # its pages have no prefix: one URL per page
        query = request.query_string.decode()
        return redirect(request.path + ("?" + query if query else ""), code=308)
    name = name or base_account()
    if name not in names():
        abort(404)
    g.account = None if g.all_accounts else account_of(name)
    if g.account:
        g.db_path = ensure_db(name)


def account_of(name: str) -> homes.Account:
    """The account called `name`, with the sources the registry names for it."""
    try:
        return registry.get(name)
    except (LookupError, registry.AccountError):  # an unreadable registry: no sources
        return homes.named(name)


def shown() -> str | None:
    """The name of the account the page shows (None on the All accounts pages and on an
    error page before the account was known)."""
    here = g.get("account")
    return here.name if here else None


def _header() -> dict:
    """What base.html's header needs: the switcher (more than one account only)."""
    known = names() if request.endpoint else [base_account()]
    here = shown()
    endpoint = request.endpoint or ""
    switch = []
    if len(known) > 1:
        path = request.path if endpoint in SAME_PAGE else "/"
        switch = [{"name": n, "url": root_for(n) + path, "current": n == here}
                  for n in known]
    return {"accounts_switch": switch, "account_shown": here,
            "all_accounts_page": bool(g.get("all_accounts")),
            "root": request.script_root, "top_url": top_url}


def init_accounts(app: Flask) -> None:
    app.config.setdefault("ACCOUNT", homes.account())
    app.wsgi_app = AccountPrefix(app.wsgi_app, app)
    app.before_request(_choose)
    app.context_processor(_header)
