"""The doctor's vocabulary: what a check found (``Finding``), what the requests brought
back (``Captured``: bytes and status per capture, decoded once, on demand), and the
registry of named checks with the one loop that runs them.

Everything here is pure: a ``Captured`` is made from bytes (a live run, or files saved
by hand), and every check is a function of it, so each check is tested from files and a
live run only adds the four requests (``companion.doctor.driver``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from companion.doctor import privacy
from scrapers.errors import AmbiguousTimeZone, ParseError, TimeZoneError
from scrapers.parse.dom import page_text, tree_of
from scrapers.parse.monsapi import parse_search, parse_view_case
from scrapers.parse.pages import parse_case_page, parse_lobby
from scrapers.parse.shapes import load

# A check ends in one of these. "not shown": the captures hold nothing it could look at
# (the newest case has no attachment, say); that is no failure.
RESULTS = ("ok", "differs", "missing", "not shown")
FAILING = ("differs", "missing")
# The four captures and how a report names the request that made each.
CAPTURES = {
    "search": "POST mons-api/SearchForCases (page 0)",
    "viewcase": "GET mons-api/ViewCase (the newest case, first page)",
    "case_page": "the rendered case page of the newest case",
    "lobby": "the rendered case lobby (page 1, window All)",
}


# Zones that settle the ambiguous abbreviations (CST, IST) when a page is read only to
# check its structure; an unknown abbreviation takes the first.
STAND_IN_ZONES = ("America/Chicago", "Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem")


def _needs_hint(exc: TimeZoneError) -> bool:
    """A zone PORTAL.md allows that the parser reads only with ``--timezone`` (an
    ambiguous or unfamiliar abbreviation), not a time shown without any zone."""
    return isinstance(exc, AmbiguousTimeZone) or "abbreviation" in str(exc)


@dataclass(frozen=True)
class Finding:
    check: str
    capture: str
    expected: str
    found: str
    result: str

    @property
    def failed(self) -> bool:
        """Does this finding make the doctor exit 1?"""
        return self.result in FAILING

    def as_dict(self) -> dict:
        return {"check": self.check, "capture": self.capture, "result": self.result,
                "expected": self.expected, "found": self.found}


@dataclass(frozen=True)
class Raw:
    """One answer as the driver got it: the HTTP status and the bytes, or, when there
    were none, why (``problem``, in words that hold no data: "HTTP 404"). ``skipped``:
    not asked because there was nothing to ask about (an account without cases), which
    is no finding."""

    status: int | None
    body: bytes | None
    problem: str | None = None
    skipped: bool = False


class NotShown(Exception):
    """The captures cannot show what a check looks for (its words say why)."""


class Captured:
    """The bytes of one doctor run, with what each decodes to, computed once: JSON
    documents, HTML trees, and the seller's data (``privacy.DataValues``) that no
    report may repeat. ``case_id`` is the case the case captures are of."""

    def __init__(self, *, search: Raw | None = None, viewcase: Raw | None = None,
                 case_page: Raw | None = None, lobby: Raw | None = None,
                 case_id: str | None = None, timezone: str | None = None):
        self.raws = {"search": search, "viewcase": viewcase, "case_page": case_page,
                     "lobby": lobby}
        self.case_id, self.timezone = case_id, timezone
        self.zone_stand_in: str | None = None
        self._memo: dict = {}
        self._data: privacy.DataValues | None = None

    def answered(self, kind: str) -> Raw | None:
        """The capture for an "answer" check: None when it is absent (a finding), or
        NotShown when it was rightly never asked for."""
        raw = self.raws.get(kind)
        if raw is not None and raw.skipped:
            raise NotShown(raw.problem or "not asked")
        return raw if raw is not None and raw.body is not None else None

    def raw(self, kind: str) -> Raw:
        """The capture, or NotShown saying why there is none."""
        raw = self.raws.get(kind)
        if raw is None or raw.body is None:
            why = f" ({raw.problem})" if raw is not None and raw.problem else ""
            raise NotShown(f"no answer to look at{why}")
        return raw

    def memo(self, key, make: Callable):
        """``make()`` once per run (a failure is remembered too, and raised again)."""
        if key not in self._memo:
            try:
                self._memo[key] = (True, make())
            except Exception as exc:  # remembered, and raised again to each caller
                self._memo[key] = (False, exc)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value

    def json(self, kind: str):
        """The decoded JSON of a capture (within the parsers' size and depth limits)."""

        def decode():
            try:
                return load(self.raw(kind).body, what=kind)
            except ParseError:
                raise NotShown("the answer is not JSON caselog can decode") from None

        return self.memo(("json", kind), decode)

    def tree(self, kind: str):
        """The parsed HTML of a rendered capture (labels shown, nesting flattened)."""

        def build():
            try:
                return tree_of(page_text(self.raw(kind).body))
            except ParseError:
                raise NotShown("the page is not HTML caselog can read") from None

        return self.memo(("tree", kind), build)

    def parsed(self, kind: str):
        """What caselog's own parser makes of a capture (the very function a sync
        calls), or the ``ParseError`` it raised, raised again (``NotShown`` without a
        capture). A time zone the page names ambiguously, with no ``--timezone``, is
        read with a stand-in zone (``zone_stand_in``): the page's structure is still
        checked; its times are not compared."""
        body = self.raw(kind).body
        return self.memo(("parsed", kind), lambda: self._parse(kind, body))

    def _parse(self, kind: str, body: bytes):
        if kind == "search":
            return parse_search(body)
        if kind == "viewcase":
            return parse_view_case(body, self.case_id)
        if kind == "lobby":
            return parse_lobby(body)
        try:
            return parse_case_page(body, case_id=self.case_id, timezone=self.timezone)
        except TimeZoneError as exc:
            if self.timezone or not _needs_hint(exc):
                raise
        for stand_in in STAND_IN_ZONES:
            try:
                found = parse_case_page(body, case_id=self.case_id, timezone=stand_in)
            except TimeZoneError:
                continue
            self.zone_stand_in = stand_in
            return found
        raise ParseError("no stand-in zone reads the page's times")

    @property
    def data(self) -> privacy.DataValues:
        if self._data is None:
            self._data = privacy.collect(self)
        return self._data

    def seen(self, text) -> str:
        """The portal's own words as a report may show them (``privacy.shown``)."""
        return privacy.shown(text, self.data)


@dataclass(frozen=True)
class Check:
    name: str
    capture: str
    expected: str
    fn: Callable[[Captured], tuple[str, str]]


CHECKS: list[Check] = []


def check(name: str, capture: str, expected: str):
    """Register ``fn(captured) -> (result, found)`` as the check ``name``: what it
    expects is PORTAL.md's, in words; what it found is structure only."""

    def register(fn):
        CHECKS.append(Check(name, capture, expected, fn))
        return fn

    return register


def run(captured: Captured, names: tuple[str, ...] | None = None) -> list[Finding]:
    """Every registered check (or those named) over one run's captures, in order. A
    check that meets an answer too odd for it says so as "differs" rather than
    stopping the others: a doctor must survive the portal it examines."""
    findings = []
    for chk in CHECKS:
        if names is not None and chk.name not in names:
            continue
        try:
            result, found = chk.fn(captured)
        except NotShown as exc:
            result, found = "not shown", str(exc)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError,
                ArithmeticError, RecursionError) as exc:
            result, found = "differs", f"an answer this check cannot read ({type(exc).__name__})"
        findings.append(Finding(chk.name, chk.capture, chk.expected, found, result))
    return findings


def number(value) -> str:
    """A JSON number as a report may say it, whatever its size (a 400-digit integer
    cannot even become a float)."""
    if isinstance(value, int):
        return str(value) if abs(value) < 10**15 else "a huge number"
    try:
        return f"{value:g}"
    except (TypeError, ValueError):
        return "not a number"


def count(n: int, word: str) -> str:
    """``1 row`` / ``3 rows``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
