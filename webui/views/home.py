"""Home: what needs the seller now, what waits on Amazon, what the last sync changed."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from companion.read import overview, sources, stats
from companion.read.queries import utc_now
from companion.replies import panels
from webui import charts
from webui.db import get_db
from webui.views.replies import replies_on
from webui.views.sync import sync_context

bp = Blueprint("home", __name__)


def chart_svgs(db) -> dict:
    """Charts read every message, so they are kept until a sync changes the data (per
    app, and so per database)."""
    key = stats.chart_key(db)
    cache = current_app.extensions.get("caselog.charts")
    if cache is None or cache["key"] != key:
        now = utc_now()
        rows = []
        for category, hours in sorted(stats.response_hours_by_category(db).items()):
            rows.append((category, len(hours), stats.percentile(hours, 0.5),
                         stats.percentile(hours, 0.9)))
        # One assignment, so a concurrent request sees the old charts or the new ones.
        cache = {"key": key,
                 "weekly": charts.weekly_chart(stats.weekly_opened_resolved(db, now)),
                 "response": charts.response_chart(rows)}
        current_app.extensions["caselog.charts"] = cache
    return {"weekly": cache["weekly"], "response": cache["response"]}


@bp.get("/")
def index():
    db = get_db()
    now = utc_now()
    return render_template(
        "home.html",
        needs=overview.needs_answer(db, now),
        waiting=overview.waiting_on_amazon(db, now),
        changes=overview.last_changes(db),
        charts=chart_svgs(db),
        h=panels.home_panel(db, now) if replies_on() else None,
        callbacks=sources.callbacks(db, now=now),
        **sync_context(db),
    )
