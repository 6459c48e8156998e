"""The one day rule: an event belongs to the calendar day of this machine's time zone
(the day the UI shows it under), and a "from"/"to" filter means those local days.

Every timeline source (the built-in kinds, draft events, reminders) and every view that
groups by day uses these functions, so an event shown under Tuesday is found by a filter
for Tuesday whatever its UTC date.

Days outside ``MIN_DAY``..``MAX_DAY`` cannot be turned into instants on every platform
(year 1 has no local midnight before it; 9999-12-31 has no next day): ``clamp_day``
brings a typed date into range, so a filter is never an error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

MIN_DAY = date(1970, 1, 2)
MAX_DAY = date(9998, 12, 31)
ISO = "%Y-%m-%dT%H:%M:%SZ"


def parse_day(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` string as a date, or None for anything else."""
    if not value or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def clamp_day(value: str | None) -> str | None:
    """A valid ``YYYY-MM-DD`` brought into the supported range; None when not a date."""
    d = parse_day(value)
    if d is None:
        return None
    return min(max(d, MIN_DAY), MAX_DAY).isoformat()


def day_bounds(day: str) -> tuple[str, str]:
    """The UTC instants at which a local calendar day starts and the next one starts."""
    d = min(max(date.fromisoformat(day), MIN_DAY), MAX_DAY)
    start = datetime.combine(d, time()).astimezone()  # naive -> local midnight
    end = datetime.combine(d + timedelta(days=1), time()).astimezone()
    return start.astimezone(UTC).strftime(ISO), end.astimezone(UTC).strftime(ISO)


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def local_time(value: str | None) -> datetime | None:
    """A stored ISO UTC time in this machine's zone (None when unreadable)."""
    t = _instant(value)
    if t is None:
        return None
    try:
        return t.astimezone()
    except (OverflowError, ValueError, OSError):
        return t


def local_day(value: str | None) -> str:
    """The local day (``YYYY-MM-DD``) an event at ``value`` is shown under; '' if none."""
    t = local_time(value)
    return t.date().isoformat() if t else ""


def date_clauses(column: str, filters: dict, params: dict) -> list[str]:
    """SQL for the ``from``/``to`` filters on a column of ISO UTC times (to is inclusive:
    up to the start of the day after it)."""
    where = []
    if "from" in filters:
        where.append(f"{column} >= :date_from")
        params["date_from"] = day_bounds(filters["from"])[0]
    if "to" in filters:
        where.append(f"{column} < :date_to")
        params["date_to"] = day_bounds(filters["to"])[1]
    return where


def in_range(at: str, filters: dict) -> bool:
    """The same rule as ``date_clauses`` for events computed in memory."""
    if "from" in filters and at < day_bounds(filters["from"])[0]:
        return False
    return not ("to" in filters and at >= day_bounds(filters["to"])[1])
