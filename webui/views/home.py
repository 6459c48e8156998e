"""Home: the sync state with Sync now, then one queue of what Amazon wants from the
seller (``companion.queue.rows``), then what waits on Amazon, what changed since the
person last looked, and the charts."""

from __future__ import annotations

import json

from flask import Blueprint, render_template

from companion.queue import derive, marks
from companion.read import overview, stats
from companion.read.queries import utc_now
from webui import charts
from webui.db import get_db
from webui.views.queue import queue_context
from webui.views.sync import sync_context

WAITING_ROWS = 10  # below the queue: the longest waits only, the cases table has all

bp = Blueprint("home", __name__)


def chart_svgs(db) -> dict:
    """The charts from what the last write stored (``companion.queue.derive``)."""
    state = derive.current(db)
    weeks = json.loads(state.get("weeks") or "{}")
    response = [tuple(r) for r in json.loads(state.get("response") or "[]")]
    return {"weekly": charts.weekly_chart(stats.stored_weeks(weeks, utc_now())),
            "response": charts.response_chart(response)}


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
