"""``caselog watch``: a thin edge over ``companion.watch.runner``. One line per account
round on stdout (or one JSON object per round with --json), notes on stderr; SIGTERM and
Ctrl-C stop it cleanly (a sync in flight is interrupted and recorded as such, its
browser closed)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
from pathlib import Path

import click

from companion import accounts
from companion.cli.options import ExitError, parse_duration
from companion.exitcodes import exit_code
from companion.folders import DEFAULT, UnknownAccount, account, top
from companion.watch import install as sched
from companion.watch.runner import watch as run_watch
from companion.watch.schedule import interval_seconds

EPILOG = """\b
Run it for as long as you like, or once from a scheduler:
\b
    # cron: every 30 minutes, every account
    */30 * * * *  caselog watch --once --all >> ~/caselog-watch.log 2>&1
\b
    # systemd: ~/.config/systemd/user/caselog-watch.service
    [Service]
    Type=oneshot
    ExecStart=%h/.local/bin/caselog watch --once --all
    # ~/.config/systemd/user/caselog-watch.timer
    [Timer]
    OnCalendar=*:0/30
    RandomizedDelaySec=120
    [Install]
    WantedBy=timers.target
    # then: systemctl --user enable --now caselog-watch.timer
\b
Or let the computer's own scheduler run it: 'caselog watch --install --all' (a systemd
user timer or a crontab line on Linux, a launchd agent on macOS, a Task Scheduler task on
Windows); '--print' shows it first, '--uninstall' removes it.
\b
Exit codes (--once): 0 every account synced or skipped; 1 a sync failed; 3, 4, 5 an
account needs you (sign-in, robot check, outage) and is no longer watched until then."""


def _names(account_names: tuple[str, ...], all_: bool) -> list[str]:
    if all_ and account_names:
        raise click.UsageError("give --account NAME (one or more) or --all, not both")
    if all_:  # `default` only where it is in use: a registry entry or a database
        return [n for n in accounts.names() if n != "default"
                or accounts.get(n).portal or accounts.get(n).spapi
                or (accounts.get(n).folder / "caselog.db").exists()]
    try:
        return [accounts.get(n).name for n in account_names] or [account()]
    except UnknownAccount as exc:
        raise click.BadParameter(str(exc), param_hint="--account") from None


class Reporter:
    """Prints each round as it ends; a skip that repeats the last word of that account
    (a stopped account, every interval) is said once."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.last: dict[str, str] = {}

    def __call__(self, r) -> None:
        if self.as_json:
            click.echo(json.dumps(r.as_dict(), ensure_ascii=False))
            return
        if r.outcome == "skipped" and self.last.get(r.account) == r.message:
            return
        self.last[r.account] = r.message
        sent = f"; {len(r.notified)} notifications" if r.notified else ""
        click.echo(f"{r.account}: {r.outcome}: {r.message}{sent}",
                   err=r.outcome in ("stopped", "failed"))


def _exit_code(rounds) -> int:
    stops = [r.state for r in rounds if r.outcome == "stopped"]
    if stops:
        return exit_code(stops[0])
    return 1 if any(r.outcome == "failed" for r in rounds) else 0


async def _main(names, every, once, parallel, report):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, _stopper(stop, task))
        except (NotImplementedError, RuntimeError):
            pass
    return await run_watch(names, every, once=once, parallel=parallel, report=report,
                           stop=stop)


def _stopper(stop: asyncio.Event, task: asyncio.Task):
    """First signal: stop (syncs in flight are cancelled, recorded as interrupted)."""
    def handler() -> None:
        if not stop.is_set():
            click.echo("caselog watch: stopping...", err=True)
        stop.set()
        task.cancel()
    return handler


@click.command(epilog=EPILOG)
@click.option("--every", default="30m", callback=parse_duration, show_default=True,
              help="How often to sync each account (10 minutes at the least).")
@click.option("--account", "account_names", multiple=True, metavar="NAME",
              help="The account to watch (repeat for several; default: the chosen one, "
              "CASELOG_ACCOUNT or 'default').")
@click.option("--all", "all_", is_flag=True, help="Watch every account.")
@click.option("--once", is_flag=True, help="One round, then exit (for cron or a timer).")
@click.option("--parallel", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Accounts synced at the same time (each its own browser or API client).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per round on stdout.")
@click.option("--install", "action", flag_value="install",
              help="Have this computer's scheduler run 'caselog watch --once' every "
              "--every (systemd or cron on Linux, launchd on macOS, Task Scheduler on "
              "Windows).")
@click.option("--uninstall", "action", flag_value="uninstall",
              help="Remove what --install set up.")
@click.option("--print", "action", flag_value="print",
              help="Show what --install would write and run, changing nothing.")
@click.option("--scheduler", type=click.Choice(["systemd", "cron", "launchd", "schtasks"]),
              help="With --install/--uninstall/--print: the scheduler to use (default: "
              "this platform's; on Linux systemd where systemctl is, else cron).")
def watch(every, account_names, all_, once, parallel, as_json, action, scheduler):
    """Sync accounts on a schedule and notify when Amazon answers.

    Each round is an incremental sync: through the Support API where the account has
    credentials saved for its endpoint (`caselog login --spapi`), else the saved browser
    session, headless. A new Amazon reply, a status change, a transfer, or an answer due
    within a day becomes a notification (desktop, and any channel in notify.toml; see
    `caselog notify --help`). A sign-in, robot check, refused credentials or an outage
    stops that account's watching with one notification saying what to do; the other
    accounts go on. An account is never synced twice at once (a manual `caselog sync`
    waits its turn) nor more often than every 10 minutes.

    \b
    Usage:
        caselog watch                          # the default account, every 30 minutes
        caselog watch --all --every 1h
        caselog watch --account shop2 --account shop3
        caselog watch --once --all             # one round, for cron or a systemd timer
        caselog watch --install --all --every 1h   # the platform's scheduler runs it
        caselog watch --print --all            # what --install would write
    """
    if action:
        _schedule(action, scheduler, every, account_names, all_)
        return

    names = _names(account_names, all_)
    _, note = interval_seconds(every)
    if note:
        click.echo(f"Note: {note}", err=True)
    if not once:
        click.echo(f"caselog watch: {', '.join(names)}; Ctrl-C stops.", err=True)
    try:
        rounds = asyncio.run(_main(names, every, once, parallel, Reporter(as_json)))
    except (asyncio.CancelledError, KeyboardInterrupt):
        click.echo("caselog watch: stopped.", err=True)
        return
    code = _exit_code(rounds)
    if code:
        raise ExitError("some accounts need attention (see above)", code) if once \
            else ExitError("nothing left to watch", code)


def _schedule(action, scheduler, every, account_names, all_) -> None:
    """--install, --uninstall, --print: the scheduler runs ``caselog watch --once`` with
    the same accounts and interval."""
    if all_ and account_names:
        raise click.UsageError("give --account NAME (one or more) or --all, not both")
    chosen = account()
    args = ["--all"] if all_ else [a for n in account_names for a in ("--account", n)] \
        or (["--account", chosen] if chosen != DEFAULT else [])
    seconds, note = interval_seconds(every)
    if note:
        click.echo(f"Note: {note}", err=True)
    env = dict(os.environ)
    try:
        plan = sched.plan(scheduler or sched.default_scheduler(sched.PLATFORM, env),
                          math.ceil(seconds / 60), args, env, Path.home(), sched.PLATFORM,
                          data=top())
        if action == "print":
            click.echo(plan.describe(), nl=False)
            return
        done = (sched.install if action == "install" else sched.uninstall)(plan, env)
    except sched.ScheduleError as exc:
        raise ExitError(str(exc), 1) from None
    for line in done:
        click.echo(line)
