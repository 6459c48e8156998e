"""Which channel a contact came by (PORTAL.md v2: EMAIL, CHAT, PHONE) and the turns of a
chat, read from the transcript that is its body, for both the JSON and the rendered page.

A chat's body is one line per turn: time, name, text. The bundled portal writes
`18:09:51 UTC Mei Tanaka: Hello`; the contract fixes only the order, so a line is read
tolerantly: an optional date (`2026-03-06`), a time of day with or without seconds or
AM/PM, optionally in brackets, optionally a zone (an abbreviation or an offset), then
`Name: text`. A line that does not split that way is kept whole as a turn's text with no
time and no name, so nothing of the transcript is lost.

A turn's time of day becomes a moment only when its zone is shown: the date is the one
that puts it nearest the turn before it (the first turn: nearest the contact's own time),
so a chat across midnight keeps its order. Without a zone it is None: which zone a
transcript means is not the contract's, and guessing would give the two parsers (JSON
and page) different answers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from scrapers.errors import LayoutError
from scrapers.parse import locales

CHANNELS = ("email", "chat", "phone")
_BY_TYPE = {"email": "email", "chat": "chat", "phone": "phone"}
# A name is a few words; more than this before the first ": " is a sentence, not a name.
MAX_NAME_CHARS = 80
_RE_TURN_TIME = re.compile(
    r"\[?\s*(?:(\d{4}-\d{2}-\d{2})[ T])?(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s*([AaPp])\.?[Mm]\.?)?\s*\]?"
    r"(?:\s+((?:UTC|GMT)(?:[+-\u2212]\d{1,2}(?::?\d{2})?)?|[A-Z]{2,5}|[+-]\d{2}:?\d{2}))?"
    r"\s*[-\u2013]?\s+")


def channel_of_type(value) -> str:
    """The record's channel for a ViewCase `channelType`: EMAIL, CHAT or PHONE (any case;
    none, for a portal before v2, is an e-mail). Anything else is a LayoutError naming it."""
    if value is None or value == "":
        return "email"
    if isinstance(value, str) and value.strip().casefold() in _BY_TYPE:
        return _BY_TYPE[value.strip().casefold()]
    shown = repr(value[:60]) if isinstance(value, str) else type(value).__name__
    raise LayoutError('"channelType" (EMAIL, CHAT or PHONE)', found=shown)


def chat_turns(text: str, sent_at: str | None) -> list[dict]:
    """The turns of a chat's transcript (its plain text): `[{"at", "name", "text"}]`, in
    the transcript's order; `at` is ISO UTC or None (see the module docstring)."""
    turns: list[dict] = []
    anchor = _moment(sent_at)
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        turn, at = _turn(line, anchor)
        if at is not None:
            anchor = at
        turns.append(turn)
    return turns


def _turn(line: str, anchor: datetime | None) -> tuple[dict, datetime | None]:
    """One transcript line -> (turn, its moment or None)."""
    m = _RE_TURN_TIME.match(line)
    if m:
        zone = m[6]
        start = m.end()
        if zone and not _is_zone(zone):  # capitals that begin the name (`AL Smith`)
            zone, start = None, m.start(6)
        name, sep, said = line[start:].partition(": ")
        if not sep and line.endswith(":"):  # a turn that said nothing
            name, sep, said = line[start:-1], ":", ""
        name = name.strip()
        if sep and 0 < len(name) <= MAX_NAME_CHARS:
            at = _turn_moment(m, zone, anchor)
            return {"at": locales.iso_utc(at) if at else None, "name": name,
                    "text": said.strip()}, at
    return {"at": None, "name": None, "text": line}, None


def _is_zone(word: str) -> bool:
    return word[0] in "+-\u2212" or word.upper().startswith(("UTC", "GMT")) \
        or word.upper() in locales.ZONE_OFFSETS


def _turn_moment(m: re.Match, zone: str | None, anchor: datetime | None
                 ) -> datetime | None:
    """The moment a turn's shown time means, or None (no zone, no anchor, not a time)."""
    day, hour, minute, second, half, _ = m.groups()
    hour, minute, second = int(hour), int(minute), int(second or 0)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half in "Pp" else 0)
    if hour > 23 or minute > 59 or second > 59 or not zone:
        return None
    try:
        if day:
            local = datetime.fromisoformat(day).replace(hour=hour, minute=minute,
                                                        second=second)
            return locales.resolve_zone(local, zone)
        if anchor is None:
            return None
        # The clock time in the zone on the days around the anchor's (zones are within
        # a day of UTC): the one nearest the anchor.
        base = anchor.replace(hour=hour, minute=minute, second=second, tzinfo=None)
        options = [locales.resolve_zone(base + timedelta(days=d), zone)
                   for d in (-2, -1, 0, 1, 2)]
        return min(options, key=lambda o: abs(o - anchor))
    except (ValueError, OverflowError):  # an unknown zone, a date out of range
        return None


def _moment(iso) -> datetime | None:
    if not isinstance(iso, str) or not iso:
        return None
    try:
        return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
