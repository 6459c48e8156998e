"""What htmx asks of a view: the partial for a swap, the whole page otherwise (a plain
link, a reload, a history restore), and the clean URL to push. Views and the replies
blueprint import this, not the app module, so no view module depends on the factory."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import make_response, render_template, request


def is_htmx() -> bool:
    """An htmx swap wants the partial; a history restore wants the whole page."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request")


def page(full: str, partial: str, push: dict | None = None, **context):
    """The partial for an htmx swap, else the full page (which includes the partial).

    ``push``: the query that names this view; an htmx swap pushes that clean URL (no
    empty fields, no paging cursor) so bookmarks and the back button see the same view.
    A URL the page already shows is replaced, not pushed: a filter form asks twice for
    one change (the field's ``change`` as it loses focus, then Apply's ``submit``), and
    Back must not lead to the same view again."""
    if not is_htmx():
        return render_template(full, **context)
    response = make_response(render_template(partial, **context))
    if push is not None:
        query = urlencode({k: v for k, v in push.items() if v not in (None, "")})
        url = request.script_root + request.path + ("?" + query if query else "")
        here = urlsplit(request.headers.get("HX-Current-URL", ""))
        same = here.path + ("?" + here.query if here.query else "") == url
        response.headers["HX-Replace-Url" if same else "HX-Push-Url"] = url
    return response
