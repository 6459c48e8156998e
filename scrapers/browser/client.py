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
import email.utils
import json
import random
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
from scrapers.browser.pacing import AdaptiveLimiter
from scrapers.browser.session import portal_origin
from scrapers.errors import (
    AttachmentTooLarge,
    BadRequest,
    CaseNotFound,
    Forbidden,
    Outage,
    PortalError,
    SessionExpired,
    TransientExhausted,
    Unreachable,
)

API = "/hill/hillservice/mons-api/"
LOBBY = "/cu/case-lobby"
CASE_PAGE = "/cu/case-dashboard/view-case"
ATTACHMENT = "/cu/case-dashboard/attachment"
OUTAGE_ATTEMPTS = 3  # an "unavailable" answer this many times running is an outage
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


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


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
        self.max_attempts, self.max_throttled = max_attempts, max_throttled
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.max_retry_after = max_retry_after
        self.timeout_ms = request_timeout * 1000
        self.limiter = AdaptiveLimiter(concurrency)
        self.stats: dict[str, int] = {"requests": 0, "429": 0, "5xx": 0, "network_errors": 0,
                                      "retries": 0}
        self._pw = self._browser = self._context = self._page = None
        self._origin_lock: asyncio.Lock | None = None

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
            return await render_thread(tab, timeout_ms=self.timeout_ms,
                                       retries=self.max_attempts, backoff=self._backoff)

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
                self._raise_situation(html.encode(), tab.url, case_id)
                if outcome != "ready":
                    raise PageFault(f"{what} went to {tab.url}")
                self._count_success(kind)
                return Capture(kind, tab.url, status, html.encode(),
                               "text/html; charset=utf-8", _now_iso(), case_id, params)
            except (PlaywrightTimeout, PageFault) as exc:
                self._raise_situation(await _page_html(tab), tab.url, case_id)
                if attempt >= self.max_attempts:
                    raise TransientExhausted(f"{what} did not finish rendering: {exc}",
                                             url=url, case_id=case_id) from exc
                self.stats["retries"] += 1
                await asyncio.sleep(self._backoff(attempt))
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

        answer = await self._with_retries(url, case_id, send, page_load=True)
        return answer.status

    async def _call(self, kind: str, url: str, *, method: str = "GET", json_body=None,
                    case_id: str | None = None, params: dict | None = None,
                    stream_cap: int | None = None) -> Capture:
        via = "stream" if stream_cap is not None else \
            ("page" if self.transport == "fetch" else "api")
        if via != "api":
            await self._origin_page()  # before taking a slot: opening it needs one
        try:
            ans = await self._with_retries(
                url, case_id, lambda: self._send(via, method, url, json_body, stream_cap))
        except Forbidden:
            if self.transport != "auto" or via != "api":
                raise
            # Maybe the portal answers only its own pages' calls: ask from the page.
            await self._origin_page()
            ans = await self._with_retries(
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
                                              self.timeout_ms)

    async def _with_retries(self, url: str, case_id: str | None, send, *,
                            page_load: bool = False) -> transport.Answer:
        """The one retry loop: every request takes a slot from the limiter, and its answer
        decides: retried (429, 5xx, network error, a passing "unavailable"), raised (a
        situation, 4xx, or a budget used up) or returned."""
        attempt = throttled = outage = 0
        answered = False
        while True:
            ticket = await self.limiter.acquire()
            self.stats["requests"] += 1
            try:
                ans = await send()
            except AttachmentTooLarge as exc:
                await self.limiter.release("ok", ticket)
                exc.case_id = case_id
                raise
            except PlaywrightError as exc:
                await self.limiter.release("error", ticket)
                attempt += 1
                self.stats["network_errors"] += 1
                if attempt >= self.max_attempts:
                    cls = TransientExhausted if answered else Unreachable
                    raise cls(f"no answer after {attempt} attempts: {exc}", url=url,
                              case_id=case_id) from exc
                self.stats["retries"] += 1
                await asyncio.sleep(self._backoff(attempt))
                continue
            except BaseException:  # cancelled (Ctrl-C, SIGTERM, a sibling's failure)
                self.limiter.abandon(ticket)
                raise
            answered = True
            status = ans.status
            await self.limiter.release(
                "throttled" if status == 429 else ("page" if page_load else "ok"), ticket)
            if status == 429:
                throttled += 1
                self.stats["429"] += 1
                self._budget(throttled, self.max_throttled, url, case_id, ans)
                await asyncio.sleep(self._retry_delay(throttled, ans.headers))
                continue
            try:
                self._raise_situation(ans.body, ans.url, case_id, status,
                                      ans.headers.get("content-type", ""),
                                      is_download=ATTACHMENT in url and not page_load)
            except Outage:
                outage += 1
                if outage >= OUTAGE_ATTEMPTS:
                    raise
                await asyncio.sleep(self._backoff(outage))
                continue
            self._raise_for_status(ans, url, case_id)
            if status >= 500:
                attempt += 1
                self.stats["5xx"] += 1
                self._budget(attempt, self.max_attempts, url, case_id, ans)
                await asyncio.sleep(self._retry_delay(attempt, ans.headers))
                continue
            return ans

    def _raise_situation(self, body: bytes, url: str, case_id: str | None, status: int = 200,
                         content_type: str = "text/html", is_download: bool = False) -> None:
        situation = markers.answer_situation(status, body, content_type, url, is_download)
        if situation is None:
            return
        what = {"SessionExpired": "the portal asks to sign in again",
                "RobotCheck": "the portal shows a robot check (captcha)",
                "Outage": "the portal says its case log is unavailable"}[situation.__name__]
        raise situation(f"{what} ({url})", url=url, status=status, case_id=case_id, body=body)

    @staticmethod
    def _raise_for_status(ans: transport.Answer, url: str, case_id: str | None) -> None:
        """Turn answers that must not be retried into exceptions."""
        status = ans.status
        info = {"url": url, "status": status, "case_id": case_id, "body": ans.body}
        if status == 404:
            raise CaseNotFound(f"case {case_id} not found (404)", **info)
        if status == 403:
            raise Forbidden(f"403 forbidden: {url}", **info)
        if 400 <= status < 500:
            raise BadRequest(f"{status} for {url}", **info)

    def _budget(self, attempt: int, budget: int, url: str, case_id: str | None,
                ans: transport.Answer) -> None:
        """Raise TransientExhausted once over budget, carrying the portal's last answer
        so the failure keeps what the portal said; else count a retry."""
        if attempt >= budget:
            raise TransientExhausted(
                f"gave up after {attempt} attempts (status {ans.status}): {url}", url=url,
                status=ans.status, case_id=case_id, body=ans.body)
        self.stats["retries"] += 1

    def _count_success(self, kind: str) -> None:
        self.stats[kind] = self.stats.get(kind, 0) + 1
        if self.on_request:
            self.on_request(kind)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter (AWS architecture blog's recipe)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _retry_delay(self, attempt: int, headers: dict) -> float:
        told = retry_after_seconds(headers.get("retry-after"))
        if told is None:
            return self._backoff(attempt)
        # Never earlier than told; a little later so that retries spread out.
        return min(self.max_retry_after, told) + random.uniform(0, 0.1 + told * 0.1)


__all__ = ["PortalClient", "Capture", "PortalError", "retry_after_seconds", "TRANSPORTS"]
