"""``caselog sync``: a thin edge over ``companion.capture.sync``. Data (the ``--json``
summary) on stdout, progress and messages on stderr, the exit code from the run's state
(``companion.errors.EXIT_CODES``)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

import click

from companion import errors
from companion.cli.options import (
    ExitError,
    check_portal,
    db_option,
    open_database,
    parse_duration,
    spapi_options,
    timezone_option,
)
from companion.read.labels import status_label


class Progress:
    """One self-rewriting line on a terminal; a few plain lines when stderr is a file.
    Both say how long the rest will take, from the pace so far."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last_decile = -1
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        click.echo(("\n" if self.tty else "") + text, err=True)

    def left(self, done: int, total: int) -> str:
        if not done or done >= total:
            return ""
        seconds = (time.monotonic() - self.started) / done * (total - done)
        if seconds < 90:
            return f", about {max(1, round(seconds))} s left"
        return f", about {round(seconds / 60)} min left"

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            width = 30
            filled = int(width * done / total) if total else width
            click.echo(f"\rsync [{'#' * filled}{'-' * (width - filled)}] {done}/{total} cases"
                       f"{self.left(done, total)}   ", err=True, nl=False)
            if done >= total:
                click.echo("", err=True)
            return
        decile = int(10 * done / total) if total else 10
        if decile != self.last_decile:
            self.last_decile = decile
            click.echo(f"sync: {done}/{total} cases{self.left(done, total)}", err=True)


def print_human(s: dict) -> None:
    """What a run did, in words; failures and notes on stderr."""
    finished = s["state"] in ("ok", "partial")
    if finished or s["listed"] or s["opened"]:
        click.echo(f"Listed {s['listed']} cases, opened {s['opened']} ({s['mode']}, "
                   f"{s['requests'].get('total', 0)} requests, {s['seconds']:.1f}s).")
    if s["new_cases"]:
        click.echo(f"New cases ({len(s['new_cases'])}): {', '.join(s['new_cases'][:20])}"
                   + (" ..." if len(s["new_cases"]) > 20 else ""))
    if s["new_replies"]:
        click.echo(f"New Amazon replies in {len(s['new_replies'])} cases: "
                   + ", ".join(s["new_replies"]))
    for ch in s["status_changes"]:
        click.echo(f"Status {ch['case_id']}: {status_label(ch['from'])} -> "
                   f"{status_label(ch['to'])}")
    if s["left_lobby"]:
        click.echo(f"No longer listed by the portal (kept here): {', '.join(s['left_lobby'])}")
    for f in s["failures"]:
        click.echo(f"FAILED {f['error']}", err=True)
    if s["message"] and finished:  # e.g. listed from the lobby
        click.echo(f"Note: {s['message']}", err=True)
    if finished and not any((s["new_cases"], s["new_replies"], s["status_changes"],
                             s["failures"])):
        click.echo("Nothing changed.")


async def _run(database, opts, progress):
    """The sync, with SIGTERM (the UI's "stop", a service manager) cancelling it like
    Ctrl-C does, so the syncs row says "interrupted" and the browser is closed."""
    from companion.capture.sync import sync as run_sync

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    try:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError):  # not on this platform
        pass
    return await run_sync(database, opts, progress=progress)


def _account_source(database) -> tuple[str | None, str | None]:
    """(portal, spapi) of the chosen account when the command names neither: the Support
    API where its credentials are saved, else its portal (``accounts.pick_source``, the
    watch's own rule); said on stderr, so the person knows which one ran."""
    from companion import accounts
    from companion.folders import account

    name = account()
    picked = accounts.pick_source(accounts.get(name), database)
    if picked is None:
        raise click.UsageError(
            "give --portal URL (the browser) or --spapi ENDPOINT (the Support API), or name "
            f"one for the account: caselog accounts set {name} --portal URL")
    kind, origin = picked
    words = "the Support API at" if kind == "spapi" else "the portal"
    click.echo(f"Account {name}: syncing from {words} {origin}", err=True)
    return (origin, None) if kind == "portal" else (None, origin)


def after_sync(database, summary: dict) -> None:
    """What follows from what a sync changed, stored now for the cases it touched
    (``derive.refresh``: their checklists, home's queue and the reminders)."""
    from companion.queue import derive

    touched = {*summary["new_cases"], *summary["new_replies"],
               *(c["case_id"] for c in summary["status_changes"])}
    if touched:
        derive.refresh(database, sorted(touched))


@click.command(epilog="\b\n" + errors.EXIT_HELP)
@click.option("--portal", default=None, callback=check_portal, metavar="URL",
              help="Seller Central's address, e.g. https://sellercentral.amazon.com "
              "(or the simulated portal's, http://127.0.0.1:8731).")
@spapi_options
@click.option("--full", is_flag=True, help="Open and re-read every case, not only changed ones.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
@click.option("--max-age", default="24h", callback=parse_duration, show_default=True,
              help="Re-read open cases not captured for longer than this.")
@click.option("--download-attachments", is_flag=True, help="Also download attachment files.")
@click.option("--max-attachment-mb", type=click.FloatRange(0), default=25.0, show_default=True,
              help="Skip attachments larger than this.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Requests in flight at once (the client backs off under throttling).")
@click.option("--html", "html", is_flag=True,
              help="Capture rendered case pages and parse the HTML instead of the JSON.")
@timezone_option("The portal's display time zone (IANA), a hint for reading rendered pages.")
@db_option
def sync(portal, spapi, lwa_endpoint, full, as_json, max_age, download_attachments,
         max_attachment_mb, concurrency, html, timezone, db):
    """Capture new and changed cases from the portal into the local database.

    Lists every case (not just the lobby's last 30 days), opens the new and changed ones
    (status or last Amazon reply), reads each thread whole, archives every raw answer,
    and saves each case in one transaction. Uses the session saved by `caselog login`.

    With --spapi ENDPOINT the Support API is used instead (no browser; the credentials
    of `caselog login --spapi`): slower (Amazon's plan is 0.1 requests a second), and it
    says first how long the run will take.

    With neither, the account's own source is used (`caselog accounts add|set`, else what
    its last syncs used): the Support API where its credentials are saved, else the
    portal. One sync at a time per account: while `caselog watch` syncs it, this says so
    and stops (and the watch skips a round while this runs).

    \b
    Usage:
        caselog sync --portal https://sellercentral.amazon.com
        caselog sync --portal http://127.0.0.1:8731 --full --json
        caselog sync --spapi eu --download-attachments
        caselog sync --account shop2        # from the portal the account names
    """
    from companion import accounts
    from companion.capture.sync import AlreadyRunning, SyncOptions
    from companion.folders import db_path

    if portal and spapi:
        raise click.UsageError("give --portal URL (the browser) or --spapi ENDPOINT (the "
                               "Support API), not both")
    if lwa_endpoint and not spapi:
        raise click.UsageError("--lwa-endpoint goes with --spapi")
    database = open_database(db)
    if not (portal or spapi):
        portal, spapi = _account_source(database)
    opts = SyncOptions(portal=portal or spapi, full=full, max_age=max_age,
                       concurrency=concurrency, html=html,
                       download_attachments=download_attachments,
                       max_attachment_bytes=int(max_attachment_mb * 1024 * 1024),
                       timezone=timezone, source="spapi" if spapi else "portal")
    try:
        with accounts.sync_lock(db_path(db)):
            result = asyncio.run(_run(database, opts, None if as_json else Progress()))
    except (AlreadyRunning, accounts.Busy) as exc:
        raise click.ClickException(f"{exc}; wait for it to finish") from None
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise click.ClickException("sync interrupted; what was captured is saved, and the "
                                   "next sync finishes the job") from None
    _finish(database, result, as_json)


def _finish(database, result, as_json: bool) -> None:
    """Print what the run did; exit with its state's code, in the account's words."""
    from companion import accounts
    from companion.folders import account

    summary = result.summary()
    after_sync(database, summary)
    if result.sync_id is not None and result.state in ("ok", "partial"):
        from companion.notify import deliver as tell

        tell.record_sync(database, account(), result.sync_id)  # the UI's badge and list
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        print_human(summary)
    if result.state not in ("ok", "partial"):
        words = accounts.with_account_hint(result.message or f"sync ended: {result.state}",
                                           account())
        raise ExitError(words, result.exit_code)
    sys.exit(result.exit_code)
