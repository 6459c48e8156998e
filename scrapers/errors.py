"""Every way a capture can fail, in one tree that needs no browser to import.

Two families, because they call for different reactions:

- :class:`PortalError`: the portal answered, but not with what was asked (or did not
  answer). Some situations stop a sync, because only a person or time can fix them
  (:class:`SessionExpired`, :class:`RobotCheck`, :class:`Outage`); the others fail one
  case and the sync goes on. The client raises them from status codes and pages, and the
  parsers raise the same classes when a capture turns out to be the portal's sign-in,
  robot-check, outage or 404 page: one situation, one class, wherever it was noticed.
- :class:`ParseError`: the answer has a shape the parsers do not know. The capture is
  kept for ``caselog reparse`` and the message names what was expected.

Messages here are facts for the developer log; the words a seller reads are made in
``companion.errors``, and ``companion.redact`` removes anything secret.
"""

from __future__ import annotations

from collections.abc import Sequence


class CaptureError(Exception):
    """Base of every capture and parse failure."""


# -- the portal answered otherwise ---------------------------------------------------------

class PortalError(CaptureError, RuntimeError):
    """Carries what was asked (``url``, ``case_id``) and what came back (``status``,
    ``body``: the portal's own answer, archived with a failed case)."""

    def __init__(self, message: str = "", *, url: str = "", status: int | None = None,
                 case_id: str | None = None, body: bytes = b""):
        super().__init__(message)
        self.url, self.status, self.case_id, self.body = url, status, case_id, body


class SessionExpired(PortalError):
    """No valid session (401, sent to sign-in, or the sign-in form itself). Not retried."""


class NoSavedSession(SessionExpired):
    """Nobody signed in with caselog for this portal yet (no saved session at all)."""


class NoSavedCredentials(NoSavedSession):
    """No Support API credentials were saved for this endpoint yet."""


class RobotCheck(PortalError):
    """The portal wants a person to solve a captcha. Never retried blindly."""


class Outage(PortalError):
    """The case log itself is down while sign-in works (PORTAL.md section 1, v2)."""


class CaseNotFound(PortalError):
    """404 for this case, or the portal's "We couldn't find that case" page."""


class Forbidden(PortalError):
    """403: the signed-in account may not see this (or the portal wants in-page calls)."""


class BadRequest(PortalError):
    """400 (or another unexpected 4xx): the request was wrong; ``body`` says why."""


class TransientExhausted(PortalError):
    """429/5xx/network errors went on past the retry budget."""


class Unreachable(TransientExhausted):
    """Nothing answered at all (refused connection, unknown host, timeouts)."""


class AttachmentTooLarge(PortalError):
    """The attachment is bigger than the cap; nothing beyond the cap was read."""


# Situations that end a sync early (everything saved so far stays saved).
STOPS = (SessionExpired, RobotCheck, Outage)


class ShapeChanged(CaptureError):
    """The case list is readable but no longer PORTAL.md's shape (the doctor's cheap
    checks failed on it): its rows would be misread, so the sync stops before saving any.
    ``findings`` are the failed checks (each with ``check``, ``expected`` and ``found``);
    the words name structure only, never data, so they are said to the seller as is."""

    def __init__(self, findings: Sequence, portal: str):
        self.findings = list(findings)
        first = self.findings[0]
        more = f" (and {len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
        super().__init__(
            f"Seller Central's case list changed shape: {first.check} expected "
            f"{first.expected}, found {first.found}{more}. Nothing was saved. Run `caselog "
            f"doctor --portal {portal} --report doctor.json` and attach the report to a bug "
            "report.")


# -- the answer has an unknown shape ---------------------------------------------------------

class ParseError(CaptureError, ValueError):
    """Base of every parser failure; a capture that raises it is kept for ``reparse``."""


class LayoutError(ParseError):
    """The capture lacks structure the contract promises (PORTAL.md sections 2-5).

    Carries ``case_id`` (None when the page never said) and ``expected`` (the selector or
    field that was missing) so a sync report can say which case and what changed.
    """

    def __init__(self, expected: str, *, case_id: str | None = None, where: str = "",
                 found: str = "none", message: str | None = None):
        self.case_id = case_id
        self.expected = expected
        self.where = where
        self.found = found
        if message is None:
            subject = f"case {case_id}" if case_id else "case (id unknown)"
            inside = f" inside {where}" if where else ""
            message = f"{subject}: expected {expected}{inside}, found {found}"
        super().__init__(message)


class TooLarge(ParseError):
    """An input past the size or depth the parsers accept (a guard, not a shape)."""


class TimeZoneError(ParseError):
    """A shown time zone that cannot be turned into an offset without a hint."""


class AmbiguousTimeZone(TimeZoneError):
    """An abbreviation with several meanings (CST, IST) and no ``timezone`` hint."""


class UnknownTimeZone(TimeZoneError):
    """An abbreviation the parser does not know and no ``timezone`` hint was given."""
