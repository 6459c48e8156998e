"""When the watch syncs an account: every ``--every`` (30 minutes by default), never
more often than every 10 minutes, each round moved by up to a tenth of the interval
either way so that many accounts (and many sellers' watches) do not all hit the portal on
the same second.

``CASELOG_WATCH_MIN_SECONDS`` lowers the floor, for tests only: a real portal must never
see a seller's caselog more often than every 10 minutes.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta

FLOOR_SECONDS = 600
DEFAULT_EVERY = timedelta(minutes=30)
JITTER = 0.1


def floor_seconds() -> float:
    """The shortest interval allowed: 10 minutes, or the test-only setting."""
    raw = os.environ.get("CASELOG_WATCH_MIN_SECONDS")
    try:
        return max(0.0, float(raw)) if raw else FLOOR_SECONDS
    except ValueError:
        return FLOOR_SECONDS


def interval_seconds(every: timedelta) -> tuple[float, str | None]:
    """The interval to use, and a note when ``every`` was below the floor."""
    asked, floor = every.total_seconds(), floor_seconds()
    if asked >= floor:
        return asked, None
    return floor, (f"--every {_words(asked)} is more often than caselog syncs a portal; "
                   f"watching every {_words(floor)} instead")


def next_delay(interval: float, rng: random.Random | None = None) -> float:
    """Seconds to the next round: the interval, give or take a tenth, never under the
    floor."""
    rng = rng or random
    return max(floor_seconds(), interval * (1 + rng.uniform(-JITTER, JITTER)))


def _words(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
