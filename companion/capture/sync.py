"""Sync orchestration: list every case, decide which to open, capture each one whole
(archived before parsing), parse it, save it in one transaction, many cases at once.

The client (``scrapers.client.PortalClient``) owns retries, backoff and rate adaptation;
this module owns *what* to fetch and what a failure means:

- ``SessionExpired`` / ``RobotCheck`` stop the whole sync (state ``auth`` / ``robot``);
  every case saved so far stays saved, cases in flight are simply not saved, and the
  next sync opens them again because they still look new, changed or not fully captured.
- A case that keeps failing (retries exhausted, 404, 403, a layout the parsers do not
  know) is recorded with its captures and the sync goes on.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlite_utils

from companion.capture import store
from companion.capture.archive import Archive, Archived
from companion.capture.parsing import (
    PARSE_ERRORS,
    mark,
    parse_listing,
    parse_message,
    parse_page,
    parse_viewcase,
    whole_thread,
)
from companion.schema import utcnow

PAGE_SIZE = 50
EXIT_CODES = {"ok": 0, "partial": 1, "failed": 1, "auth": 3, "robot": 4}


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


@dataclass
class SyncResult:
    sync_id: int
    state: str = "running"
    mode: str = "incremental"
    listed: int = 0
    opened: int = 0
    new_cases: list[str] = field(default_factory=list)
    new_replies: list[str] = field(default_factory=list)
    status_changes: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    left_lobby: list[str] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)   # why cases were opened
    requests: dict = field(default_factory=dict)
    seconds: float = 0.0
    message: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.state, 1)

    def summary(self) -> dict:
        return {
            "sync_id": self.sync_id, "state": self.state, "mode": self.mode,
            "listed": self.listed, "opened": self.opened, "reasons": dict(self.reasons),
            "new_cases": self.new_cases,
            "new_replies": self.new_replies, "status_changes": self.status_changes,
            "failures": self.failures, "left_lobby": self.left_lobby,
            "requests": self.requests, "seconds": round(self.seconds, 3),
            "message": self.message,
        }


class Stop(Exception):
    """The sync cannot go on without a person (sign-in or robot check)."""

    def __init__(self, state: str, message: str):
        super().__init__(message)
        self.state = state


def _client_errors():
    """(errors that stop the sync -> state, errors that fail one case). Imported late so
    that ``caselog export`` and friends never load Playwright."""
    from scrapers.browser.client import PortalError, RobotCheck, SessionExpired

    # TransientExhausted, CaseNotFound, Forbidden, BadRequest, AttachmentTooLarge: one case.
    return {SessionExpired: "auth", RobotCheck: "robot"}, (PortalError,)


def _parse_ts(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def decide(listed: list[dict], stored: dict[str, dict], full: bool, max_age: timedelta,
           now: datetime | None = None) -> list[tuple[dict, str]]:
    """Which listed cases to open, and why (new, changed, incomplete, stale, full)."""
    now = now or datetime.now(UTC)
    picks = []
    for lc in listed:
        s = stored.get(lc["case_id"])
        if s is None:
            why = "new"
        elif full:
            why = "full"
        elif s["status"] != lc["status"] or \
                (s["last_amazon_reply_at"] or None) != (lc["last_amazon_reply_at"] or None):
            why = "changed"
        elif not s["fully_captured"] or s["last_error"]:
            why = "incomplete"
        elif lc["status"] not in store.CLOSED_STATUSES and (
                _parse_ts(s["last_captured_at"]) is None
                or now - _parse_ts(s["last_captured_at"]) > max_age):
            why = "stale"
        else:
            continue
        picks.append((lc, why))
    return picks


class Syncer:
    def __init__(self, db: sqlite_utils.Database, client, archive: Archive, opts: SyncOptions,
                 progress: Callable[[int, int], None] | None = None):
        self.db, self.client, self.archive, self.opts = db, client, archive, opts
        self.progress = progress
        self.requests: Counter = Counter()
        self.sem = asyncio.Semaphore(max(1, opts.concurrency))
        self.stop_errors, self.case_errors = _client_errors()
        self.done = 0
        self.total = 0

    async def _call(self, kind: str, fn, *args, **kwargs) -> Archived:
        """One portal request, counted, bounded, and archived before anyone parses it."""
        async with self.sem:
            self.requests[kind] += 1
            try:
                capture = await fn(*args, **kwargs)
            except Exception as exc:
                for etype, state in self.stop_errors.items():
                    if isinstance(exc, etype):
                        raise Stop(state, str(exc)) from exc
                raise
        return self.archive.put(capture, kind)

    # -- listing ---------------------------------------------------------------------------

    def _parse_listing(self, cap: Archived, page: int, sync_id: int):
        """A page of the case list. One the parser cannot read is recorded with its
        capture (``parse_status = error``, for ``caselog reparse`` once the parser knows
        the new layout) and raises ``ListingFailed`` saying which page and what was
        expected; the caller then lists from the rendered lobby instead."""
        try:
            out = parse_listing(cap)
        except PARSE_ERRORS as exc:
            mark(cap, exc)
            what = "SearchForCases page" if cap.kind == "search" else "rendered lobby page"
            said = str(exc).removeprefix("case (id unknown): ")  # a list, not a case
            error = (f"{what} {page}: {said} (the answer is kept as captures/{cap.path} "
                     "for caselog reparse)")
            self.archive.log([cap], sync_id)
            store.record_captures(self.db, sync_id, [cap])
            raise ListingFailed(error) from exc
        mark(cap, None)
        return out

    # -- one case --------------------------------------------------------------------------

    async def capture_case(self, lc: dict, stored: dict | None,
                           caps: list[Archived]) -> store.CaseUnit:
        """Capture one case whole; every capture is appended to ``caps`` as it arrives,
        so a failure part-way still has them to record."""
        cid = lc["case_id"]
        known = store.message_state(self.db, cid) if stored else {}
        if self.opts.html:
            return await self._capture_html(lc, caps, None)
        allow_stop = bool(not self.opts.full and stored and stored["fully_captured"]
                          and lc.get("dates") != "day")
        pages, token, complete = [], None, False
        while True:
            kwargs = {"page_size": PAGE_SIZE}
            if token:
                kwargs["page_token"] = token
            cap = await self._call("viewcase", self.client.view_case, cid, **kwargs)
            cap.case_id = cap.case_id or cid
            caps.append(cap)
            try:
                page = parse_viewcase(cap)
            except PARSE_ERRORS as exc:
                mark(cap, exc)
                return await self._capture_html(lc, caps, exc)
            mark(cap, None)
            pages.append(page)
            if allow_stop and any(m["message_key"] in known for m in page["messages"]):
                complete = True
                break
            token = page.get("next_token")
            if not token or len(pages) > 10_000:
                complete = not token
                break
        from scrapers.parse.records import merge_pages

        parsed = merge_pages(pages)
        full_texts = await self._full_texts(cid, parsed, known, caps)
        return store.CaseUnit(
            case_id=cid, parsed=parsed, captures=caps, portal=self.opts.portal, listed=lc,
            full_texts=full_texts, complete=complete, source="json",
            observed_at=caps[0].fetched_at)

    async def _full_texts(self, cid, parsed, known, caps) -> dict:
        wanted = [m for m in parsed["messages"] if m["truncated"] and m.get("contact_id")
                  and known.get(m["message_key"], 1) != 0]
        if not wanted:
            return {}
        got = await asyncio.gather(*(
            self._call("message", self.client.get_contact_message, cid, m["contact_id"])
            for m in wanted))
        for cap in got:
            cap.case_id = cap.case_id or cid
            caps.append(cap)
        out = {}
        for m, cap in zip(wanted, got, strict=True):
            try:
                full = parse_message(cap)
            except PARSE_ERRORS as exc:
                mark(cap, exc)
                raise CaseFailed(f"case {cid}: message {m['contact_id']}: {exc}") from exc
            mark(cap, None)
            out[m["message_key"]] = (full["html"], full["text"])
        return out

    async def _capture_html(self, lc, caps, json_error) -> store.CaseUnit:
        """The rendered page, through the HTML parser: asked for (--html) or because the
        JSON could not be parsed."""
        cid = lc["case_id"]
        cap = await self._call("html", self.client.case_page_html, cid)
        cap.case_id = cap.case_id or cid
        caps.append(cap)
        try:
            parsed = parse_page(cap, self.opts.timezone)
        except PARSE_ERRORS as exc:
            mark(cap, exc)
            raise CaseFailed(str(json_error or exc)) from exc
        mark(cap, None)
        return store.CaseUnit(
            case_id=cid, parsed=parsed, captures=caps, portal=self.opts.portal, listed=lc,
            complete=whole_thread(parsed), source="html",
            observed_at=caps[0].fetched_at)

    async def download(self, unit: store.CaseUnit) -> None:
        rows = self.db.query(
            "select attachment_id, size from attachments where case_id = ? "
            "and local_path is null and attachment_id not like '%#%'", [unit.case_id])
        for row in list(rows):
            if row["size"] is not None and row["size"] > self.opts.max_attachment_bytes:
                continue
            try:
                cap = await self._call("attachment", self.client.download_attachment,
                                       unit.case_id, row["attachment_id"],
                                       max_bytes=self.opts.max_attachment_bytes)
            except self.case_errors:
                continue  # too large, gone or failing: the metadata is what matters
            cap.case_id = cap.case_id or unit.case_id
            cap.parse_status = "ok"
            self.archive.log([cap], unit.sync_id)
            store.save_attachment_file(self.db, unit.case_id, row["attachment_id"], cap,
                                       "captures/" + cap.path, unit.sync_id)

    async def one_case(self, sync_id: int, lc: dict, stored: dict | None,
                       result: SyncResult) -> None:
        cid = lc["case_id"]
        caps: list[Archived] = []
        try:
            unit = await self.capture_case(lc, stored, caps)
        except (CaseFailed, *PARSE_ERRORS, *self.case_errors) as exc:
            if isinstance(exc, self.case_errors):
                # The failing answer itself, or what is known of it (a parse failure's
                # capture is in ``caps`` already).
                body = getattr(exc, "body", None) or json.dumps({
                    "error": str(exc), "type": type(exc).__name__,
                    "url": getattr(exc, "url", None), "status": getattr(exc, "status", None),
                }).encode()
                sha, rel = self.archive.put_bytes(body, "bin")
                caps.append(Archived(
                    kind="error", url=getattr(exc, "url", "") or "", case_id=cid,
                    fetched_at=utcnow(), sha256=sha, path=rel, content_type=None,
                    status=getattr(exc, "status", None), parse_status="error",
                    parse_error=str(exc)))
            error = _describe(cid, exc)
            for cap in caps:  # parsed, but not applied: its case failed
                if cap.parse_status == "ok":
                    cap.parse_status = "pending"
            # The index first: it may then name a unit whose transaction a kill undid
            # (harmless to replay), but never miss one that was saved.
            self.archive.log(caps, sync_id)
            store.record_failure(self.db, sync_id, cid, error, caps)
            result.failures.append({"case_id": cid, "error": error})
        else:
            unit.sync_id = sync_id
            self.archive.log(unit.captures, sync_id)
            out = store.save_case(self.db, unit)
            if out.new_case:
                result.new_cases.append(cid)
            if out.new_replies:
                result.new_replies.append(cid)
            if out.status_change:
                result.status_changes.append(
                    {"case_id": cid, "from": out.status_change[0], "to": out.status_change[1]})
            if self.opts.download_attachments:
                await self.download(unit)
        self.done += 1
        if self.progress:
            self.progress(self.done, self.total)

    # -- the whole run ---------------------------------------------------------------------

    async def run(self, sync_id: int, result: SyncResult) -> None:
        """List and capture at once: every SearchForCases page (no date filter, largest
        page size) is decided as it arrives, and its cases go to a pool of workers while
        the other pages are still in flight. The pages expected from the stored count are
        asked for together (one round trip instead of two); any beyond follow page 0."""
        stored = store.stored_cases(self.db)
        listed_before = sum(1 for s in stored.values() if s["in_lobby"] != 0)
        guess = max(1, -(-(listed_before + 1) // PAGE_SIZE))
        queue: asyncio.Queue = asyncio.Queue()
        seen: dict[str, dict] = {}
        pages: dict[int, Archived] = {}
        totals: set[int] = set()
        workers = 2 * max(1, self.opts.concurrency)

        async def fetch_page(n: int, lobby: bool = False) -> int:
            if lobby:  # the lobby counts pages from 1; window All shows every case
                cap = await self._call("lobby", self.client.lobby_html, page=n + 1,
                                       page_size=PAGE_SIZE, window="all")
            else:
                cap = await self._call("search", self.client.search_cases, page=n,
                                       page_size=PAGE_SIZE, creation_date_from=None)
            rows, total = self._parse_listing(cap, n + 1 if lobby else n, sync_id)
            pages[(lobby, n)] = cap
            totals.add(total)
            fresh = [r for r in rows if r["case_id"] not in seen]
            seen.update((r["case_id"], r) for r in fresh)
            # Lobby rows show days, not times: a changed reply cannot be told, so every
            # case is opened and read whole (as --full does).
            picks = decide(fresh, stored, self.opts.full or lobby, self.opts.max_age)
            for pick in picks:
                queue.put_nowait(pick)
                result.reasons[pick[1]] += 1
            if picks:
                self.total += len(picks)
                result.opened = self.total
                store.update_sync(self.db, sync_id, total=self.total)
            return total

        async def list_json() -> int:
            first = [asyncio.ensure_future(fetch_page(n)) for n in range(guess)]
            try:
                total = await first[0]
                needed = max(1, -(-total // PAGE_SIZE))
                await asyncio.gather(*first[1:needed],
                                     *(fetch_page(n) for n in range(guess, needed)))
                for spare in first[needed:]:  # asked for past the end: may be refused
                    try:
                        await spare
                    except (ListingFailed, *self.case_errors):
                        pass
            except BaseException:
                for f in first:
                    f.cancel()
                raise
            return total

        async def list_lobby(why: ListingFailed) -> int:
            """SearchForCases' layout is unknown: the rendered lobby (window All, 50 a
            page) lists the same cases, the way the portal's own page reads them."""
            result.message = (f"{why}; the cases were listed from the rendered lobby "
                              "instead and every listed case was read whole")
            totals.clear()
            total = await fetch_page(0, lobby=True)
            needed = max(1, -(-total // PAGE_SIZE))
            await asyncio.gather(*(fetch_page(n, lobby=True) for n in range(1, needed)))
            return total

        async def lister():
            try:
                try:
                    total = await list_json()
                except ListingFailed as exc:
                    total = await list_lobby(exc)
                caps = [pages[k] for k in sorted(pages)]
                complete = len(totals) == 1 and len(seen) >= total
                result.listed = len(seen)
                self.archive.log(caps, sync_id)
                result.left_lobby = store.save_listing(
                    self.db, sync_id, list(seen.values()), caps, complete, caps[0].fetched_at)
                store.update_sync(self.db, sync_id, total=self.total, listed=len(seen))
            finally:
                for _ in range(workers):
                    queue.put_nowait(None)

        async def worker():
            while (item := await queue.get()) is not None:
                lc, _why = item
                await self.one_case(sync_id, lc, stored.get(lc["case_id"]), result)

        # A fixed pool of workers: memory stays flat at any case count, and the first
        # Stop cancels the rest (their cases are not saved, so not lost). Twice as many
        # workers as request slots, so that while one worker parses and saves, another's
        # request keeps the slot busy.
        async with asyncio.TaskGroup() as tg:
            tg.create_task(lister())
            for _ in range(workers):
                tg.create_task(worker())


class CaseFailed(Exception):
    pass


class ListingFailed(Exception):
    pass


def _describe(case_id: str, exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if text.startswith(f"case {case_id}") else f"case {case_id}: {text}"


async def sync(db: sqlite_utils.Database, client, opts: SyncOptions,
               archive: Archive | None = None,
               progress: Callable[[int, int], None] | None = None) -> SyncResult:
    """Run one sync with an open client; always leaves the syncs row in a final state."""
    archive = archive or Archive()
    store.mark_interrupted(db)
    archive.sweep()  # half-written files of a killed sync (the running-sync check is done)
    mode = "full" if opts.full else "incremental"
    sync_id = store.start_sync(db, opts.portal, mode)
    result = SyncResult(sync_id=sync_id, mode=mode)
    syncer = Syncer(db, client, archive, opts, progress)
    listing_errors = (CaseFailed, *syncer.case_errors)
    started = time.monotonic()
    try:
        await syncer.run(sync_id, result)
        result.state = "partial" if result.failures else "ok"
    except* Stop as group:
        stop = group.exceptions[0]
        result.state = stop.state
        result.message = str(stop)
    except* ListingFailed as group:
        result.state = "failed"
        result.message = f"the case list could not be read: {group.exceptions[0]}"
    except* listing_errors as group:
        result.state = "failed"
        result.message = f"the case list could not be read: {group.exceptions[0]}"
    except* Exception as group:  # the browser died, the disk is full, a bug: say so
        exc = group.exceptions[0]
        result.state = "failed"
        result.message = f"sync stopped: {type(exc).__name__}: {exc}"
        traceback.print_exception(exc, file=sys.stderr)
    finally:
        result.seconds = time.monotonic() - started
        result.requests = dict(syncer.requests)
        result.requests["total"] = sum(syncer.requests.values())
        stats = getattr(client, "stats", None)
        if isinstance(stats, dict):
            result.requests["client"] = dict(stats)
        if result.state == "running":  # interrupted or crashed: never claim success
            result.state = "interrupted"
        store.finish_sync(db, sync_id, result.state, result.summary(), result.message,
                          requests=result.requests["total"])
        archive.close()
    return result
