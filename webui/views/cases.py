"""The cases table, one case's page, and downloads of its stored attachments."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    make_response,
    render_template,
    request,
    send_file,
)

from companion.newcase import pages as newcase
from companion.queue import deadlines as caselist
from companion.queue import progress
from companion.read import cases, queries, sources
from companion.read.labels import STATUS_LABELS
from companion.read.queries import utc_now
from companion.replies import panels, sent
from webui.accounts import account_home, fallback_portal
from webui.db import get_db
from webui.htmx import page
from webui.views.replies import flashed, replies_on

bp = Blueprint("cases", __name__)


@bp.get("/cases")
def table():
    db = get_db()
    args = cases.table_args(request.args)
    filters, sort, direction = args["filters"], args["sort"], args["direction"]
    if replies_on():  # with the queue's deadline column (and its sort)
        result = caselist.table(db, filters, sort, direction, args["page"], utc_now())
        evidence = progress.for_cases(db, [r["case_id"] for r in result["rows"]])
    else:
        result = cases.cases_table(db, filters, "created" if sort == "deadline" else sort,
                                   direction, args["page"])
        evidence = {}
    push = {**filters, "sort": None if sort == "created" else sort,
            "dir": None if direction == "desc" else direction,
            "page": None if result["page"] == 1 else result["page"]}
    return page("cases.html", "_cases_table.html", push=push, filters=filters, sort=sort,
                direction=direction, result=result, evidence=evidence,
                categories=queries.categories(db), statuses=STATUS_LABELS)


@bp.get("/cases.csv")
def table_csv():
    """The whole table as CSV, with the filters and the sort of the page it was
    downloaded from (``companion.queue.deadlines``); reading only."""
    db = get_db()
    args = cases.table_args(request.args)
    now = utc_now()
    sort = args["sort"] if replies_on() or args["sort"] != "deadline" else "created"
    ids = caselist.ordered_ids(db, args["filters"], sort, args["direction"], now)
    # The byte-order mark tells Excel the file is UTF-8 (without it, Excel on Windows
    # reads the seller's accents and CJK text in the local code page).
    response = make_response("\ufeff" + caselist.as_text(db, ids, now,
                                                          with_evidence=replies_on()))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="caselog-cases-{now:%Y%m%d}.csv"')
    return response


@bp.get("/cases/<case_id>")
def case(case_id: str):
    db = get_db()
    newest = request.args.get("order") == "newest"
    detail = cases.case_detail(db, case_id, newest_first=newest)
    if detail is None:
        return _not_stored(db, case_id)
    portal = detail["case"].get("portal") or _portal(db)
    replies = panels.case_panel(db, case_id) if replies_on() else None
    if replies_on():  # the replies the person marked sent are facts of the thread
        detail["messages"] = sent.thread(db, case_id, detail["messages"], newest)
        detail["answered"] = sent.answered(db, case_id, detail["messages"])
    reopen = panels.reopen_window(detail["case"], detail["last_message_at"])
    return render_template("case.html", **detail, newest=newest, portal=portal,
                           case_id=case_id, r=replies, flashes=flashed(), reopen=reopen,
                           seen=sources.case_sources(db, case_id, detail["case"]["status"]),
                           callbacks=sources.callbacks(db, case_id),
                           prepared=newcase.on_case(db, case_id))


def _portal(db) -> str | None:
    return queries.portal_url(db) or fallback_portal()


def _not_stored(db, case_id: str):
    """A case caselog has not stored: a plain 404, unless a stored case's transfer link
    names it (the case page links both ends whether or not the other one is synced);
    then the 404 says which case pointed here and that the next sync brings it."""
    refs = cases.referring_cases(db, case_id)
    if not refs:
        abort(404)
    return render_template("case_missing.html", case_id=case_id, refs=refs,
                           portal=_portal(db)), 404


@bp.get("/cases/<case_id>/attachments/<attachment_id>")
def download(case_id: str, attachment_id: str):
    row = cases.attachment(get_db(), case_id, attachment_id)
    if row is None or not row.get("local_path"):
        abort(404)
    root = account_home().resolve()
    path = (root / row["local_path"]).resolve()
    # A stored path must stay inside the account's folder, whatever the database says.
    if not path.is_relative_to(root) or not path.is_file():
        abort(404)
    return send_file(path, as_attachment=True, download_name=row.get("name") or path.name,
                     mimetype="application/octet-stream")
