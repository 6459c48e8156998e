"""Options and helpers every command shares: ``--db``, ``--portal``, durations, time
zones, and exits with caselog's own codes. One definition each, so every command says the
same thing about the same mistake."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from companion.folders import db_path
from companion.schema import open_db


class ExitError(click.ClickException):
    """A ClickException with caselog's own exit code (see ``companion.exitcodes``)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.exit_code = code


def db_option(fn):
    return click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                        help="Database file (default: CASELOG_HOME/caselog.db).")(fn)


def open_database(db: str | None, *, create: bool = True, case_id: str | None = None):
    """The database for a command; ``create=False`` for commands that only read it, which
    then say where they looked instead of making an empty one."""
    path = db_path(db)
    try:
        database = open_db(path, create=create)
    except FileNotFoundError:
        raise click.ClickException(
            f"no caselog database at {path}. Run `caselog sync --portal URL` first (or "
            "point --db / CASELOG_HOME at an existing one).") from None
    if case_id is not None and database["cases"].count_where("case_id = ?", [case_id]) == 0:
        raise click.ClickException(f"no case {case_id} in {path}")
    return database


def check_portal(ctx, param, value):
    """A portal address must be a whole http(s) URL: a bare host name would otherwise be
    guessed at, and the seller would read "no saved session" for a typo."""
    if value is None:
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        guess = f"https://{value.split('://')[-1].strip('/')}"
        raise click.BadParameter(
            f"{value!r} is not a web address; give the whole address with https://, "
            f"e.g. {guess}")
    try:
        _ = parts.port
    except ValueError:
        raise click.BadParameter(f"{value!r} has a port that is not a number") from None
    return value.rstrip("/")


def portal_option(fn, required: bool = True):
    return click.option("--portal", required=required, callback=check_portal, metavar="URL",
                        help="Seller Central's address, e.g. https://sellercentral.amazon.com "
                        "(or the simulated portal's, http://127.0.0.1:8731).")(fn)


def check_spapi(ctx, param, value):
    """``na``, ``eu``, ``fe`` or an http(s) URL, as the Support API's base address."""
    if value is None:
        return None
    # The Support API's package loads its client (asyncio, the parsers) with it: only
    # when --spapi is given, not for every command that shares these options.
    from scrapers.spapi.lwa import resolve_endpoint

    try:
        return resolve_endpoint(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: give a region (na, eu or fe) or the API's whole address with "
            "https://") from None


def spapi_options(fn):
    fn = click.option("--lwa-endpoint", default=None, callback=check_portal, metavar="URL",
                      help="Login with Amazon's token endpoint (default: Amazon's own, "
                      "https://api.amazon.com/auth/o2/token).")(fn)
    return click.option("--spapi", "spapi", default=None, callback=check_spapi,
                        metavar="ENDPOINT", help="Use Amazon's Selling Partner API for "
                        "Support instead of the browser: na, eu, fe or a URL.")(fn)


def parse_duration(ctx, param, value) -> timedelta:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value or "")
    if not m:
        raise click.BadParameter("use a number with s, m, h or d, e.g. 24h or 30m")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "hours"}[m[2]]
    return timedelta(**{unit: float(m[1])})


def check_timezone(ctx, param, value):
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return value


def timezone_option(help_text: str):
    return click.option("--timezone", default=None, callback=check_timezone, help=help_text)
