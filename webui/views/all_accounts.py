"""All accounts: one home whose queue merges every account's rows (with an account
column and filter), Sync all (each account after the other, each with its progress and
result), and every account's notifications in one list.

These pages live under ``/all/`` only (never under an account's ``/a/NAME``); each row
and each form names its account and points into that account's own pages, and every
account is read from its own database (``webui.db.account_db``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from companion import accounts as registry
from companion.notify import store
from companion.queue import all_accounts as across
from companion.read import queries
from companion.read.params import clamp_int
from companion.read.queries import utc_now
from webui.accounts import fallback_portal, names, root_for
from webui.db import account_db
from webui.htmx import page
from webui.syncall import SyncAll
from webui.views.replies import replies_on
from webui.views.sync import runner

bp = Blueprint("all_accounts", __name__, url_prefix="/all")


def sync_all() -> SyncAll:
    return current_app.extensions.setdefault("caselog.sync_all", SyncAll())


def _chosen(known: list[str]) -> str | None:
    wanted = request.args.get("account") or None
    return wanted if wanted in known else None


@bp.get("/")
def index():
    known = names()
    account = _chosen(known)
    n = clamp_int(request.args.get("page"), 1, 1, 10**6)
    found = across.merged(((name, account_db(name)) for name in known), utc_now(),
                          account=account, page=n, with_evidence=replies_on())
    return page("all_accounts/index.html", "all_accounts/_queue.html",
                push={"account": account, "page": None if found["page"] == 1 else n},
                found=found, known=known, roots={k: root_for(k) for k in known},
                **sync_all_context(known))


def _plan_one(name: str):
    """What Sync all does for one account: start its own source (the one ``caselog
    sync`` picks), or say why it cannot."""
    db = account_db(name)
    try:
        picked = registry.pick_source(registry.get(name), db)
    except (LookupError, registry.AccountError) as exc:
        reason = str(exc)
        return lambda: reason
    if picked is None and fallback_portal(name):
        picked = ("portal", fallback_portal(name))
    if picked is None:
        return lambda: ("no portal or Support API is set for this account: "
                        f"caselog accounts set {name} --portal URL")
    source, target = picked
    sync_runner, before = runner(name), queries.last_sync_id(db)

    def begin():
        sync_runner.start(target, before, source)
        return sync_runner
    return begin


def sync_all_context(known: list[str]) -> dict:
    every = sync_all()
    rows = []
    for name in known:
        status = runner(name).status(account_db(name))
        step = every.step(name)
        rows.append({"account": name, "root": root_for(name), "sync": status,
                     "step": step.state if step else None,
                     "reason": step.reason if step else None})
    busy = every.running() or any(r["sync"]["state"] == "running" for r in rows)
    return {"sync_rows": rows, "sync_busy": busy, "sync_all_running": every.running()}


@bp.post("/sync")
def start_sync():
    known = names()
    sync_all().start([(name, _plan_one(name)) for name in known])
    if request.headers.get("HX-Request"):
        return render_template("all_accounts/_sync.html", **sync_all_context(known))
    return redirect(url_for("all_accounts.index") + "#sync-all", code=303)


@bp.get("/sync/status")
def sync_status():
    known = names()
    if request.headers.get("HX-Request"):
        return render_template("all_accounts/_sync.html", **sync_all_context(known))
    return redirect(url_for("all_accounts.index") + "#sync-all", code=303)


@bp.get("/notifications")
def notifications():
    known = names()
    unread_only = request.args.get("unread") == "1"
    items = []
    for name in known:
        rows = store.list_notifications(account_db(name), unread_only=unread_only,
                                        limit=100)
        items += [{**r, "account": name, "ref": f"{name}:{r['id']}",
                   "root": root_for(name)} for r in rows]
    items.sort(key=lambda r: (r["at"] or "", r["account"]), reverse=True)
    return render_template("notifications.html", items=items[:200], merged=True,
                           unread_only=unread_only, roots={k: root_for(k) for k in known})


@bp.post("/notifications/read")
def notifications_read():
    """Mark one notification (``ref`` = ACCOUNT:ID) or every account's all read."""
    known = names()
    ref = request.form.get("ref") or ""
    name, _, nid = ref.partition(":")
    if ref and name in known and nid.isdigit():
        store.mark_read(account_db(name), [int(nid)])
    elif not ref:
        for name in known:
            store.mark_read(account_db(name))
    return redirect(url_for("all_accounts.notifications"), code=303)
