"""One round of one account, and the watch over many.

A round: choose the account (``companion.folders.use_account``: everything below reads and
writes that account's folder only), skip it if the watch stopped it and the person has
not acted, or if it was synced by a watch less than the floor ago; take its sync lock (a
manual ``caselog sync`` or another watch holds it: skip); run one incremental sync
through the Support API where its credentials are saved, else the saved browser
session, headless; then notify what it found, or stop the account when a person must act.

Accounts run side by side (``parallel`` at once; each has its own browser or API client,
database, lock and session, so nothing is shared but the event loop), each on its own
timer, so a slow or stopped account never delays another.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from companion import accounts, errors
from companion.folders import use_account
from companion.notify import deliver as tell
from companion.notify import settings as notify_settings
from companion.watch import schedule, state

STOPS = ("auth", "robot", "outage")


@dataclass
class Round:
    account: str
    outcome: str                 # synced | stopped | skipped | failed
    message: str = ""
    state: str | None = None     # the sync's state
    source: str | None = None    # portal | spapi
    sync_id: int | None = None
    summary: dict | None = None
    notified: list[dict] = field(default_factory=list)
    wait: float | None = None    # skipped for the floor: seconds until it may sync

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("account", "outcome", "message", "state",
                                               "source", "sync_id", "summary", "notified")}


def _credentials_time(kind: str, origin: str) -> float | None:
    """When the account's saved session (or Support API credentials file) last changed:
    a newer one than a stop means the person signed in again."""
    from companion.credentials import file_path
    from companion.folders import sessions_dir
    from scrapers.browser.session import session_path

    path = file_path(origin) if kind == "spapi" else session_path(origin, sessions_dir())
    try:
        return path.stat().st_mtime
    except OSError:
        return None


async def run_round(name: str, options: dict | None = None) -> Round:
    """One round of the account ``name``; never raises for anything but cancellation."""
    from companion.schema import open_db

    with use_account(name):
        try:
            account = accounts.get(name)
            db = open_db(account.folder / "caselog.db")
        except Exception as exc:
            return Round(name, "failed", errors.describe(exc))
        try:
            return await _round(account, db, options or {})
        except Exception as exc:  # a bug or a full disk: this account, this round only
            return Round(name, "failed", accounts.with_account_hint(errors.describe(exc),
                                                                    name))
        finally:
            db.close()


def _ready(account, db) -> tuple[Round | None, tuple[str, str] | None]:
    """A round that ends before syncing (not set up, stopped, too soon), or the source."""
    name = account.name
    picked = accounts.pick_source(account, db)
    if picked is None:
        return Round(name, "skipped", f"no portal or Support API named: run caselog "
                     f"accounts set {name} --portal URL (or --spapi ENDPOINT)"), None
    halt = state.stopped(db, name, _credentials_time(*picked))
    if halt:
        return Round(name, "skipped", f"not watched since {halt['at'][:16]}Z: "
                     f"{halt['message']}", state=halt["state"], source=picked[0]), None
    since = state.seconds_since_start(db, name)
    floor = schedule.floor_seconds()
    if since is not None and since < floor:
        return Round(name, "skipped", f"synced {since:.0f} s ago; the watch syncs an "
                     f"account at most every {floor:.0f} s", wait=floor - since,
                     source=picked[0]), None
    return None, picked


async def _round(account, db, options: dict) -> Round:
    from companion.capture.sync import AlreadyRunning, SyncOptions, sync
    from companion.queue import derive

    early, picked = _ready(account, db)
    if early:
        return early
    kind, origin = picked
    name = account.name
    try:
        with accounts.sync_lock(account.folder / "caselog.db"):
            state.started(db, name, None)
            opts = SyncOptions(portal=origin, source=kind, **options)
            result = await sync(db, opts)
    except (accounts.Busy, AlreadyRunning) as exc:
        return Round(name, "skipped", f"{exc}; this round is skipped", source=kind)
    summary = result.summary()
    state.started(db, name, result.sync_id)
    touched = {*summary["new_cases"], *summary["new_replies"],
               *(c["case_id"] for c in summary["status_changes"])}
    if touched:
        derive.refresh(db, sorted(touched))
    done = Round(name, "synced", _said(summary), result.state, kind, result.sync_id, summary)
    settings, problem = _settings(account)
    if result.state in STOPS:
        return await _stop(db, done, result.message, settings)
    if result.state not in ("ok", "partial"):
        done.outcome = "failed"
        done.message = accounts.with_account_hint(result.message or result.state, name)
        return done
    done.notified = await tell.after_sync(db, name, result.sync_id, settings)
    if problem:
        done.message += f" (notification settings: {problem})"
    return done


def _settings(account):
    try:
        return notify_settings.load(account.folder), None
    except notify_settings.NotifyConfigError as exc:
        return notify_settings.Settings(), str(exc)


async def _stop(db, done: Round, message: str | None, settings) -> Round:
    """Stop watching this account: remember why, and say it once, with what to do."""
    name = done.account
    words = accounts.with_account_hint(message or done.state, name)
    hint = "caselog sync" + ("" if name == "default" else f" --account {name}")
    words += (f" caselog stopped watching this account; it takes it up again once you have "
              f"signed in again or a `{hint}` has succeeded.")
    at = state.stop(db, name, done.state, words)
    done.outcome, done.message = "stopped", words
    done.notified = await tell.stopped(db, name, done.state, words, settings, at)
    return done


def _said(s: dict) -> str:
    return (f"{len(s['new_replies'])} new replies, {len(s['status_changes'])} status "
            f"changes, {len(s['new_cases'])} new cases ({s['source']}, "
            f"{s['requests'].get('total', 0)} requests, {s['seconds']:.1f} s)")


async def watch(names: list[str], every: timedelta, *, once: bool = False,
                parallel: int = 2, report: Callable[[Round], None] | None = None,
                stop: asyncio.Event | None = None, options: dict | None = None
                ) -> list[Round]:
    """Watch ``names`` until ``stop`` is set (or one round each with ``once``); every
    round is passed to ``report`` as it ends. Returns every round."""
    interval, _ = schedule.interval_seconds(every)
    stop = stop or asyncio.Event()
    slots = asyncio.Semaphore(max(1, parallel))
    rounds: list[Round] = []

    async def follow(name: str) -> None:
        while not stop.is_set():
            async with slots:
                if stop.is_set():
                    return
                started = time.monotonic()
                done = await run_round(name, options)
            rounds.append(done)
            if report:
                report(done)
            if once or (done.outcome == "skipped" and done.wait is None
                        and done.state is None):
                return  # one round asked for, or an account not set up
            delay = done.wait if done.wait is not None else max(
                0.0, schedule.next_delay(interval) - (time.monotonic() - started))
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass

    await asyncio.gather(*(follow(n) for n in names))
    return rounds
