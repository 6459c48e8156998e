"""Search: a case id typed whole opens that case; anything else lists the case ids that
start so, the subjects and the messages that match (``companion.read.search``)."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for

from companion.read import search as search_model
from companion.read import search_terms
from companion.read.params import clean_text
from webui.db import get_db
from webui.htmx import is_htmx, page

bp = Blueprint("search", __name__)


@bp.get("/search")
def index():
    q = clean_text(request.args.get("q"))
    db = get_db()
    # Submitted (the header's form, Enter on this page): a stored id is that case. While
    # typing (htmx), the id stays a hit at the top, so a shorter id typed on the way to
    # a longer one does not carry the person off.
    case_id = search_terms.exact_case(db, q) if q and not is_htmx() else None
    if case_id:
        return redirect(url_for("cases.case", case_id=case_id), code=303)
    result = search_model.search(db, q) if q else None
    return page("search.html", "_search_results.html", push={"q": q}, q=q, result=result)
