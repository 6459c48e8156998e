"""One blueprint per page: home, timeline, cases (table and case page), sync, search."""

from __future__ import annotations

from flask import render_template

from webui.app import is_htmx


def page(full: str, partial: str, **context) -> str:
    """The partial for an htmx swap, else the full page (which includes the partial)."""
    return render_template(partial if is_htmx() else full, **context)
