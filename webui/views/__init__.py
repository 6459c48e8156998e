"""One blueprint per page: home, timeline, cases (table and case page), sync, search."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import make_response, render_template, request

from webui.app import is_htmx


def page(full: str, partial: str, push: dict | None = None, **context):
    """The partial for an htmx swap, else the full page (which includes the partial).

    ``push``: the query that names this view; an htmx swap pushes that clean URL (no
    empty fields, no paging cursor) so bookmarks and the back button see the same view."""
    if not is_htmx():
        return render_template(full, **context)
    response = make_response(render_template(partial, **context))
    if push is not None:
        query = urlencode({k: v for k, v in push.items() if v not in (None, "")})
        response.headers["HX-Push-Url"] = request.path + ("?" + query if query else "")
    return response
