"""The states a sync ends in and the one table from a state to the exit code, shared by
the CLI (``caselog sync --help`` prints :data:`EXIT_HELP`), the ``syncs`` rows and the
docs. ``auth``, ``robot`` and ``outage`` are the situations that end a sync early: only a
person or time can fix them."""

from __future__ import annotations

from scrapers.errors import Outage, RobotCheck, SessionExpired

# state -> exit code. 2 is click's usage error; every sync ends in one of these states.
EXIT_CODES = {"ok": 0, "partial": 1, "failed": 1, "interrupted": 1, "auth": 3, "robot": 4,
              "outage": 5}
EXIT_HELP = """Exit codes:
  0  every listed case is captured
  1  some cases failed (recorded; the rest were saved), or the sync failed
  2  usage error
  3  sign-in needed: run `caselog login`, then sync again
  4  robot check: a person must pass it in `caselog login`
  5  Seller Central's case log is unavailable right now: try again later"""
STOP_STATES = {SessionExpired: "auth", RobotCheck: "robot", Outage: "outage"}


def exit_code(state: str) -> int:
    return EXIT_CODES.get(state, 1)


def stop_state(exc: BaseException) -> str | None:
    """``auth`` / ``robot`` / ``outage`` for the situations that end a sync, else None."""
    for cls, state in STOP_STATES.items():
        if isinstance(exc, cls):
            return state
    return None
