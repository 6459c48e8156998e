"""The reopen window: until when Seller Central reopens a case, and what to do after.

* **Answered** cases: Amazon's own rule, PORTAL.md section 3 (v2), shown on the case
  page as "Answered cases cannot be reopened after 5 days with no activity". The window
  closes ``reopen_window_days`` (default 5, that figure) after the case's last message
  of either side and any channel; the portal applies it to the second (``canReopenCase``
  true while the last message is at most 5 days old), and so does caselog. A new message
  restarts it.
* **Closed** cases: Amazon publishes no period (PORTAL.md only says a closed case may
  allow reopening). caselog assumes ``closed_reopen_window_days`` (default 30) counted
  from the closing as far as the syncs pin it down (``situation._closing``), and says
  "about"; the portal's ``can_reopen`` at the last sync is the firmer word.

After the window, Amazon's way is a new case that cites this one: the draft becomes
``new_case`` and the reminder says so. Everything here is pure (times in, a dict out) so
the rule is tested table by table; days are shown in this machine's zone, the day rule
of ``companion.read.local_days``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from companion.read.local_days import local_time

ISO = "%Y-%m-%dT%H:%M:%SZ"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime(ISO)


def parse(value: str | None) -> datetime | None:
    """A stored ISO time as an aware datetime (UTC when it has no zone); None if none."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def local_day(dt: datetime) -> str:
    """``December 6, 2026`` in this machine's zone (the day the UI shows)."""
    t = local_time(iso(dt)) or dt
    return f"{t:%B} {t.day}, {t:%Y}"


def local_moment(dt: datetime) -> str:
    """``December 6, 2026 at 17:29`` in this machine's zone."""
    t = local_time(iso(dt)) or dt
    return f"{local_day(dt)} at {t:%H:%M}"


def last_activity(*values: str | None) -> datetime | None:
    """The latest of the given stored times (messages of either side, the listing's
    last Amazon reply): what "no activity" is counted from."""
    times = [t for t in (parse(v) for v in values) if t]
    return max(times) if times else None


def _window(start: datetime, days: int, warn_days: int, now: datetime) -> dict:
    closes = start + timedelta(days=days)
    left = (closes - now).days  # floor: -1 as soon as the moment has passed
    return {"closes_at": iso(closes), "deadline": local_day(closes),
            "closes": local_moment(closes), "days_left": left, "window_days": days,
            "warn": 0 <= left <= warn_days, "passed": now > closes}


def answered(last: datetime | None, settings: dict, now: datetime) -> dict | None:
    """An Answered case's window (exact: Amazon's rule on the stored thread), or None
    without any message to count from."""
    if last is None:
        return None
    return {"rule": "answered", "estimated": False, "since": iso(last),
            "last_activity_on": local_day(last), "closed_on": None,
            **_window(last, settings["reopen_window_days"], settings["reopen_warn_days"],
                      now)}


def closed(start: datetime | None, closed_on: str | None, settings: dict,
           now: datetime) -> dict | None:
    """A Closed case's estimated window from ``start`` (the earliest the closing can
    have been); ``closed_on`` is the closing day when the syncs pinned it."""
    if start is None:
        return None
    return {"rule": "closed", "estimated": True, "since": iso(start),
            "last_activity_on": None, "closed_on": closed_on,
            **_window(start, settings["closed_reopen_window_days"],
                      settings["reopen_warn_days"], now)}


def advice(window: dict | None, case_id: str, dated: bool = True) -> str | None:
    """What to do once the window has closed (None while it is open): Amazon's way is a
    new case that cites this one. ``dated=False`` leaves out when it closed (for a
    page that shows that already)."""
    if not window or not window["passed"]:
        return None
    if window["rule"] == "answered":
        when = f" (the window closed on {window['closes']})" if dated else ""
        return (f"Amazon does not reopen an answered case after {window['window_days']} "
                f"days with no activity{when}: open a new case in Seller Central and "
                f"cite case {case_id}.")
    return (f"The reopen window (about {window['deadline']}) seems to have passed: open a "
            f"new case in Seller Central and cite case {case_id}.")
