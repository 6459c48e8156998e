"""The cases table, one case's page, and downloads of its stored attachments."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request, send_file

from companion.home import home as caselog_home
from companion.read import queries
from webui.db import get_db
from webui.views import page

bp = Blueprint("cases", __name__)

TABLE_FILTERS = ("status", "category", "q", "owes")


@bp.get("/cases")
def table():
    db = get_db()
    filters = {k: request.args[k].strip() for k in TABLE_FILTERS if request.args.get(k, "").strip()}
    sort = request.args.get("sort", "created")
    if sort not in queries.CASE_SORTS:
        sort = "created"
    direction = "asc" if request.args.get("dir") == "asc" else "desc"
    try:
        page_no = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page_no = 1
    result = queries.cases_table(db, filters, sort, direction, page_no)
    push = {**filters, "sort": None if sort == "created" else sort,
            "dir": None if direction == "desc" else direction,
            "page": None if page_no == 1 else page_no}
    return page("cases.html", "_cases_table.html", push=push, filters=filters, sort=sort,
                direction=direction, result=result, categories=queries.categories(db),
                statuses=queries.STATUS_LABELS)


@bp.get("/cases/<case_id>")
def case(case_id: str):
    db = get_db()
    newest = request.args.get("order") == "newest"
    detail = queries.case_detail(db, case_id, newest_first=newest)
    if detail is None:
        abort(404)
    portal = detail["case"].get("portal") or queries.portal_url(db) or \
        current_app.config.get("PORTAL_URL")
    return render_template("case.html", **detail, newest=newest, portal=portal,
                           case_id=case_id)


@bp.get("/cases/<case_id>/attachments/<attachment_id>")
def download(case_id: str, attachment_id: str):
    row = queries.attachment(get_db(), case_id, attachment_id)
    if row is None or not row.get("local_path"):
        abort(404)
    root = Path(current_app.config.get("CASELOG_HOME") or caselog_home()).resolve()
    path = (root / row["local_path"]).resolve()
    # A stored path must stay inside CASELOG_HOME, whatever the database says.
    if not path.is_relative_to(root) or not path.is_file():
        abort(404)
    return send_file(path, as_attachment=True, download_name=row.get("name") or path.name,
                     mimetype="application/octet-stream")
