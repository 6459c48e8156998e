"""How the portal says "this is not what you asked for" (PORTAL.md sections 1, 3 and 4):
the one place that knows the robot check, the sign-in page, the outage page and the
"no such case" page, for API answers, rendered pages, saved pages and the browser.

Pure and cheap: plain substring tests on the first bytes of an answer, so the client can
ask on every response and a parser on every capture.
"""

from __future__ import annotations

import html as html_lib
import json
import re

from scrapers.errors import CaseNotFound, Outage, PortalError, RobotCheck, SessionExpired

SIGNIN_PATH = "/ap/signin"
ROBOT_TITLE = "Robot Check"
ROBOT_TEXT = "Enter the characters you see below"
OUTAGE_TEXT = "case log system is currently unavailable"
SIGNIN_FIELDS = ("ap_email", "ap_password", "auth-mfa-otpcode")
SIGNIN_SELECTOR = ", ".join("#" + f for f in SIGNIN_FIELDS)
# The contract's English wording, and guesses at a German one (the contract names none).
NOT_FOUND = re.compile(
    r"We couldn.t find that case|Fall (?:wurde )?nicht gefunden|konnten (?:diesen|den) Fall "
    r"nicht finden")
API_CAPTCHA, API_OUTAGE = "captcha", "unavailable"
_HEAD = 8000  # special pages say what they are near the top

# A JavaScript predicate for pages driven in the browser: true while the page is one of
# the pages above (the caller then reads the page back and asks page_situation why).
BROWSER_AWAY = (
    "(() => !!(document.querySelector('" + SIGNIN_SELECTOR + "')"
    " || document.title.trim() === '" + ROBOT_TITLE + "'"
    " || (document.body && (document.body.innerText.includes('" + ROBOT_TEXT + "')"
    " || document.body.innerText.includes('" + OUTAGE_TEXT + "')))))()"
)


def _text(body: bytes | str, limit: int = _HEAD) -> str:
    if isinstance(body, bytes):
        return body[:limit].decode("utf-8", errors="replace")
    return body[:limit]


def page_situation(html: bytes | str, url: str = "") -> type[PortalError] | None:
    """Which situation a page (rendered, saved or navigated to) is, or None for a normal
    page. Saved pages carry the words in their body, so the whole text is searched for
    the two body markers; titles and form ids sit near the top."""
    if SIGNIN_PATH in url:
        return SessionExpired
    head = _text(html)
    if f"<title>{ROBOT_TITLE}</title>" in head or ROBOT_TEXT in _text(html, 200_000):
        return RobotCheck
    if any(f'id="{f}"' in head or f"id='{f}'" in head for f in SIGNIN_FIELDS):
        return SessionExpired
    whole = html_lib.unescape(_text(html, 200_000))  # "couldn&#39;t" is "couldn't"
    if OUTAGE_TEXT in whole:
        return Outage
    if NOT_FOUND.search(whole):
        return CaseNotFound
    return None


def api_error_code(body: bytes) -> str | None:
    """The ``error`` string of a JSON error body (``captcha``, ``unavailable``, ...)."""
    try:
        data = json.loads(body[:4000]) if body and body.lstrip()[:1] == b"{" else None
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else None


def answer_situation(status: int, body: bytes, content_type: str, url: str = "",
                     is_download: bool = False) -> type[PortalError] | None:
    """The situation of an API or page answer: a robot check (503 captcha JSON or the
    Robot Check page), sign-in (401 or the sign-in page), an outage (503 ``unavailable``
    or the outage page), or None. A downloaded attachment is the seller's own file and
    may contain any words, so only its status speaks."""
    if status == 401 or SIGNIN_PATH in url:
        return SessionExpired
    code = api_error_code(body) if status >= 400 else None
    if status == 503 and code == API_CAPTCHA:
        return RobotCheck
    if status == 503 and code == API_OUTAGE:
        return Outage
    if is_download or "html" not in (content_type or ""):
        return None
    found = page_situation(body)
    return found if found in (RobotCheck, SessionExpired, Outage) else None
