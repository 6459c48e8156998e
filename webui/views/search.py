"""Search: subjects and message text through the FTS indexes, matches marked."""

from __future__ import annotations

from flask import Blueprint, request

from companion.read import queries
from webui.db import get_db
from webui.views import page

bp = Blueprint("search", __name__)


@bp.get("/search")
def index():
    q = request.args.get("q", "").strip()[:200]
    result = queries.search(get_db(), q) if q else None
    return page("search.html", "_search_results.html", push={"q": q}, q=q, result=result)
