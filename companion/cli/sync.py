"""``caselog sync``, ``export``, ``import`` and ``reparse``: thin click wrappers over
:mod:`companion.sync`, :mod:`companion.export`, :mod:`companion.importer` and
:mod:`companion.reparse`. Data goes to stdout, progress and errors to stderr."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from datetime import timedelta

import click

from companion.home import db_path


class ExitError(click.ClickException):
    """A ClickException with our own exit code (3 sign-in, 4 robot check)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.exit_code = code


def db_option(fn):
    return click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                        help="Database file (default: CASELOG_HOME/caselog.db).")(fn)


def _open(db):
    from companion.schema import open_db

    return open_db(db_path(db))


def parse_duration(ctx, param, value) -> timedelta:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value or "")
    if not m:
        raise click.BadParameter("use a number with s, m, h or d, e.g. 24h or 30m")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "hours"}[m[2]]
    return timedelta(**{unit: float(m[1])})


def check_timezone(ctx, param, value):
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return value


def _login_hint(portal: str) -> str:
    return f"run: caselog login --portal {portal}"


class _Progress:
    """One self-rewriting line on a terminal; a few plain lines when stderr is a file."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            width = 30
            filled = int(width * done / total) if total else width
            click.echo(f"\rsync [{'#' * filled}{'-' * (width - filled)}] {done}/{total} cases",
                       err=True, nl=False)
            if done >= total:
                click.echo("", err=True)
            return
        decile = int(10 * done / total) if total else 10
        if decile != self.last_decile:
            self.last_decile = decile
            click.echo(f"sync: {done}/{total} cases", err=True)


def _print_human(result, portal: str) -> None:
    s = result.summary()
    click.echo(f"Listed {s['listed']} cases, opened {s['opened']} "
               f"({s['mode']}, {s['requests'].get('total', 0)} requests, {s['seconds']:.1f}s).")
    if s["new_cases"]:
        click.echo(f"New cases ({len(s['new_cases'])}): {', '.join(s['new_cases'][:20])}"
                   + (" ..." if len(s["new_cases"]) > 20 else ""))
    if s["new_replies"]:
        click.echo(f"New Amazon replies in {len(s['new_replies'])} cases: "
                   + ", ".join(s["new_replies"]))
    for ch in s["status_changes"]:
        click.echo(f"Status {ch['case_id']}: {ch['from']} -> {ch['to']}")
    if s["left_lobby"]:
        click.echo(f"No longer listed by the portal (kept here): {', '.join(s['left_lobby'])}")
    for f in s["failures"]:
        click.echo(f"FAILED {f['error']}", err=True)
    if s["message"] and s["state"] in ("ok", "partial"):  # e.g. listed from the lobby
        click.echo(f"Note: {s['message']}", err=True)
    if not any((s["new_cases"], s["new_replies"], s["status_changes"], s["failures"])):
        click.echo("Nothing changed.")


@click.command()
@click.option("--portal", required=True, help="Seller Central base URL, e.g. http://127.0.0.1:8731")
@click.option("--full", is_flag=True, help="Open and re-read every case, not only changed ones.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
@click.option("--max-age", default="24h", callback=parse_duration, show_default=True,
              help="Re-read open cases not captured for longer than this.")
@click.option("--download-attachments", is_flag=True, help="Also download attachment files.")
@click.option("--max-attachment-mb", type=float, default=25.0, show_default=True,
              help="Skip attachments larger than this.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Requests in flight at once (the client backs off under throttling).")
@click.option("--html", "html", is_flag=True,
              help="Capture rendered case pages and parse the HTML instead of the JSON.")
@click.option("--timezone", default=None, callback=check_timezone,
              help="The portal's display time zone (IANA), a hint for reading rendered pages.")
@db_option
def sync(portal, full, as_json, max_age, download_attachments, max_attachment_mb,
         concurrency, html, timezone, db):
    """Capture new and changed cases from the portal into the local database.

    Lists every case (not just the lobby's last 30 days), opens the new and changed ones
    (status or last Amazon reply), reads each thread whole, archives every raw answer,
    and saves each case in one transaction. Uses the session saved by `caselog login`.

    \b
    Usage:
        caselog sync --portal http://127.0.0.1:8731
        caselog sync --portal http://127.0.0.1:8731 --full --json

    \b
    Exit codes:
      0  every listed case is captured
      1  some cases failed (they are recorded; the rest were saved)
      2  usage error
      3  sign-in needed: run `caselog login --portal URL`, then sync again
      4  robot check: a person must pass it in `caselog login --portal URL`
    """
    from companion.capture.sync import SyncOptions
    from scrapers.browser.session import load_state

    if load_state(portal) is None:
        raise ExitError(f"no saved session for {portal}; {_login_hint(portal)}", 3)
    opts = SyncOptions(portal=portal, full=full, max_age=max_age, concurrency=concurrency,
                       html=html, download_attachments=download_attachments,
                       max_attachment_bytes=int(max_attachment_mb * 1024 * 1024),
                       timezone=timezone)
    database = _open(db)
    from companion.capture import store

    other = store.running_sync(database)
    if other:
        raise click.ClickException(f"another sync is running (pid {other['pid']})")
    try:
        result = asyncio.run(_run(database, opts, None if as_json else _Progress()))
    except _StartFailed as exc:
        raise ExitError(str(exc), exc.code) from None
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise click.ClickException("sync interrupted; what was captured is saved, and the "
                                   "next sync finishes the job") from None
    if as_json:
        click.echo(json.dumps(result.summary(), ensure_ascii=False))
    else:
        _print_human(result, portal)
    if result.state == "auth":
        raise ExitError("the portal asks to sign in again; everything captured so far is "
                        f"saved. Run: caselog login --portal {portal}, then sync again", 3)
    if result.state == "robot":
        raise ExitError("the portal shows a robot check; a person must pass it in "
                        f"`caselog login --portal {portal}`, then sync again", 4)
    if result.state == "failed":
        raise click.ClickException(result.message or "sync failed")
    sys.exit(result.exit_code)


class _StartFailed(Exception):
    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


async def _run(database, opts, progress):
    """Open the client, then sync. A missing session fails here; an expired one (or a
    robot check) at the sync's first call, which ends it as ``auth`` (or ``robot``)."""
    from companion.capture.sync import sync as run_sync
    from scrapers.browser.client import PortalClient, RobotCheck, SessionExpired

    client = PortalClient(opts.portal, concurrency=opts.concurrency,
                          timezone=opts.timezone or "UTC")
    try:
        await client.__aenter__()
    except SessionExpired as exc:
        raise _StartFailed(f"sign-in needed ({exc}); {_login_hint(opts.portal)}", 3) from None
    except RobotCheck:
        raise _StartFailed("the portal shows a robot check; a person must pass it in "
                           f"`caselog login --portal {opts.portal}`", 4) from None
    except Exception as exc:  # unreachable portal, browser missing, ...
        raise _StartFailed(f"cannot open {opts.portal}: {exc}", 1) from None
    # SIGTERM (the UI's "stop", a service manager) cancels the run like Ctrl-C does, so
    # the syncs row says "interrupted" and the browser is closed, instead of vanishing.
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    try:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError):  # not on this platform
        pass
    try:
        return await run_sync(database, client, opts, progress=progress)
    finally:
        await client.__aexit__(None, None, None)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.option("--case", "case_ids", multiple=True, help="Only these case ids (repeatable).")
@db_option
def export(fmt, case_ids, db):
    """Print every stored case with its messages as JSON (newest case first).

    Cases the portal no longer lists are included.

    \b
    Usage:
        caselog export > cases.json
        caselog export --case 12345678901
    """
    from companion.capture.export import iter_cases

    database = _open(db)
    out = sys.stdout
    out.write('{"cases": [')
    for i, case in enumerate(iter_cases(database, list(case_ids) or None)):
        out.write((",\n" if i else "\n") + json.dumps(case, ensure_ascii=False))
    out.write("\n]}\n")


@click.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--timezone", default=None, callback=check_timezone,
              help="The portal's display time zone (IANA), when the page's zone is ambiguous.")
@db_option
def import_(files, timezone, db):
    """Import saved case pages (HTML saved from the browser) as cases and messages.

    \b
    Usage:
        caselog import ~/Downloads/case-12345678901.html
    """
    from companion.capture.importer import import_pages

    results = import_pages(_open(db), list(files), timezone=timezone)
    for r in results:
        if r.error:
            click.echo(f"FAILED {r.error}", err=True)
        else:
            click.echo(f"{r.path}: case {r.case_id}, {r.messages} messages"
                       + (" (new)" if r.new_case else ""))
    if any(r.error for r in results):
        sys.exit(1)


@click.command()
@click.option("--timezone", default=None, callback=check_timezone,
              help="Time zone hint for rendered pages (IANA).")
@db_option
def reparse(timezone, db):
    """Rebuild cases, messages, attachments and status history from the capture archive.

    Use after upgrading caselog's parsers: failed cases whose captures now parse are
    recovered. The sync log is kept.

    \b
    Usage:
        caselog reparse
    """
    from companion.capture.reparse import reparse as run

    stats = run(_open(db), timezone=timezone)
    click.echo(f"Replayed {stats['captures']} captures: {stats['cases_stored']} cases "
               f"({stats['skipped']} groups skipped) in {stats['seconds']:.2f}s.")
    for err in stats["errors"][:20]:
        click.echo(f"skipped: {err}", err=True)


COMMANDS = [sync, export, import_, reparse]
