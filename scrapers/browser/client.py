"""Capture: raw answers from the portal through a signed-in Chromium, nothing parsed.

``PortalClient`` opens one browser context with the seller's session (or attaches to a
running Chrome over CDP), then issues the portal's own JSON calls (PORTAL.md section 4),
many at a time, and returns each answer as a ``Capture`` (bytes plus where and when they
came from) for the archive and the parsers. The session is proved by the first call (an
expired one raises ``SessionExpired``, a robot check ``RobotCheck``), not by a page visit.

Transport (``scrapers.browser.transport``): ``"request"`` is Playwright's API client, which
shares the context's cookies and measured 1.5-2x faster than ``fetch`` from a page (no
renderer round trip); ``"fetch"`` makes every call from an inert page of the portal, as
the portal's own scripts and every public automation do; ``"auto"`` (the default) starts
with the API client and, at the first 403, makes the same call from the page: when that
works the portal answers only its own pages' calls (PORTAL.md v2), and the client stays
on in-page calls for the rest of its life (``switched_to_page`` tells the caller, who may
remember it for the next sync). Attachments always stream from the page, which is the
only way to stop at the size cap without reading the whole file.

Faults (PORTAL.md sections 1 and 6) go through one retry loop: 429, 5xx and network
errors are retried with exponential backoff and jitter, honouring ``Retry-After``; a case
log outage is retried briefly, then raised as ``Outage``; sign-in and robot checks are
never retried (a person must act). The errors are in ``scrapers.errors``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from scrapers import markers
from scrapers.browser import transport
from scrapers.browser.casepage import PageFault, render_lobby, render_thread
from scrapers.browser.launch import launch_options
from scrapers.browser.retry import Retrying, raise_situation, retry_after_seconds
from scrapers.browser.session import portal_origin
from scrapers.errors import Forbidden, PortalError, SessionExpired, TransientExhausted

API = "/hill/hillservice/mons-api/"
LOBBY = "/cu/case-lobby"
CASE_PAGE = "/cu/case-dashboard/view-case"
ATTACHMENT = "/cu/case-dashboard/attachment"
TRANSPORTS = ("auto", "request", "fetch")


@dataclass(frozen=True)
class Capture:
    """One raw answer. ``kind`` is the archive's vocabulary: search | viewcase | message |
    attachment | html | lobby."""

    kind: str
    url: str
    status: int
    body: bytes
    content_type: str
    fetched_at: str
    case_id: str | None = None
    params: dict = field(default_factory=dict)  # what was asked (page, pageToken, ...)

    def json(self):
        return json.loads(self.body)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def _page_html(tab) -> bytes:
    """The page's markup as it stands, or nothing when it is between two documents."""
    try:
        return (await tab.content()).encode()
    except PlaywrightError:
        return b""


class PortalClient:
    """Async context manager; see the module docstring. ``storage_state`` is the
    Playwright storage state of the seller's session (``caselog login`` saved it);
    ``cdp_url`` attaches to a running Chrome instead."""

    def __init__(self, portal_url: str, *, storage_state: dict | None = None,
                 cdp_url: str | None = None, headless: bool = True, concurrency: int = 8,
                 timezone: str = "UTC", on_request=None, transport: str = "auto",
                 max_attempts: int = 6, max_throttled: int = 12, backoff_base: float = 0.25,
                 backoff_cap: float = 10.0, max_retry_after: float = 300.0,
                 request_timeout: float = 60.0):
        scheme, host, port = portal_origin(portal_url)
        self.origin = f"{scheme}://{host}:{port}"
        self.portal_url = portal_url
        if storage_state is None and cdp_url is None:
            raise SessionExpired(f"no session for {self.origin}", url=self.origin)
        self.storage_state = storage_state
        self.cdp_url, self.headless, self.timezone = cdp_url, headless, timezone
        self.on_request = on_request
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}")
        self.transport = transport
        self.switched_to_page = False
        self.timeout_ms = request_timeout * 1000
        self.retrying = Retrying(concurrency, max_attempts=max_attempts,
                                 max_throttled=max_throttled, backoff_base=backoff_base,
                                 backoff_cap=backoff_cap, max_retry_after=max_retry_after)
        self._pw = self._browser = self._context = self._page = None
        self._origin_lock: asyncio.Lock | None = None
        self._disposing: set[asyncio.Task] = set()

    @property
    def stats(self) -> dict[str, int]:
        """Requests sent (retries included), 429s, 5xx, network errors, retries, and one
        count per kind of successful capture."""
        return self.retrying.stats

    @property
    def limiter(self):
        return self.retrying.limiter

    # ---- life cycle ---------------------------------------------------------------

    async def __aenter__(self) -> PortalClient:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def start(self) -> None:
        self._pw = await async_playwright().start()
        if self.cdp_url:
            self._browser = await self._pw.chromium.connect_over_cdp(self.cdp_url)
            contexts = self._browser.contexts
            self._context = contexts[0] if contexts else await self._browser.new_context()
        else:
            self._browser = await self._pw.chromium.launch(**launch_options(self.headless))
            self._context = await self._browser.new_context(storage_state=self.storage_state,
                                                            timezone_id=self.timezone)
        # No page is opened yet: the first API call proves the session, and only calls
        # made from a page open the lobby, once (measured: the lobby visit was 0.15-0.2 s
        # of a ~0.8 s start).
        self._origin_lock = asyncio.Lock()

    async def close(self) -> None:
        try:
            if self._disposing:
                await asyncio.gather(*self._disposing, return_exceptions=True)
            if self._page is not None and not self._page.is_closed():
                await self._page.close()
            # Never close a person's own Chrome (CDP): stopping Playwright just detaches.
            if self._browser is not None and not self.cdp_url:
                await self._browser.close()
        finally:
            if self._pw is not None:
                await self._pw.stop()
            self._pw = self._browser = self._context = self._page = None

    async def _origin_page(self):
        """The lobby, opened once, for calls made from a page: it gives them the portal's
        origin and the browser's own request headers. The page stays inert: its scripts
        and their calls are blocked, so it costs no API call and nothing runs behind our
        back; only our own fetches (marked) pass, the mark removed."""
        async with self._origin_lock:
            if self._page is None:
                page = await self._context.new_page()
                try:
                    await page.route("**/*", self._guard)
                    await self._goto(page, self.origin + LOBBY, "lobby")
                except BaseException:
                    await page.close()
                    raise
                self._page = page
        return self._page

    @staticmethod
    async def _guard(route) -> None:
        request = route.request
        headers = await request.all_headers()
        if transport.MARK in headers:
            del headers[transport.MARK]
            await route.continue_(headers=headers)
        elif request.resource_type in ("script", "fetch", "xhr", "eventsource", "websocket"):
            await route.abort()
        else:
            await route.continue_()

    # ---- the portal's calls ---------------------------------------------------------

    async def search_cases(self, page: int, page_size: int = 50, creation_date_from=None,
                           creation_date_to=None, search_text: str = "") -> Capture:
        """One page (from 0) of SearchForCases, newest first; body exactly as the portal's."""
        body = {"page": page, "searchPageSize": page_size, "sortBy": "CreationDate",
                "sortByOrder": "DESC", "getCountOnly": False,
                "caseFilters": {"caseOwner": "MerchantCases", "searchText": search_text,
                                "creationDateFrom": creation_date_from,
                                "creationDateTo": creation_date_to}}
        return await self._call("search", self.origin + API + "SearchForCases", method="POST",
                                json_body=body, params=body)

    async def view_case(self, case_id: str, page_size: int = 50,
                        page_token: str | None = None) -> Capture:
        query = {"caseId": case_id, "timeZone": self.timezone, "pageSize": page_size}
        if page_token:
            query["pageToken"] = page_token
        return await self._call("viewcase", self.origin + API + "ViewCase?" + urlencode(query),
                                case_id=case_id, params=query)

    async def get_contact_message(self, case_id: str, contact_id: str) -> Capture:
        query = {"caseId": case_id, "contactId": contact_id}
        url = self.origin + API + "GetContactMessage?" + urlencode(query)
        return await self._call("message", url, case_id=case_id, params=query)

    async def download_attachment(self, case_id: str, attachment_id: str,
                                  max_bytes: int) -> Capture:
        """The file's bytes in ``body``; ``AttachmentTooLarge`` past ``max_bytes``."""
        query = {"caseID": case_id, "attachmentId": attachment_id}
        url = self.origin + ATTACHMENT + "?" + urlencode(query)
        return await self._call("attachment", url, case_id=case_id, params=query,
                                stream_cap=max_bytes)

    async def case_page_html(self, case_id: str) -> Capture:
        """The rendered case page with every message loaded and expanded
        (``scrapers.browser.casepage``); loaded again, with backoff, when it fails."""
        url = self.origin + CASE_PAGE + "?" + urlencode({"caseID": case_id})

        async def render(tab):
            policy = self.retrying
            return await render_thread(tab, timeout_ms=self.timeout_ms,
                                       retries=policy.max_attempts, backoff=policy.backoff)

        return await self._rendered("html", url, render, case_id=case_id,
                                    params={"caseID": case_id}, what=f"case page {case_id}")

    async def lobby_html(self, page: int = 1, page_size: int = 50,
                         window: str = "all") -> Capture:
        """The rendered case lobby at ``?window=&page=&pageSize=`` (``page`` from 1), once
        it shows its cases: the list as a person sees it, for when SearchForCases' JSON
        can no longer be read."""
        query = {"window": window, "page": page, "pageSize": page_size}
        url = self.origin + LOBBY + "?" + urlencode(query)

        async def render(tab):
            return await render_lobby(tab, timeout_ms=self.timeout_ms)

        return await self._rendered("lobby", url, render, case_id=None, params=query,
                                    what=f"the case lobby (page {page})")

    async def _rendered(self, kind: str, url: str, render, *, case_id: str | None,
                        params: dict, what: str) -> Capture:
        """Open ``url`` in a fresh tab, let ``render`` drive it until it reports "ready",
        and capture the DOM. A render that times out or lands elsewhere is first checked
        for the portal's special pages (which raise at once), then retried with backoff,
        because the page's own API calls meet the same transient faults as ours."""
        attempt = 0
        while True:
            attempt += 1
            tab = await self._context.new_page()
            try:
                status = await self._goto(tab, url, kind, case_id=case_id)
                outcome = await render(tab)
                html = await tab.content()
                raise_situation(html.encode(), tab.url, case_id)
                if outcome != "ready":
                    raise PageFault(f"{what} went to {tab.url}")
                self._count_success(kind)
                return Capture(kind, tab.url, status, html.encode(),
                               "text/html; charset=utf-8", _now_iso(), case_id, params)
            except (PlaywrightTimeout, PageFault) as exc:
                raise_situation(await _page_html(tab), tab.url, case_id)
                if attempt >= self.retrying.max_attempts:
                    raise TransientExhausted(f"{what} did not finish rendering: {exc}",
                                             url=url, case_id=case_id) from exc
                self.stats["retries"] += 1
                await asyncio.sleep(self.retrying.backoff(attempt))
            finally:
                await tab.close()

    # ---- plumbing --------------------------------------------------------------------

    async def _goto(self, page, url: str, kind: str, case_id: str | None = None) -> int:
        """Navigate with the same retry rules as API calls; returns the final status."""

        async def send() -> transport.Answer:
            response = await page.goto(url, wait_until="domcontentloaded",
                                       timeout=self.timeout_ms)
            body = (await page.content()).encode()
            return transport.Answer(response.status if response else 200, page.url,
                                    dict(response.headers) if response else {}, body)

        answer = await self.retrying.send(url, case_id, send, page_load=True)
        return answer.status

    async def _call(self, kind: str, url: str, *, method: str = "GET", json_body=None,
                    case_id: str | None = None, params: dict | None = None,
                    stream_cap: int | None = None) -> Capture:
        via = "stream" if stream_cap is not None else \
            ("page" if self.transport == "fetch" else "api")
        if via != "api":
            await self._origin_page()  # before taking a slot: opening it needs one
        try:
            ans = await self.retrying.send(
                url, case_id, lambda: self._send(via, method, url, json_body, stream_cap))
        except Forbidden:
            if self.transport != "auto" or via != "api":
                raise
            # Maybe the portal answers only its own pages' calls: ask from the page.
            await self._origin_page()
            ans = await self.retrying.send(
                url, case_id, lambda: self._send("page", method, url, json_body, None))
            self.transport, self.switched_to_page = "fetch", True
        self._count_success(kind)
        return Capture(kind, ans.url, ans.status, ans.body, ans.headers.get("content-type", ""),
                       _now_iso(), case_id, dict(params or {}))

    async def _send(self, via: str, method: str, url: str, json_body, stream_cap):
        if via == "stream":
            return await transport.stream_from_page(self._page, url, stream_cap,
                                                    self.origin + markers.SIGNIN_PATH)
        if via == "page":
            return await transport.via_page(self._page, method, url, json_body)
        return await transport.via_api_client(self._context, method, url, json_body,
                                              self.timeout_ms, self._disposing)

    def _count_success(self, kind: str) -> None:
        self.stats[kind] = self.stats.get(kind, 0) + 1
        if self.on_request:
            self.on_request(kind)



__all__ = ["PortalClient", "Capture", "PortalError", "retry_after_seconds", "TRANSPORTS"]
