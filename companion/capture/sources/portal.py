"""The browser source: the seller's own Seller Central session, driven through Chromium
(``scrapers.browser.client.PortalClient``), calling the portal's own JSON endpoints.

Listing: SearchForCases pages at the largest page size, the number the stored count
predicts asked for at once (one round trip instead of two), any beyond once page 0 says
how many there are. A page the parser cannot read makes the source list from the rendered
lobby instead (the way the portal's own page reads them); lobby rows show days, not
times, so every case listed that way is read whole.

A case: ViewCase pages newest first; an incremental read stops at the first page holding
a stored message (when the case was fully captured); GetContactMessage for each truncated
message not stored in full; a ViewCase answer the parser cannot read, or ``html=True``,
makes it read the rendered case page instead.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

from companion.capture.archive import Archive, Archived
from companion.capture.parsing import parse
from companion.capture.pipeline import Listing, StoredCase, listing
from companion.errors import strip_case
from companion.home import load_session
from scrapers.errors import STOPS, CaptureError, NoSavedSession, ParseError, PortalError

PAGE_SIZE = 50
MAX_THREAD_PAGES = 10_000


class PortalSource:
    name = "portal"

    def __init__(self, opts, archive: Archive, client=None):
        self.opts, self.archive = opts, archive
        self.origin = opts.portal
        self.note: str | None = None
        self.listing: Listing | None = None
        self.client = client
        self._own_client = client is None
        self._listing_caps: dict[tuple, Archived] = {}

    async def __aenter__(self) -> PortalSource:
        if self.client is None:
            state = load_session(self.origin)
            if state is None:
                raise NoSavedSession(f"no saved session for {self.origin}", url=self.origin)
            from scrapers.browser.client import PortalClient

            self.client = PortalClient(
                self.origin, storage_state=state, concurrency=self.opts.concurrency,
                timezone=self.opts.timezone or "UTC", transport=self.opts.transport)
            await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        if self._own_client and self.client is not None:
            await self.client.__aexit__(*exc)

    @property
    def stats(self) -> dict:
        return dict(getattr(self.client, "stats", {}) or {})

    def alive(self) -> bool:
        browser = getattr(self.client, "_browser", None)
        return browser is None or browser.is_connected()

    def _put(self, capture) -> Archived:
        return self.archive.put(capture)

    # -- listing ---------------------------------------------------------------------------

    async def list_cases(self, expected: int) -> AsyncIterator[list[dict]]:
        """Rows of every listed case, page by page as pages arrive."""
        try:
            async for rows in self._list_json(max(1, math.ceil((expected + 1) / PAGE_SIZE))):
                yield rows
        except ParseError as exc:
            page, cap = next(((n, c) for (lobby, n), c in sorted(self._listing_caps.items())
                              if not lobby and c.failure is not None), (0, None))
            kept = f" (the answer is kept as captures/{cap.path} for caselog reparse)" \
                if cap else ""
            self.note = (f"SearchForCases page {page}: {strip_case(exc)}{kept}; the cases "
                         "were listed from the rendered lobby instead and every listed case "
                         "was read whole")
            async for rows in self._list_lobby():
                yield rows
        self.listing = listing([self._listing_caps[k] for k in sorted(self._listing_caps)],
                               self.opts.timezone)

    @property
    def listing_captures(self) -> list[Archived]:
        return [self._listing_caps[k] for k in sorted(self._listing_caps)]

    async def _page(self, n: int, lobby: bool = False) -> tuple[list[dict], int]:
        if lobby:  # the lobby counts pages from 1; window All shows every case
            got = await self.client.lobby_html(page=n + 1, page_size=PAGE_SIZE, window="all")
        else:
            got = await self.client.search_cases(page=n, page_size=PAGE_SIZE)
        cap = self._put(got)
        self._listing_caps[(lobby, n)] = cap
        return parse(cap, self.opts.timezone)

    async def _list_json(self, guess: int) -> AsyncIterator[list[dict]]:
        tasks = {n: asyncio.ensure_future(self._page(n)) for n in range(guess)}
        try:
            rows, total = await tasks[0]
            yield rows
            needed = max(1, math.ceil(total / PAGE_SIZE))
            for n in range(guess, needed):
                tasks[n] = asyncio.ensure_future(self._page(n))
            for n in range(needed, guess):  # asked for past the end: may be refused
                try:
                    await tasks[n]
                except CaptureError:
                    self._listing_caps.pop((False, n), None)
            for done in asyncio.as_completed([tasks[n] for n in range(1, needed)]):
                rows, _ = await done
                yield rows
        finally:
            for task in tasks.values():
                task.cancel()

    async def _list_lobby(self) -> AsyncIterator[list[dict]]:
        rows, total = await self._page(0, lobby=True)
        yield rows
        needed = max(1, math.ceil(total / PAGE_SIZE))
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
