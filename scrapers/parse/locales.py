"""What the portal shows in en_US, en_GB and de_DE (PORTAL.md section 5), read back into
API values: status labels, fixed UI strings, dates and times with their zone.

Written from the contract alone (the bundled portal shares no table with this module),
and tolerant of what other conforming portals may show: full or short month names
(`Sept`, `März`, `Mrz.`), `6. März 2026`, ISO dates, seconds, `a.m.`, numeric offsets
(`GMT+1`, `UTC+05:30`, `+0530`, `-03`) and the zone abbreviations a browser or the IANA
database prints; the date and time on one line too (`March 6, 2026 at 04:35:07 PM PST`,
`6. März 2026 um 16:35:07 MEZ`, also with a comma or a weekday). An abbreviation with
several meanings (CST, IST) or none known needs a `timezone` hint (an IANA name);
without one the parser says so instead of guessing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scrapers.errors import AmbiguousTimeZone, LayoutError, TimeZoneError, UnknownTimeZone
from scrapers.parse import limits

LOCALES = ("en_US", "en_GB", "de_DE")
# A shown date, time or label is a few words; longer text is not one (and is not fed
# to the regexes below, whose backtracking would grow with it).
MAX_SHOWN_CHARS = 200

# Shown label (any locale, lower-cased) -> API status value.
STATUS_LABELS = {
    "en_US": {
        "PendingAmazonAction": "Work in progress",
        "PendingMerchantAction": "Needs your attention",
        "Answered": "Answered",
        "Reopened": "Reopened",
        "Resolved": "Resolved",
        "Closed": "Closed",
        "Transferred": "Transferred",
    },
    "de_DE": {
        "PendingAmazonAction": "In Bearbeitung",
        "PendingMerchantAction": "Ihre Aktion ist erforderlich",
        "Answered": "Beantwortet",
        "Reopened": "Erneut geöffnet",
        "Resolved": "Gelöst",
        "Closed": "Geschlossen",
        "Transferred": "Übertragen",
    },
}
STATUS_LABELS["en_GB"] = STATUS_LABELS["en_US"]
API_STATUSES = tuple(STATUS_LABELS["en_US"])

_STATUS_BY_LABEL = {
    label.casefold(): api for table in STATUS_LABELS.values() for api, label in table.items()
}
_STATUS_BY_LABEL.update({api.casefold(): api for api in API_STATUSES})

# Fixed UI strings, each meaning -> its label in every locale (en_GB as en_US).
UI = {
    "case_log": ("Case Log", "Fallprotokoll"),
    "no_reply": ("No reply", "Keine Antwort"),
    "see_more": ("See more", "Mehr anzeigen"),
    "see_less": ("See less", "Weniger anzeigen"),
    "show_older": ("Show older messages", "Ältere Nachrichten anzeigen"),
    "reply": ("Reply", "Antworten"),
    "reopen": ("Reopen case", "Fall erneut öffnen"),
    "you": ("You", "Sie"),
    "amazon": ("Amazon", "Amazon"),
    "id": ("ID:", "ID:"),
    "status": ("Status:", "Status:"),
    "created": ("Created:", "Erstellt:"),
    "category": ("Category:", "Kategorie:"),
}
GERMAN_ONLY_LABELS = ("Erstellt:", "Kategorie:", "Fallprotokoll", "Keine Antwort")

# What a contact's [data-testid="channel"] shows (v2: `Chat`, `Phone call`, `Telefonat`),
# and words another portal might show for the same channels.
CHANNEL_LABELS = {
    "chat": "chat", "live chat": "chat", "phone call": "phone", "telefonat": "phone",
    "phone": "phone", "call": "phone", "anruf": "phone", "email": "email", "e-mail": "email",
}
# The lobby's column headers (section 5), each meaning -> its words in every locale.
# Headers are compared without case, spaces or punctuation (`Case Id`, `Fall ID ▲`).
HEADERS = {
    "case_id": ("Case ID", "Fall-ID"),
    "status": ("Status",),
    "subject": ("Subject", "Short Description", "Betreff", "Kurzbeschreibung"),
    "created": ("Creation Date", "Erstellungsdatum"),
    "last_reply": ("Last Amazon Reply", "Letzte Antwort von Amazon"),
    "email": ("Primary Email", "Primäre E-Mail"),
}


def _header_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


_HEADER_BY_KEY = {_header_key(label): key for key, labels in HEADERS.items()
                  for label in labels}


def header_meaning(text: str) -> str | None:
    """The column (`case_id`, `status`, ...) a lobby header stands for, in any locale."""
    if not isinstance(text, str) or len(text) > MAX_SHOWN_CHARS:
        return None
    return _HEADER_BY_KEY.get(_header_key(text))


def channel_value(label: str) -> str:
    """`email`, `chat` or `phone` for a shown channel label in any locale."""
    key = " ".join(_shown(label, "a channel label").split()).casefold()
    try:
        return CHANNEL_LABELS[key]
    except KeyError:
        raise LayoutError('a channel label ("Chat", "Phone call", "Telefonat")',
                          found=repr(label)) from None


def ui_meaning(label: str | None) -> str | None:
    """The UI key (`see_more`, `reply`, ...) a shown label stands for, in any locale."""
    if not label:
        return None
    wanted = " ".join(label.split()).casefold()
    for key, labels in UI.items():
        if any(wanted == s.casefold() for s in labels):
            return key
    return None


def _shown(text, what: str) -> str:
    """`text` if it can be a shown date, time or label: a short string."""
    if not isinstance(text, str):
        raise LayoutError(what, found=type(text).__name__)
    if len(text) > MAX_SHOWN_CHARS:
        raise LayoutError(what, found=f"{len(text):,} characters")
    return text


def status_value(label: str) -> str:
    """API status for a shown label in any locale (or the API value itself)."""
    key = " ".join(_shown(label, "a status label").split()).casefold()
    try:
        return _STATUS_BY_LABEL[key]
    except KeyError:
        raise LayoutError("a known status label", found=repr(label)) from None


# ---------------------------------------------------------------- dates

_MONTHS = {
    # English
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11,
    "november": 11, "dec": 12, "december": 12,
    # German (and Austrian Jänner)
    "januar": 1, "jänner": 1, "jän": 1, "februar": 2, "mär": 3, "märz": 3, "mrz": 3,
    "maerz": 3, "mai": 5, "juni": 6, "juli": 7, "okt": 10, "oktober": 10, "dez": 12,
    "dezember": 12,
}

_RE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_RE_DOTTED = re.compile(r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})")
_RE_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_RE_MONTH_FIRST = re.compile(r"([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_RE_DAY_FIRST = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\.?\s+([^\W\d_]+)\.?,?\s+(\d{4})")
_RE_WEEKDAY = re.compile(
    r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+"
    r"|(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|mo|di|mi|do|fr|sa|so)"
    r"\.?,\s*", re.I)


def _month(name: str) -> int:
    try:
        return _MONTHS[name.casefold()]
    except KeyError:
        raise LayoutError("a month name", found=repr(name)) from None


def parse_date(text: str, locale: str | None = None) -> date:
    """`Mar 06, 2026` (en_US), `6 Mar 2026` (en_GB), `06.03.2026` / `6. März 2026`
    (de_DE), ISO `2026-03-06`. Slashed dates need the locale to know the order."""
    text = _shown(text, "a date")
    s = " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())
    if weekday := _RE_WEEKDAY.match(s):  # "Friday, March 6, 2026": the day says nothing
        s = s[weekday.end():]
    day = _match_date(s, locale)
    if day is None:
        raise LayoutError("a date", found=repr(text))
    if not limits.YEAR_MIN <= day.year < limits.YEAR_MAX:
        raise LayoutError("a date from 1990 to 2100", found=repr(text))
    return day


def _match_date(s: str, locale: str | None) -> date | None:
    """The date `s` is written as, or None; an impossible date is a LayoutError."""
    try:
        if m := _RE_ISO.fullmatch(s):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _RE_DOTTED.fullmatch(s):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _RE_MONTH_FIRST.fullmatch(s):
            return date(int(m[3]), _month(m[1]), int(m[2]))
        if m := _RE_DAY_FIRST.fullmatch(s):
            return date(int(m[3]), _month(m[2]), int(m[1]))
        if (m := _RE_SLASHED.fullmatch(s)) and locale:
            a, b, y = int(m[1]), int(m[2]), int(m[3])
            return date(y, a, b) if locale == "en_US" else date(y, b, a)
    except ValueError as exc:  # month 13, 31 February (a LayoutError passes as is)
        if isinstance(exc, LayoutError):
            raise
        raise LayoutError("a real date", found=f"{s!r} ({exc})") from None
    return None


def date_locale(text: str) -> str | None:
    """Which locale's date format `text` is in (None when it is none of the three)."""
    s = " ".join(_shown(text, "a date").split())
    if _RE_DOTTED.fullmatch(s):
        return "de_DE"
    if _RE_MONTH_FIRST.fullmatch(s):
        return "en_US"
    if m := _RE_DAY_FIRST.fullmatch(s):
        return "de_DE" if "." in s or m[2].casefold() in _GERMAN_MONTHS else "en_GB"
    return None


_GERMAN_MONTHS = {"januar", "jänner", "jän", "februar", "mär", "märz", "mrz", "maerz",
                  "mai", "juni", "juli", "okt", "oktober", "dez", "dezember"}

# ---------------------------------------------------------------- zones

_H = 3600
# Abbreviation -> UTC offset(s) in seconds. Several offsets = ambiguous without a hint.
# German forms (MEZ/MESZ, OEZ/OESZ, WEZ/WESZ) are what de_DE shows for CET and friends.
ZONE_OFFSETS: dict[str, tuple[int, ...]] = {
    "UTC": (0,), "GMT": (0,), "UT": (0,), "Z": (0,), "WET": (0,), "WEZ": (0,),
    "WEST": (_H,), "WESZ": (_H,), "BST": (_H,), "CET": (_H,), "MEZ": (_H,), "MET": (_H,),
    "CEST": (2 * _H,), "MESZ": (2 * _H,), "MEST": (2 * _H,), "EET": (2 * _H,),
    "OEZ": (2 * _H,), "EEST": (3 * _H,), "OESZ": (3 * _H,), "MSK": (3 * _H,),
    "IDT": (3 * _H,), "SAST": (2 * _H,), "CAT": (2 * _H,), "EAT": (3 * _H,),
    "WAT": (_H,), "PKT": (5 * _H,), "WIB": (7 * _H,), "WITA": (8 * _H,), "WIT": (9 * _H,),
    "HKT": (8 * _H,), "SGT": (8 * _H,), "AWST": (8 * _H,), "JST": (9 * _H,),
    "KST": (9 * _H,), "ACST": (9 * _H + 1800,), "ACDT": (10 * _H + 1800,),
    "AEST": (10 * _H,), "AEDT": (11 * _H,), "ChST": (10 * _H,), "NZST": (12 * _H,),
    "NZDT": (13 * _H,), "HST": (-10 * _H,), "HDT": (-9 * _H,), "AKST": (-9 * _H,),
    "AKDT": (-8 * _H,), "PST": (-8 * _H,), "PDT": (-7 * _H,), "MST": (-7 * _H,),
    "MDT": (-6 * _H,), "CDT": (-5 * _H,), "EST": (-5 * _H,), "EDT": (-4 * _H,),
    "AST": (-4 * _H,), "ADT": (-3 * _H,), "NST": (-3 * _H - 1800,),
    "NDT": (-2 * _H - 1800,), "SST": (-11 * _H,),
    # Ambiguous: US Central / China / Cuba; India / Ireland (summer) / Israel.
    "CST": (-6 * _H, 8 * _H, -5 * _H),
    "IST": (5 * _H + 1800, _H, 2 * _H),
}
# What the IANA database prints for a zone that de_DE shows under its German name.
_IANA_ABBR = {"MEZ": "CET", "MESZ": "CEST", "OEZ": "EET", "OESZ": "EEST", "WEZ": "WET",
              "WESZ": "WEST"}

_RE_OFFSET = re.compile(r"(?:UTC|GMT|UT)?\s*([+-\u2212])\s*(\d{1,2})(?::?(\d{2}))?", re.I)
_RE_TIME = re.compile(
    r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*(?:([AaPp])\.?\s?[Mm]\.?)?\s*(?:Uhr\b)?\s*(.*)"
)


def _fixed_offset(zone: str) -> int | None:
    """Seconds east of UTC for `GMT+1`, `UTC+05:30`, `+0530`, `-03`; None otherwise."""
    m = _RE_OFFSET.fullmatch(zone)
    if not m:
        return None
    hours, minutes = int(m[2]), int(m[3] or 0)
    if hours > 14 or minutes > 59:
        raise TimeZoneError(f"offset out of range: {zone!r}")
    seconds = hours * _H + minutes * 60
    return -seconds if m[1] in "-\u2212" else seconds


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not 0 < len(name) <= 100:
        raise TimeZoneError(f"not an IANA time zone name: {str(name)[:100]!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        raise TimeZoneError(f"unknown IANA time zone {name!r}") from None


def resolve_zone(local: datetime, zone: str, hint: str | None = None) -> datetime:
    """Attach the shown zone to a naive local time and return it as aware UTC.

    With a hint, the hint zone's own abbreviation at that moment decides first, which
    also picks the right side of a DST fall-back hour (1:30 AM PDT vs 1:30 AM PST).
    """
    zone = zone.strip()
    if not zone:
        if hint:
            return local.replace(tzinfo=_zone(hint)).astimezone(UTC)
        raise UnknownTimeZone(f"time {local:%H:%M} has no zone; pass timezone=<IANA name>")
    fixed = _fixed_offset(zone)
    if fixed is not None:
        return (local - timedelta(seconds=fixed)).replace(tzinfo=UTC)
    key = zone.upper() if zone.upper() != "CHST" else "ChST"
    candidates = ZONE_OFFSETS.get(key)
    if hint:
        tz = _zone(hint)
        iana_name = _IANA_ABBR.get(key, key)
        folds = [local.replace(tzinfo=tz, fold=f) for f in (0, 1)]
        for aware in folds:
            if aware.tzname() == iana_name or (aware.tzname() or "").upper() == iana_name:
                return aware.astimezone(UTC)
        if candidates is None:  # unknown abbreviation: the hint is all we have
            return folds[0].astimezone(UTC)
        if len(candidates) > 1:
            for aware in folds:
                off = int(aware.utcoffset().total_seconds())
                if off in candidates:
                    return aware.astimezone(UTC)
            raise AmbiguousTimeZone(
                f"{zone!r} is ambiguous and matches no offset of the hint {hint!r}")
    if candidates is None:
        raise UnknownTimeZone(
            f"unknown time zone abbreviation {zone!r}; pass timezone=<IANA name>")
    if len(candidates) > 1:
        raise AmbiguousTimeZone(
            f"time zone {zone!r} is ambiguous (offsets "
            + ", ".join(_fmt_offset(c) for c in candidates)
            + "); pass timezone=<IANA name>")
    return (local - timedelta(seconds=candidates[0])).replace(tzinfo=UTC)


def _fmt_offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    h, m = divmod(abs(seconds) // 60, 60)
    return f"UTC{sign}{h:02d}:{m:02d}"


def parse_time(text: str) -> tuple[int, int, int, str]:
    """`4:35 PM PST` / `16:35 GMT` / `16:35 MEZ` -> (hour, minute, second, zone text)."""
    text = _shown(text, "a time")
    s = " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())
    m = _RE_TIME.fullmatch(s)
    if not m:
        raise LayoutError("a time", found=repr(text))
    hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
    if m[4]:
        if not 1 <= hour <= 12:
            raise LayoutError("a 12-hour time", found=repr(text))
        hour = hour % 12 + (12 if m[4] in "Pp" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise LayoutError("a time of day", found=repr(text))
    return hour, minute, second, m[5].strip()


def parse_datetime(date_text: str, time_text: str, *, timezone_hint: str | None = None,
                   locale: str | None = None) -> datetime:
    """Shown date + shown time with zone -> aware datetime in UTC."""
    day = parse_date(date_text, locale)
    hour, minute, second, zone = parse_time(time_text)
    local = datetime(day.year, day.month, day.day, hour, minute, second)
    return resolve_zone(local, zone, timezone_hint)


# The one-line form (v2): a date, `at` / `um` (or a comma, or nothing), a time and zone.
_RE_ONE_LINE = re.compile(
    r"(\d{4}-\d{1,2}-\d{1,2}|[^\n]{1,80}?\d{4})(?:\s*,\s*|\s+(?:at|um|à)\s+|\s+|T)"
    r"(\d{1,2}[:.]\d{2}[^\n]*)", re.I)


def split_one_line(text: str) -> tuple[str, str] | None:
    """(date, time with zone) of a time shown on one line (`March 6, 2026 at 04:35:07 PM
    PST`, `6 March 2026 at 16:35:07 GMT`, `6. März 2026 um 16:35:07 MEZ`), or None when
    the text is not one; neither part is checked here (`parse_one_line` does)."""
    if not isinstance(text, str) or len(text) > MAX_SHOWN_CHARS:
        return None
    s = " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())
    m = _RE_ONE_LINE.fullmatch(s)
    return (m[1], m[2]) if m else None


def parse_one_line(text: str, *, timezone_hint: str | None = None,
                   locale: str | None = None) -> datetime:
    """A time shown on one line -> aware datetime in UTC (seconds kept)."""
    parts = split_one_line(_shown(text, "a date and time"))
    if parts is None:
        raise LayoutError("a date and time on one line", found=repr(text))
    return parse_datetime(*parts, timezone_hint=timezone_hint, locale=locale)


def iso_utc(moment: datetime) -> str:
    """`2026-03-06T12:35:00Z` for an aware datetime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_day(day: date) -> str:
    """A shown calendar date as the record's timestamp: `2026-03-06T00:00:00Z`."""
    return f"{day.isoformat()}T00:00:00Z"
