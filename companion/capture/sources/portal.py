"""The browser source: the seller's own Seller Central session, driven through Chromium
(``scrapers.browser.client.PortalClient``), calling the portal's own JSON endpoints.

Listing: SearchForCases pages at the largest page size, the number the stored count
predicts asked for at once (one round trip instead of two), any beyond once page 0 says
how many there are. A page the parser cannot read makes the source list from the rendered
lobby instead (the way the portal's own page reads them); lobby rows show days, not
times, so every case listed that way is read whole. The first page the parser did read
goes through the doctor's cheap checks (``companion.doctor.canary``) before any of its
rows leave: readable but not PORTAL.md's shape raises ``ShapeChanged``, which stops the
sync before anything is saved.

A case: ViewCase pages newest first; an incremental read stops at the first page holding
a stored message (when the case was fully captured); GetContactMessage for each truncated
message not stored in full; a ViewCase answer the parser cannot read, or ``html=True``,
makes it read the rendered case page instead.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from companion.capture.archive import Archive, Archived
from companion.capture.parsing import parse
from companion.capture.pipeline import RESULT_CAP, Listing, StoredCase, epoch, listing
from companion.capture.store import CLOSED_STATUSES, stored_cases
from companion.doctor.canary import check_case_list
from companion.errors import strip_case
from companion.folders import load_session
from scrapers.errors import STOPS, CaptureError, NoSavedSession, ParseError, PortalError

PAGE_SIZE = 50
MAX_THREAD_PAGES = 10_000
WINDOW_CASES = 900  # stored cases per planned window: room for new ones under the cap


def plan_windows(stored: dict[str, dict]) -> list[tuple[tuple, int]]:
    """Creation-date windows of at most ``WINDOW_CASES`` stored cases each, newest first,
    with how many each is expected to hold, so that every window lists whole under the
    portal's 1,000-result cap and all of them can be asked for at once. No stored cases
    (a first sync): one unfiltered query, narrowed as it goes."""
    dates = sorted((s["created_at"] for s in stored.values()
                    if s.get("in_lobby") != 0 and s.get("created_at")), reverse=True)
    if len(dates) <= WINDOW_CASES:
        return [((None, None), len(dates))]
    plan, hi = [], None
    for start in range(0, len(dates), WINDOW_CASES):
        chunk = dates[start:start + WINDOW_CASES]
        lo = epoch(chunk[-1]) if start + WINDOW_CASES < len(dates) else None
        if lo is not None and hi is not None and lo >= hi:
            continue  # a second with more cases than a window: the next one takes it
        plan.append(((lo, hi), len(chunk)))
        hi = lo
    return plan


def _parse_ts(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")) if ts else None


def decide(listed: list[dict], stored: dict[str, dict], full: bool, max_age: timedelta,
           now: datetime | None = None) -> list[tuple[dict, str]]:
    """Which listed cases to open, and why (new, changed, incomplete, stale, full)."""
    now = now or datetime.now(UTC)
    picks = []
    for lc in listed:
        s = stored.get(lc["case_id"])
        if s is None:
            why = "new"
        elif full or lc.get("dates") == "day":
            why = "full"
        elif s["status"] != lc["status"] or \
                (s["last_amazon_reply_at"] or None) != (lc["last_amazon_reply_at"] or None):
            why = "changed"
        elif not s["fully_captured"] or s["last_error"]:
            why = "incomplete"
        elif lc["status"] not in CLOSED_STATUSES and (
                _parse_ts(s["last_captured_at"]) is None
                or now - _parse_ts(s["last_captured_at"]) > max_age):
            why = "stale"
        else:
            continue
        picks.append((lc, why))
    return picks


def _cap_order(item) -> tuple:
    """Listing captures in a stable order: kind, newest window first, then page."""
    (kind, lo, hi, n), _ = item
    return (kind, -(hi if hi is not None else float("inf")), n)


class PortalSource:
    name = "portal"
    downloads_by_id = True

    def __init__(self, opts, archive: Archive, client=None):
        self.opts, self.archive = opts, archive
        self.origin = opts.portal
        self.login_hint = f"caselog login --portal {opts.portal}"
        self.note: str | None = None
        self.listing: Listing | None = None
        self.client = client
        self._own_client = client is None
        self._listing_caps: dict[tuple, Archived] = {}
        self._shape_checked = False

    async def __aenter__(self) -> PortalSource:
        if self.client is None:
            state = load_session(self.origin, getattr(self.opts, "account", None))
            if state is None:
                raise NoSavedSession(f"no saved session for {self.origin}", url=self.origin)
            # Playwright, loaded when a browser sync starts: nothing else needs it.
            from scrapers.browser.client import PortalClient

            self.client = PortalClient(
                self.origin, storage_state=state, concurrency=self.opts.concurrency,
                timezone=self.opts.timezone or "UTC", transport=self.opts.transport)
            await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        if self._own_client and self.client is not None:
            await self.client.__aexit__(*exc)

    @staticmethod
    def stored_state(db) -> dict[str, dict]:
        return stored_cases(db)

    @staticmethod
    def decide(rows: list[dict], stored: dict[str, dict], opts) -> list[tuple[dict, str]]:
        return decide(rows, stored, opts.full, opts.max_age)

    @property
    def stats(self) -> dict:
        return dict(getattr(self.client, "stats", {}) or {})

    @property
    def transport(self) -> str:
        """"page" when calls go from a portal page (asked for, or the portal wanted it)."""
        client = self.client
        return "page" if client is not None and client.transport == "fetch" else "api"

    def alive(self) -> bool:
        browser = getattr(self.client, "_browser", None)
        return browser is None or browser.is_connected()

    def _put(self, capture) -> Archived:
        return self.archive.put(capture)

    # -- listing ---------------------------------------------------------------------------

    async def list_cases(self, stored: dict[str, dict]) -> AsyncIterator[list[dict]]:
        """Rows of every listed case, page by page as pages arrive."""
        try:
            async for rows in self._list_json(plan_windows(stored)):
                yield rows
        except ParseError as exc:
            page, cap = next(((k[-1], c) for k, c in sorted(self._listing_caps.items(),
                                                           key=_cap_order)
                              if k[0] == "search" and c.failure is not None), (0, None))
            kept = f" (the answer is kept as captures/{cap.path} for caselog reparse)" \
                if cap else ""
            self.note = (f"SearchForCases page {page}: {strip_case(exc)}{kept}; the cases "
                         "were listed from the rendered lobby instead and every listed case "
                         "was read whole")
            async for rows in self._list_lobby():
                yield rows
        self.listing = listing(self.listing_captures, self.opts.timezone)

    @property
    def listing_captures(self) -> list[Archived]:
        return [c for _, c in sorted(self._listing_caps.items(), key=_cap_order)]

    async def _page(self, n: int, window: tuple = (None, None), lobby: bool = False
                    ) -> tuple[list[dict], int]:
        if lobby:  # the lobby counts pages from 1; window All shows every case
            got = await self.client.lobby_html(page=n + 1, page_size=PAGE_SIZE, window="all")
        else:
            got = await self.client.search_cases(page=n, page_size=PAGE_SIZE,
                                                 creation_date_from=window[0],
                                                 creation_date_to=window[1])
        cap = self._put(got)
        self._listing_caps[("lobby" if lobby else "search", *window, n)] = cap
        found = parse(cap, self.opts.timezone)
        if not lobby and not self._shape_checked:  # the first page read, before any row
            self._shape_checked = True            # is yielded: nothing is saved yet
            check_case_list(cap.body, self.origin)
        return found

    async def _list_json(self, plan: list[tuple[tuple, int]]) -> AsyncIterator[list[dict]]:
        """Every window of the plan at once; a window that reaches the portal's cap goes
        on as a narrower window of the cases older than what it showed."""
        out: asyncio.Queue = asyncio.Queue()
        tasks: set[asyncio.Task] = set()

        def start(window: tuple, expected: int) -> None:
            task = asyncio.ensure_future(self._window(window, expected, out, start))
            tasks.add(task)
            task.add_done_callback(lambda t: out.put_nowait(("done", t)))

        for window, expected in plan:
            start(window, expected)
        try:
            while tasks:
                kind, item = await out.get()
                if kind == "rows":
                    yield item
                    continue
                tasks.discard(item)
                if not item.cancelled() and item.exception() is not None:
                    raise item.exception()
        finally:
            for task in tasks:
                task.cancel()

    async def _window(self, window: tuple, expected: int, out: asyncio.Queue, start) -> None:
        """One query's pages: as many as expected at once, the rest once page 0 tells
        the total. Past the cap, a narrower window goes on from the oldest second seen."""
        # New cases land only in the newest window (creation dates are "now"): room for
        # one more there; an older window holds what it held.
        room = 1 if window[1] is None else 0
        guess = min(RESULT_CAP // PAGE_SIZE, max(1, math.ceil((expected + room) / PAGE_SIZE)))
        tasks = {n: asyncio.ensure_future(self._page(n, window)) for n in range(guess)}
        dates: list[str] = []

        def arrived(rows: list[dict]) -> None:
            dates.extend(r["created_at"] for r in rows if r.get("created_at"))
            out.put_nowait(("rows", rows))

        try:
            rows, total = await tasks[0]
            arrived(rows)
            needed = max(1, math.ceil(min(total, RESULT_CAP) / PAGE_SIZE))
            for n in range(guess, needed):
                tasks[n] = asyncio.ensure_future(self._page(n, window))
            for n in range(needed, guess):  # asked for past the end: may be refused
                try:
                    await tasks[n]
                except CaptureError:
                    self._listing_caps.pop(("search", *window, n), None)
            for done in asyncio.as_completed([tasks[n] for n in range(1, needed)]):
                arrived((await done)[0])
        finally:
            for task in tasks.values():
                task.cancel()
        if total < RESULT_CAP or not dates:
            return
        narrower = (window[0], epoch(min(dates)) + 1)
        if window[1] is not None and narrower[1] >= window[1]:
            self.note = ("more than 1,000 cases were created within one second; caselog "
                         "cannot list all of them, so the list is not complete")
            return
        start(narrower, 0)  # its size is unknown: page 0 first

    async def _list_lobby(self) -> AsyncIterator[list[dict]]:
        rows, total = await self._page(0, lobby=True)
        yield rows
        needed = max(1, math.ceil(min(total, RESULT_CAP) / PAGE_SIZE))
        tasks = [asyncio.ensure_future(self._page(n, lobby=True)) for n in range(1, needed)]
        try:
            for done in asyncio.as_completed(tasks):
                rows, _ = await done
                yield rows
        finally:
            for task in tasks:
                task.cancel()

    # -- one case --------------------------------------------------------------------------

    async def capture(self, listed: dict, stored: StoredCase | None,
                      captures: list[Archived]) -> None:
        cid = listed["case_id"]
        if self.opts.html:
            return await self._rendered(cid, captures, None)
        allow_stop = bool(not self.opts.full and stored and stored.fully_captured
                          and listed.get("dates") != "day")
        pages, token = [], None
        while len(pages) < MAX_THREAD_PAGES:
            cap = self._put(await self.client.view_case(cid, page_size=PAGE_SIZE,
                                                        page_token=token))
            captures.append(cap)
            try:
                page = parse(cap, self.opts.timezone)
            except ParseError as exc:
                return await self._rendered(cid, captures, exc)
            pages.append(page)
            if allow_stop and any(m["message_key"] in stored.message_keys
                                  for m in page["messages"]):
                break
            token = page.get("next_token")
            if not token:
                break
        await self._full_texts(cid, pages, stored, captures)

    async def _full_texts(self, cid, pages, stored, captures) -> None:
        """GetContactMessage for each truncated message not already stored in full."""
        known = stored.message_keys if stored else {}
        wanted = [m for page in pages for m in page["messages"]
                  if m["truncated"] and m.get("contact_id") and known.get(m["message_key"], 1)]

        async def one(m):
            cap = self._put(await self.client.get_contact_message(cid, m["contact_id"]))
            captures.append(cap)
            parse(cap, self.opts.timezone)

        await asyncio.gather(*(one(m) for m in {m["message_key"]: m for m in wanted}.values()))

    async def _rendered(self, cid, captures, json_error: Exception | None) -> None:
        """The rendered page, through the HTML parser: asked for (--html) or because the
        JSON could not be parsed (whose error is then the one reported, if this fails
        too: it says what changed first)."""
        try:
            cap = self._put(await self.client.case_page_html(cid))
        except PortalError as exc:  # the page could not show it either
            if json_error is None or isinstance(exc, STOPS):
                raise
            raise json_error from exc
        captures.append(cap)
        try:
            parse(cap, self.opts.timezone)
        except ParseError as exc:
            if json_error is not None:
                raise json_error from exc
            raise

    async def download(self, case_id: str, attachment_id: str, max_bytes: int) -> Archived:
        cap = self._put(await self.client.download_attachment(case_id, attachment_id,
                                                              max_bytes=max_bytes))
        cap.parse_status = "ok"
        return cap
