"""Home: the sync state with Sync now, then one queue of what Amazon wants from the
seller (``companion.queue.rows``), then what waits on Amazon, what changed since the
person last looked, and the charts."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from companion.queue import marks
from companion.read import overview, stats
from companion.read.queries import utc_now
from webui import charts
from webui.db import get_db
from webui.views.queue import queue_context
from webui.views.sync import sync_context

WAITING_ROWS = 10  # below the queue: the longest waits only, the cases table has all

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


def changes_context(db) -> dict:
    """``_changes.html``'s data: what changed since the person last looked."""
    return {"changes": overview.changes_since(db, marks.last_look(db))}


@bp.get("/")
def index():
    db = get_db()
    now = utc_now()
    return render_template(
        "home.html",
        waiting=overview.waiting_on_amazon(db, now, WAITING_ROWS),
        charts=chart_svgs(db),
        **changes_context(db),
        **queue_context(),
        **sync_context(db),
    )
