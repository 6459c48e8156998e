"""Timeline: every event, newest first, filtered by the URL's query string, in keyset
pages that the sentinel row fetches as the person scrolls."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, request, url_for

from companion.read import labels, queries, timeline
from companion.read.local_days import clamp_day
from webui.db import get_db
from webui.htmx import page

bp = Blueprint("timeline", __name__)


@bp.get("/timeline")
def index():
    db = get_db()
    filters = timeline.clean_filters(request.args)
    cursor = timeline.Cursor.decode(request.args.get("after"))
    result = timeline.events(db, filters, cursor,
                             sources=current_app.config.get("TIMELINE_SOURCES", ()))
    next_url = None
    if result["next"]:
        next_url = url_for("timeline.index") + "?" + urlencode(
            {**filters, "after": result["next"].encode()})
    context = dict(
        filters=filters, events=result["events"], next_url=next_url,
        continuing=cursor is not None,
        # the day the previous page ended on, so a day's heading is not repeated
        last_day=clamp_day(request.args.get("day")) or "",
        categories=queries.categories(db), statuses=queries.STATUS_LABELS,
        channels=[(c, labels.channel_label(c) or "E-mail") for c in labels.CHANNELS],
    )
    # Later pages append rows to the list; filter changes replace the list.
    if cursor is not None:
        return page("timeline.html", "_timeline_rows.html", **context)
    return page("timeline.html", "_timeline_list.html", push=filters, **context)
