"""ISO 8601 times as the Support API writes them (``2024-01-12T10:00:00.000Z``), read
strictly (a zone is required: a time without one cannot be put in UTC) and written the
ways caselog keeps them: to the second for records, to the millisecond for chat lines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

ISO = (r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
       r"(Z|[+-]\d{2}(?::?\d{2})?)")
_ISO = re.compile(ISO, re.ASCII)


def iso_time(value: str) -> datetime | None:
    """An ISO 8601 date-time with a zone, as an aware UTC datetime; None if it is not
    one (wrong form, impossible date, out of range). Never raises."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    match = _ISO.fullmatch(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                          int(second or 0), micro, tzinfo=UTC)
        if zone != "Z":
            digits = zone[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:] or 0)
            if hours > 23 or minutes > 59:
                return None
            offset = timedelta(hours=hours, minutes=minutes)
            moment = moment - offset if zone[0] == "+" else moment + offset
    except (ValueError, OverflowError):
        return None
    return moment


def seconds(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (fractions dropped, as DESIGN.md's records have it)."""
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}Z")


def millis(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ``, the form of the API's own dates and transcripts."""
    return seconds(moment)[:-1] + f".{moment.microsecond // 1000:03d}Z"
