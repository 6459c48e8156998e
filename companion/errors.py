"""The one place where a failure becomes words a seller reads.

Everything that reaches a person, a ``--json`` summary, the UI, a log line or a database
row about a failure is made here (:func:`explain`, :func:`describe`), in words that say
what to do next, and passes through ``companion.redact``. Raw library text goes only to
the debug log (``companion.debuglog``), for a developer to read. What each state means
for the exit code is ``companion.exitcodes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from companion.debuglog import debug_log
from companion.redact import redact
from scrapers import errors as capture_errors
from scrapers.browser.launch import BrowserNotFound
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
    ShapeChanged,
    TooLarge,
    TransientExhausted,
    Unreachable,
)
from scrapers.spapi.errors import CredentialsRejected, InvalidClient, InvalidGrant

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
    if isinstance(exc, ShapeChanged):  # its words are made with its findings: said as is
        return Problem("failed", redact(str(exc)))
    if isinstance(exc, Unreachable):
        return Problem("failed", f"Could not reach the portal{where}: nothing answered. "
                       "Check the address and your internet connection, then try again.")
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

