"""Template filters: times in this machine's zone (the day rule of
``companion.read.local_days``), status and channel labels, portal HTML through the one
sanitiser policy (``companion.read.safe_html``), search marks, plurals. Filters format what a view
passed; none of them reads the database."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, g, url_for
from markupsafe import Markup

from companion.read import labels, safe_html
from companion.read.local_days import local_day, local_time
from companion.read.queries import MARK_CLOSE, MARK_OPEN


def init_filters(app: Flask) -> None:
    env = app.jinja_env
    env.trim_blocks = env.lstrip_blocks = True
    # Templates ask who acts as the code does, for either source's statuses.
    env.globals.update(DONE=labels.DONE, TRANSFERRED=labels.TRANSFERRED,
                       WAITING_ON_SELLER=labels.WAITING_ON_SELLER)

    @app.template_filter("when")
    def when(value: str | None, fmt: str = "%d %b %Y %H:%M") -> str:
        t = local_time(value)
        return t.strftime(fmt) if t else "—"

    @app.template_filter("case_url")
    def case_url(case_id: str) -> str:
        """A case page's address, as ``url_for`` builds it (the account's prefix
        included), at the cost of a string join: the lists link every row, and a
        ``url_for`` per row was a fifth of the cases table's time."""
        base = g.get("case_url_base")
        if base is None:
            base = g.case_url_base = url_for("cases.case", case_id="0")[:-1]
        return base + quote(str(case_id), safe="")

    @app.template_filter("day")
    def day(value: str | None) -> str:
        t = local_time(value)
        return t.strftime("%A %d %B %Y") if t else "Unknown day"

    @app.template_filter("daykey")
    def daykey(value: str | None) -> str:
        return local_day(value)

    @app.template_filter("status_label")
    def status_label(value: str | None) -> str:
        return labels.status_label(value)

    @app.template_filter("portal_status")
    def portal_status(value: str | None) -> str | None:
        """What a template compares: the portal's status for either source's."""
        return labels.portal_status(value)

    @app.template_filter("channel_label")
    def channel_label(value: str | None) -> str:
        return labels.channel_label(value)

    @app.template_filter("safe_message")
    def safe_message(message: dict) -> Markup:
        return Markup(safe_html.message_html(message))

    @app.template_filter("marked")
    def marked(snippet: str | None) -> Markup:
        return Markup(safe_html.marked(snippet, MARK_OPEN, MARK_CLOSE))

    @app.template_filter("plural")
    def plural(n: int, word: str, many: str | None = None) -> str:
        return f"{n} {word if n == 1 else (many or word + 's')}"
