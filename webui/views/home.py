"""Home: what needs the seller now, what waits on Amazon, what the last sync changed."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from companion.read import queries
from webui import charts
from webui.db import get_db
from webui.views.sync import sync_context

bp = Blueprint("home", __name__)


def chart_svgs(db) -> dict:
    """Charts read every message, so they are cached until a sync changes the data."""
    key = queries.chart_key(db)
    cache = current_app.extensions.get("caselog.charts")
    if cache is None or cache["key"] != key:
        now = queries.utc_now()
        stats = []
        for category, hours in sorted(queries.response_hours_by_category(db).items()):
            stats.append((category, len(hours), queries.percentile(hours, 0.5),
                          queries.percentile(hours, 0.9)))
        # One assignment, so a concurrent request sees the old charts or the new ones.
        cache = {"key": key,
                 "weekly": charts.weekly_chart(queries.weekly_opened_resolved(db, now)),
                 "response": charts.response_chart(stats)}
        current_app.extensions["caselog.charts"] = cache
    return {"weekly": cache["weekly"], "response": cache["response"]}


@bp.get("/")
def index():
    db = get_db()
    now = queries.utc_now()
    return render_template(
        "home.html",
        needs=queries.needs_answer(db, now),
        waiting=queries.waiting_on_amazon(db, now),
        changes=queries.last_changes(db),
        charts=chart_svgs(db),
        **sync_context(db),
    )
