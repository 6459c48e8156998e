"""Exceptions the pure parsers raise, so callers can tell a page they must stop on
(robot check, sign-in) from a layout the parser does not know (keep the capture, go on)."""

from __future__ import annotations


class ParseError(ValueError):
    """Base of every parser failure; a capture that raises it is kept for `reparse`."""


class LayoutError(ParseError):
    """The capture lacks structure the contract promises (PORTAL.md sections 3-4).

    Carries `case_id` (None when the page never said) and `expected` (the selector or
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


class SpecialPage(ParseError):
    """The portal answered with a page that is not the one asked for."""


class RobotCheckPage(SpecialPage):
    """`Robot Check` / `Enter the characters you see below`: only a person can pass it."""


class SignInPage(SpecialPage):
    """The session is gone (`#ap_email` form): the person must run `caselog login`."""


class CaseNotFoundPage(SpecialPage):
    """`We couldn't find that case`: the portal's 404 page for an unknown case id."""


class TimeZoneError(ParseError):
    """A shown time zone that cannot be turned into an offset without a hint."""


class AmbiguousTimeZone(TimeZoneError):
    """An abbreviation with several meanings (CST, IST) and no `timezone` hint to choose."""


class UnknownTimeZone(TimeZoneError):
    """An abbreviation the parser does not know and no `timezone` hint was given."""
