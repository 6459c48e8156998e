"""A sync: list every case, decide which to open, capture each one whole (archived before
parsing), build its unit, save it in one transaction, many cases at once.

The source (``companion.capture.sources``) owns *how* to fetch, with its client's retries,
backoff and rate; this module owns *what* to fetch and what a failure means:

- a session, robot-check or outage stop (``scrapers.errors.STOPS``) ends the sync (state
  ``auth``/``robot``/``outage``); every case saved so far stays saved, cases in flight are
  not saved, and the next sync opens them again because they still look new or changed;
- a case list that the parser reads but that is no longer PORTAL.md's shape (the doctor's
  cheap checks, ``scrapers.errors.ShapeChanged``) ends the sync as ``failed``
  before any case is saved, saying what changed and to run ``caselog doctor``;
- anything else that goes wrong with one case (retries exhausted, 404, 403, an answer of
  a shape the parsers do not know, a parser bug) fails that case: its captures are kept,
  it is named in the summary, and the sync goes on.

The ``syncs`` row holds the state and the summary from start to end; the CLI's exit code
and the UI's Sync panel are read from it (``companion.exitcodes.EXIT_CODES``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta

import sqlite_utils

from companion import errors, exitcodes
from companion.capture import pipeline, runs, store
from companion.capture.archive import CAPTURE_KINDS, Archive, Archived
from companion.capture.sources import open_source
from companion.folders import Account
from companion.redact import redact
from companion.schema import open_db, utcnow
from scrapers.errors import CaptureError, PortalError


@dataclass
class SyncOptions:
    portal: str
    full: bool = False
    max_age: timedelta = timedelta(hours=24)
    concurrency: int = 8
    html: bool = False
    download_attachments: bool = False
    max_attachment_bytes: int = 25 * 1024 * 1024
    timezone: str | None = None
    transport: str = "auto"
    source: str = "portal"             # portal | spapi
    account: Account | None = None     # whose session or credentials (this process's)


@dataclass
class SyncResult:
    sync_id: int
    state: str = "running"
    mode: str = "incremental"
    listed: int = 0
    queued: int = 0                    # decided to open
    opened: int = 0                    # read to the end (saved or failed)
    new_cases: list[str] = field(default_factory=list)
    new_replies: list[str] = field(default_factory=list)
    status_changes: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    left_lobby: list[str] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)   # why cases were opened
    requests: dict = field(default_factory=dict)
    seconds: float = 0.0
    message: str | None = None
    transport: str | None = None       # "page": the portal answered only in-page calls
    source: str = "portal"
    estimate: str | None = None        # how long the run takes, said before a long one

    @property
    def exit_code(self) -> int:
        return exitcodes.exit_code(self.state)

    def summary(self) -> dict:
        return {
            "sync_id": self.sync_id, "state": self.state, "mode": self.mode,
            "listed": self.listed, "opened": self.opened, "reasons": dict(self.reasons),
            "new_cases": self.new_cases, "new_replies": self.new_replies,
            "status_changes": self.status_changes, "failures": self.failures,
            "left_lobby": self.left_lobby, "requests": self.requests,
            "seconds": round(self.seconds, 3), "message": self.message,
            "transport": self.transport, "source": self.source,
            "estimate": self.estimate,
        }


class Stop(Exception):
    """The sync cannot go on (a person must act, or the source is gone)."""

    def __init__(self, state: str, message: str):
        super().__init__(message)
        self.state = state


class Writer:
    """The run's database writes, in order, in one thread of their own with their own
    connection: SQLite lets go of the GIL while it works (the search indexes, the pages
    of a commit), so the event loop goes on answering the portal meanwhile. Each job is
    one of ``store``'s transactions together with its line in the archive's index, so a
    job that a cancelled sync leaves running still finishes whole. A database that is
    no file (``:memory:``) is written inline."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        path = next((r[2] for r in db.execute("pragma database_list") if r[1] == "main"), "")
        self.path = path or None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="caselog-save") \
            if self.path else None
        self._conn: sqlite_utils.Database | None = None

    def _connection(self) -> sqlite_utils.Database:
        if self._conn is None:
            self._conn = open_db(self.path)
        return self._conn

    async def __call__(self, job: Callable, *args):
        """``job(db, *args)`` on the writer's connection; its result or its exception."""
        if self._pool is None:
            return job(self.db, *args)
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, lambda: job(self._connection(), *args))

    def submit(self, job: Callable[[sqlite_utils.Database], object]) -> None:
        """A job nobody waits for (a progress counter), in order with the others."""
        if self._pool is None:
            job(self.db)
        else:
            self._pool.submit(lambda: job(self._connection()))

    def close(self) -> None:
        """Wait for every job given (a cancelled sync's too), then close the connection."""
        if self._pool is None:
            return

        def done():
            if self._conn is not None:
                self._conn.conn.close()
                self._conn = None

        self._pool.submit(done)
        self._pool.shutdown(wait=True)


class Syncer:
    """One run over an open source: a lister feeding a fixed pool of workers."""

    def __init__(self, db: sqlite_utils.Database, source, archive: Archive, opts: SyncOptions,
                 result: SyncResult, progress: Callable[[int, int], None] | None = None,
                 writer: Writer | None = None):
        self.db, self.source, self.archive, self.opts = db, source, archive, opts
        self.write = writer or Writer(db)
        self.result, self.progress = result, progress
        self.stored = source.stored_state(db)
        self.queue: asyncio.Queue = asyncio.Queue()
        self.done = 0
        # Twice as many workers as request slots: while one parses and saves, another's
        # request keeps the slot busy. A fixed pool keeps memory flat at any case count.
        self.workers = 2 * max(1, opts.concurrency)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._lister())
            for _ in range(self.workers):
                tg.create_task(self._worker())

    # -- listing ---------------------------------------------------------------------------

    async def _lister(self) -> None:
        seen: set[str] = set()
        try:
            async for rows in self.source.list_cases(self.stored):
                fresh = [r for r in rows if r["case_id"] not in seen]
                seen.update(r["case_id"] for r in fresh)
                self._enqueue(self.source.decide(fresh, self.stored, self.opts))
            found = self.source.listing
            self._announce()
            self.result.listed = len(found.rows)
            self.result.left_lobby = await self.write(self._save_listing, found,
                                                      self.result.queued)
        except Exception as exc:
            await self._listing_failed(exc)
        finally:
            for _ in range(self.workers):
                self.queue.put_nowait(None)

    def _announce(self) -> None:
        """Say, before a long run, how long the source's pace makes it."""
        estimate = getattr(self.source, "estimate", None)
        if estimate is None or self.result.queued - self.done < 20:
            return
        self.result.estimate = estimate(self.result.queued - self.done)
        note = getattr(self.progress, "note", None)
        if note:
            note(self.result.estimate)

    def _save_listing(self, db, found, queued: int) -> list[str]:
        self.archive.log(found.captures, self.result.sync_id)
        left = store.record_listing(db, self.result.sync_id, found)
        runs.update_sync(db, self.result.sync_id, total=queued, listed=len(found.rows))
        return left

    def _enqueue(self, picks: list[tuple[dict, str]]) -> None:
        for pick in picks:
            self.queue.put_nowait(pick)
            self.result.reasons[pick[1]] += 1
        if picks:
            self.result.queued += len(picks)
            sync_id, total = self.result.sync_id, self.result.queued
            self.write.submit(lambda db: runs.update_sync(db, sync_id, total=total))

    async def _listing_failed(self, exc: Exception) -> None:
        """Keep what the listing fetched (for reparse) and end the sync, saying why."""
        caps = getattr(self.source, "listing_captures", [])
        if caps:
            await self.write(self._keep_captures, caps)
        problem = errors.explain(exc, portal=self.source.origin, login=self.source.login_hint)
        if problem.state != "case":  # a stop, or nothing answered at all
            raise Stop(problem.state, problem.message) from exc
        raise Stop("failed", f"the case list could not be read: {problem.message}") from exc

    # -- cases -----------------------------------------------------------------------------

    async def _worker(self) -> None:
        while (item := await self.queue.get()) is not None:
            await self.one_case(item[0])

    async def one_case(self, listed: dict) -> None:
        cid = listed["case_id"]
        captures: list[Archived] = []
        try:
            known = store.stored_case(self.db, cid, self.source.name) \
                if cid in self.stored else None
            await self.source.capture(listed, known, captures)
            unit = pipeline.case_unit(cid, captures, known, listed, self.opts.timezone)
        except Exception as exc:  # one case's trouble, unless it stops everything
            await self._case_failed(cid, exc, captures)
        else:
            unit.sync_id, unit.portal = self.result.sync_id, self.source.origin
            await self.write(self._save_case, unit)
            if self.opts.download_attachments and self.source.downloads_by_id:
                await self._download(cid)

    # The writer's jobs. Each one counts its case itself, so that a case saved while a
    # stop cancels the sync (the job finishes anyway) is in the summary too.

    def _save_case(self, db, unit: pipeline.CaseUnit) -> None:
        self.archive.log(unit.captures, unit.sync_id)
        self._saved(store.record(db, unit))
        self._count()

    def _count(self) -> None:
        self.done += 1
        self.result.opened = self.done  # read (saved or failed); not those a stop cut off
        if self.progress:
            self.progress(self.done, self.result.queued)

    def _keep_captures(self, db, captures: list[Archived]) -> None:
        self.archive.log(captures, self.result.sync_id)
        store.record_captures(db, self.result.sync_id, captures)

    def _save_failure(self, db, cid: str, error: str, captures: list[Archived]) -> None:
        # The index first: it may then name a unit whose transaction a kill undid
        # (harmless to replay), but never miss one that was saved.
        self.archive.log(captures, self.result.sync_id)
        store.record_failure(db, self.result.sync_id, cid, error, captures)
        self.result.failures.append({"case_id": cid, "error": error})
        self._count()

    async def _case_failed(self, cid: str, exc: Exception, captures: list[Archived]) -> None:
        words = {"portal": self.source.origin, "login": self.source.login_hint}
        state = exitcodes.stop_state(exc)
        if state:
            raise Stop(state, errors.describe(exc, **words)) from exc
        if not isinstance(exc, CaptureError) and not self.source.alive():
            raise Stop("failed", errors.describe(exc, **words)) from exc
        error = errors.describe(exc, case_id=cid, **words)
        if isinstance(exc, PortalError) or not isinstance(exc, CaptureError):
            captures.append(self._error_capture(cid, exc, error))
        await self.write(self._save_failure, cid, error, captures)

    def _error_capture(self, cid: str, exc: Exception, error: str) -> Archived:
        """The failing answer itself (kept for reparse and for a bug report), or, when
        there was none, what is known of the failure."""
        body = getattr(exc, "body", None) or json.dumps({
            "error": error, "type": type(exc).__name__, "status": getattr(exc, "status", None),
        }).encode()
        sha, rel = self.archive.put_bytes(body, "bin")
        return Archived(kind="error", url=redact(getattr(exc, "url", "") or ""),
                        case_id=cid, fetched_at=utcnow(), sha256=sha, path=rel,
                        content_type=None, status=getattr(exc, "status", None),
                        parse_status="error", parse_error=error)

    def _saved(self, out: store.CaseOutcome) -> None:
        if out.new_case:
            self.result.new_cases.append(out.case_id)
        if out.new_replies:
            self.result.new_replies.append(out.case_id)
        if out.status_change:
            self.result.status_changes.append({"case_id": out.case_id,
                                               "from": out.status_change[0],
                                               "to": out.status_change[1]})

    async def _download(self, cid: str) -> None:
        cap_bytes = self.opts.max_attachment_bytes
        for row in store.missing_attachments(self.db, cid):
            if row["size"] is not None and row["size"] > cap_bytes:
                continue
            try:
                cap = await self.source.download(cid, row["attachment_id"], cap_bytes)
            except PortalError as exc:
                if exitcodes.stop_state(exc):
                    raise
                continue  # too large, gone or failing: the metadata is what matters
            await self.write(self._save_attachment, cid, row["attachment_id"], cap)

    def _save_attachment(self, db, cid: str, attachment_id: str, cap: Archived) -> None:
        self.archive.log([cap], self.result.sync_id)
        store.save_attachment_file(db, cid, attachment_id, cap, self.result.sync_id)


async def sync(db: sqlite_utils.Database, opts: SyncOptions, *, source=None,
               archive: Archive | None = None,
               progress: Callable[[int, int], None] | None = None) -> SyncResult:
    """Run one sync: opens the source (unless given one already open), always leaves the
    ``syncs`` row in a final state, and never raises for anything the portal did.
    The caller holds the account's sync lock (``companion.syncing`` takes it)."""
    runs.mark_interrupted(db)
    archive = archive or Archive()
    archive.sweep()  # half-written files of a killed sync (the running-sync check is done)
    opts = _remembered_transport(db, opts)
    mode = "full" if opts.full else "incremental"
    result = SyncResult(sync_id=runs.start_sync(db, opts.portal, mode, opts.source),
                        mode=mode, source=opts.source)
    started = time.monotonic()
    src = source or open_source(opts, archive)
    writer = Writer(db)
    try:
        await _run(db, src, source is None, archive, opts, result, progress, writer)
    finally:
        writer.close()  # every case handed over is saved (or not) before the run ends
        result.seconds = time.monotonic() - started
        stats = dict(getattr(src, "stats", {}) or {})
        result.requests = {k: v for k, v in stats.items() if k in CAPTURE_KINDS}
        result.requests["total"] = stats.get("requests", sum(result.requests.values()))
        result.requests["client"] = stats
        result.transport = getattr(src, "transport", None)
        if result.state == "running":  # interrupted or crashed: never claim success
            result.state = "interrupted"
        runs.finish_sync(db, result.sync_id, result.state, result.summary(),
                         result.message if result.state not in ("ok", "partial") else None,
                         requests=result.requests["total"])
        archive.close()
    return result


def _remembered_transport(db: sqlite_utils.Database, opts: SyncOptions) -> SyncOptions:
    """A portal that answered only calls made from its pages (PORTAL.md v2) did so last
    time too: start this sync with in-page calls instead of finding out again."""
    if opts.transport != "auto":
        return opts
    row = db.execute("select summary from syncs where portal = ? and summary is not null "
                     "and state in ('ok', 'partial') order by id desc limit 1",
                     [opts.portal]).fetchone()
    try:
        last = json.loads(row[0]).get("transport") if row else None
    except (ValueError, AttributeError):
        last = None
    return replace(opts, transport="fetch") if last == "page" else opts


async def _run(db, src, enter: bool, archive, opts, result, progress, writer) -> None:
    try:
        if enter:
            await src.__aenter__()
        try:
            await Syncer(db, src, archive, opts, result, progress, writer).run()
            result.state = "partial" if result.failures else "ok"
            result.message = getattr(src, "note", None)
        finally:
            if enter:
                await src.__aexit__(None, None, None)
    except* Stop as group:
        stop = group.exceptions[0]
        result.state, result.message = stop.state, str(stop)
    except* Exception as group:  # the source would not open, the disk is full, a bug
        exc = group.exceptions[0]
        problem = errors.explain(exc, portal=opts.portal, login=getattr(src, "login_hint", None))
        result.state = problem.state if problem.state != "case" else "failed"
        result.message = problem.message
