"""Search: subjects and message text through the FTS indexes, matches marked."""

from __future__ import annotations

from flask import Blueprint, request

from companion.read import search as search_model
from companion.read.params import clean_text
from webui.db import get_db
from webui.htmx import page

bp = Blueprint("search", __name__)


@bp.get("/search")
def index():
    q = clean_text(request.args.get("q"))
    result = search_model.search(get_db(), q) if q else None
    return page("search.html", "_search_results.html", push={"q": q}, q=q, result=result)
