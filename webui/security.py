"""Local-only protections for the UI, applied to every request by ``init_security``.

- Host allowlist: a page on another site can point its own host name at 127.0.0.1 (DNS
  rebinding) and read this UI; refusing any Host that is not loopback (and the port we
  serve on) stops that.
- CSRF: every state-changing request carries the session's token, in a hidden form field
  or (for htmx) the ``X-CSRF-Token`` header set from ``hx-headers`` on ``<body>``.
- Headers: a CSP with no inline script, nosniff, no referrer, no framing.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, render_template, request, session
from werkzeug.exceptions import HTTPException, InternalServerError

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

ERROR_TEXT = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Forbidden", "This request was refused."),
    404: ("Not found", "There is nothing at this address."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "What was sent is larger than caselog accepts."),
    500: ("Something went wrong", "caselog hit an unexpected error. The details are in the "
          "terminal where `caselog serve` runs; your data is unchanged."),
}


def split_host(host: str) -> tuple[str, int | None]:
    parts = urlsplit("//" + host)
    try:
        port = parts.port
    except ValueError:
        return "", None
    return (parts.hostname or "").lower(), port


def _same_name(name: str, allowed: set[str]) -> bool:
    """``name`` is one of ``allowed``, comparing addresses as addresses (``::1`` and
    ``0:0:0:0:0:0:0:1`` are one host)."""
    if name in allowed:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    for other in allowed:
        try:
            if ipaddress.ip_address(other) == address:
                return True
        except ValueError:
            continue
    return False


def host_allowed(host: str) -> bool:
    """Loopback names, the address the server was told to bind, and only on its port.
    A rebinding attack arrives with the attacker's host name, never an address."""
    name, port = split_host(host)
    extra = {h.lower().strip("[]") for h in current_app.config.get("ALLOWED_HOSTS", ())}
    if "*" not in extra and not _same_name(name, LOOPBACK_HOSTS | extra):
        return False
    expected = current_app.config.get("SERVER_PORT")
    return expected is None or port == expected


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_host():
    if not host_allowed(request.host):
        abort(403, description="Unknown host name. Open caselog at the address "
                               "`caselog serve` printed (127.0.0.1 or localhost).")


def _check_csrf():
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin and origin != "null" and not host_allowed(urlsplit(origin).netloc):
        abort(403, description="This request came from another site and was refused.")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(403, description="The form was out of date or did not come from caselog. "
                               "Reload the page and try again.")


def _headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error_page(error):
    if not isinstance(error, HTTPException):
        current_app.logger.exception("unhandled error", exc_info=error)
        error = InternalServerError()
    code = error.code or 500
    title, text = ERROR_TEXT.get(code, (error.name, ""))
    detail = error.description if code in (400, 403) and error.description else text
    try:
        body = render_template("error.html", code=code, title=title, detail=detail)
    except Exception:  # an error page must never fail: fall back to plain markup
        current_app.logger.exception("error page failed")
        body = f"<!doctype html><title>{code}</title><h1>{code} {title}</h1>"
    return body, code


def init_security(app: Flask) -> None:
    app.config.setdefault("ALLOWED_HOSTS", ())
    app.config.setdefault("SERVER_PORT", None)
    port = app.config.get("SERVER_PORT")
    app.config.update(
        # Cookies ignore ports: two UIs (or a UI and the portal) on 127.0.0.1 must not
        # overwrite each other's session and so its CSRF token.
        SESSION_COOKIE_NAME=f"caselog_session_{port}" if port else "caselog_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    app.before_request(check_host)
    app.before_request(_check_csrf)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    for code in ERROR_TEXT:
        app.register_error_handler(code, _error_page)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(Exception, _error_page)
