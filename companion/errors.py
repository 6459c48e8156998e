"""The one place where a failure becomes words a seller reads, and where secrets leave.

Everything that reaches a person, a ``--json`` summary, the UI, a log line or a database
row is made here (:func:`explain`, :func:`describe`) and passes through :func:`redact`,
which removes cookies, session tokens, passwords, TOTP and LWA secrets and auth headers,
whatever library wrote them (Playwright's call logs print request headers, cookies
included). Raw library text goes only to the debug log under ``CASELOG_HOME/logs``
(owner-only, redacted too), for a developer to read.

Also the one table from a sync's state to its exit code, shared by the CLI and the docs.
"""

from __future__ import annotations

import os
import re
import threading
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime

from scrapers import errors as capture_errors
from scrapers.errors import (
    AttachmentTooLarge,
    BadRequest,
    CaseNotFound,
    Forbidden,
    Outage,
    ParseError,
    PortalError,
    RobotCheck,
    SessionExpired,
    TooLarge,
    TransientExhausted,
    Unreachable,
)

# state -> exit code. 2 is click's usage error; every sync ends in one of these states.
EXIT_CODES = {"ok": 0, "partial": 1, "failed": 1, "interrupted": 1, "auth": 3, "robot": 4,
              "outage": 5}
USAGE = 2
EXIT_HELP = """Exit codes:
  0  every listed case is captured
  1  some cases failed (recorded; the rest were saved), or the sync failed
  2  usage error
  3  sign-in needed: run `caselog login`, then sync again
  4  robot check: a person must pass it in `caselog login`
  5  Seller Central's case log is unavailable right now: try again later"""
STOP_STATES = {SessionExpired: "auth", RobotCheck: "robot", Outage: "outage"}


def exit_code(state: str) -> int:
    return EXIT_CODES.get(state, 1)


# -- redaction -----------------------------------------------------------------------------

REDACTED = "[redacted]"
_known: set[str] = set()
_known_lock = threading.Lock()
_SECRET_HEADERS = r"cookie|set-cookie|authorization|proxy-authorization|x-amz-access-token"
_SECRET_NAMES = (r"access_token|refresh_token|client_secret|client_id_secret|password|passwd"
                 r"|totp_secret|mfa_secret|otp|secret|session[-_]token|token")
_PATTERNS = [
    # header lines, as Playwright's call log and HTTP dumps print them
    (re.compile(rf"(?im)^(\s*(?:-\s*)?(?:{_SECRET_HEADERS})\s*:\s*).+$"), rf"\1{REDACTED}"),
    # headers inside dict or JSON reprs
    (re.compile(rf"(?i)(['\"](?:{_SECRET_HEADERS})['\"]\s*:\s*['\"])[^'\"]*"),
     rf"\1{REDACTED}"),
    # cookie pairs anywhere: name=value; (the portal's and Amazon's session cookies)
    (re.compile(r"(?i)\b((?:session-token|session-id|sess-at-\w+|at-\w+|x-main|sst-\w+"
                r"|ubid-\w+|ap-remembered-device)=)[^;\s\"'&]+"), rf"\1{REDACTED}"),
    # key: value / key=value / "key": "value" for secret names
    (re.compile(rf"(?i)([\"']?\b(?:{_SECRET_NAMES})\b[\"']?\s*[:=]\s*[\"']?)"
                r"(?!\[redacted\])[^\"'\s,&;}]+"), rf"\1{REDACTED}"),
    # Login with Amazon tokens (Atza| access, Atzr| refresh)
    (re.compile(r"Atz[ar]\|[\w\-|.=+/%]+"), REDACTED),
    # signed URL parts (attachment download links)
    (re.compile(r"(?i)([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|sig"
                r"|signature|token)=)[^&\s\"']+"), rf"\1{REDACTED}"),
]


def remember_secret(value: str | None) -> None:
    """A value this process knows to be secret (a session cookie it loaded, a password
    it was given, LWA credentials): :func:`redact` removes it wherever it appears."""
    if value and len(value) >= 6:
        with _known_lock:
            _known.add(str(value))


def remember_session(state: dict | None) -> None:
    """Every cookie value of a Playwright storage state is a secret."""
    for cookie in (state or {}).get("cookies", []) or []:
        if isinstance(cookie, dict):
            remember_secret(cookie.get("value"))


def redact(text: str | None) -> str:
    """``text`` with every secret replaced by ``[redacted]``."""
    if not text:
        return text or ""
    text = str(text)
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


# -- the debug log ---------------------------------------------------------------------------

def debug_log(exc: BaseException | None, context: str = "") -> str | None:
    """Append ``context`` and the redacted traceback to ``CASELOG_HOME/logs/debug.log``
    (created owner-only); returns the log's path, or None when it cannot be written."""
    from companion.folders import logs_dir, open_private

    try:
        path = logs_dir() / "debug.log"
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = [f"--- {stamp} pid {os.getpid()} {context}".rstrip()]
        if exc is not None:
            lines.append("".join(traceback.format_exception(exc)).rstrip())
        with open_private(path, "a") as fh:
            fh.write(redact("\n".join(lines)) + "\n")
        return str(path)
    except OSError:
        return None


# -- human words -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """What happened, as a state (the sync's, or ``case`` for one case's failure) and a
    message in the seller's words that says what to do next. Always redacted."""

    state: str
    message: str


def _login_hint(portal: str | None, login: str | None = None) -> str:
    if login:
        return login
    return f"caselog login --portal {portal}" if portal else "caselog login"


def _case(exc: BaseException, case_id: str | None) -> str:
    cid = case_id or getattr(exc, "case_id", None)
    return f"case {cid}: " if cid else ""


def explain(exc: BaseException, *, portal: str | None = None, case_id: str | None = None,
            doing: str = "sync", login: str | None = None) -> Problem:
    """The state and the seller's words for any exception met while ``doing`` something
    (``sync``, ``login``, ``import``, ``doctor``); unknown ones go to the debug log.
    ``login``: the command that signs in again for this source."""
    where = f" at {portal}" if portal else ""
    hint = _login_hint(portal, login)
    if isinstance(exc, capture_errors.NoSavedCredentials):
        return Problem("auth", f"caselog has no Support API credentials for {portal} yet. "
                       f"Run: {hint}, then {doing} again.")
    from scrapers.spapi.errors import CredentialsRejected

    if isinstance(exc, CredentialsRejected):
        return Problem("auth", f"Amazon refused caselog's Support API credentials "
                       f"({_spapi_refusal(exc)}). Everything captured so far is saved. "
                       f"Run: {hint} with working ones, then {doing} again.")
    if isinstance(exc, capture_errors.NoSavedSession):
        return Problem("auth", f"caselog has no saved Seller Central session for "
                       f"{portal or 'this portal'} yet. Run: {hint}, then "
                       f"{doing} again.")
    if isinstance(exc, SessionExpired):
        return Problem("auth", f"Seller Central{where} asks you to sign in again. Everything "
                       f"captured so far is saved. Run: {hint}, then {doing} again.")
    if isinstance(exc, RobotCheck):
        return Problem("robot", f"Seller Central{where} is showing a robot check (a "
                       "captcha); only a person can pass it. Run: "
                       f"{hint} (a browser window opens; pass the check "
                       f"there), then {doing} again.")
    if isinstance(exc, Outage):
        return Problem("outage", "Seller Central's case log is unavailable right now (the "
                       "portal says its case log system is currently unavailable). "
                       "Everything caselog has is kept; try again later.")
    from companion.doctor.canary import ShapeChanged

    if isinstance(exc, ShapeChanged):  # its words are made with its findings: said as is
        return Problem("failed", redact(str(exc)))
    if isinstance(exc, Unreachable):
        return Problem("failed", f"Could not reach the portal{where}: nothing answered. "
                       "Check the address and your internet connection, then try again.")
    from scrapers.browser.launch import BrowserNotFound

    if isinstance(exc, BrowserNotFound):
        return Problem("failed", str(exc))
    text = _case_words(exc, case_id)
    if text is not None:
        return Problem("case", redact(text))
    log = debug_log(exc, f"{doing}{where}")
    return Problem("failed", f"{_case(exc, case_id)}caselog hit an unexpected problem "
                   f"({type(exc).__name__}). Nothing captured so far was lost. The details "
                   f"are in {log or 'the debug log'}.")


def _spapi_refusal(exc: BaseException) -> str:
    from scrapers.spapi.errors import InvalidClient, InvalidGrant

    if isinstance(exc, InvalidClient):
        return "the app's client id or client secret is wrong"
    if isinstance(exc, InvalidGrant):
        return ("the refresh token is wrong or was revoked: authorise the app again in "
                "Seller Central for a new one")
    return "it refused a fresh access token"


def _case_words(exc: BaseException, case_id: str | None) -> str | None:
    """Failures that belong to one case (or one page), in words; None when unknown."""
    head = _case(exc, case_id)
    if isinstance(exc, CaseNotFound):
        return f"{head}the portal answers that it has no such case (404)"
    if isinstance(exc, Forbidden):
        return f"{head}the portal refuses to show it to this account (403)"
    if isinstance(exc, AttachmentTooLarge):
        return f"{head}{exc}"
    if isinstance(exc, TransientExhausted):
        got = f"HTTP {exc.status}" if exc.status else "no answer"
        return (f"{head}the portal kept failing ({got}) after several tries; the next sync "
                "tries again")
    if isinstance(exc, BadRequest):
        return f"{head}the portal refused caselog's request (HTTP {exc.status})"
    if isinstance(exc, TooLarge):
        return f"{head}{strip_case(exc)}"
    if isinstance(exc, ParseError):
        return (f"{head}the portal's answer has a shape caselog does not know "
                f"({strip_case(exc)}); the answer is kept, and `caselog reparse` reads it "
                "again once caselog knows the new shape")
    if isinstance(exc, PortalError | capture_errors.CaptureError):
        return f"{head}{strip_case(exc)}"
    return None


def strip_case(exc: BaseException) -> str:
    """A parser's own text without its leading "case N: " (said once, by the caller)."""
    return re.sub(r"^case [\w ()]+?: ", "", str(exc) or type(exc).__name__, count=1)


def describe(exc: BaseException, *, portal: str | None = None,
             case_id: str | None = None, login: str | None = None) -> str:
    """Just the words of :func:`explain`."""
    return explain(exc, portal=portal, case_id=case_id, login=login).message


def stop_state(exc: BaseException) -> str | None:
    """``auth`` / ``robot`` / ``outage`` for the situations that end a sync, else None."""
    for cls, state in STOP_STATES.items():
        if isinstance(exc, cls):
            return state
    return None
