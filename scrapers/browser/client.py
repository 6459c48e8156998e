"""Capture: raw answers from the portal through a signed-in Chromium, nothing parsed.

``PortalClient`` opens one browser context with the saved session (or attaches to a
running Chrome over CDP), then issues the portal's own JSON calls (PORTAL.md section 4)
with the context's cookies, many at a time, and returns each answer as a ``Capture``
(bytes plus where and when they came from) for the archive and the parsers. The session
is proved by the first call (an expired one raises ``SessionExpired``, a robot check
``RobotCheck``), not by a page visit first.

Transport: ``context.request`` (Playwright's API client; it shares the context's cookie
jar, Set-Cookie included) by default, because it measured 1.5-2x faster than ``fetch``
from the page (benchmarks/bench_capture.py: no renderer round trip, no route handler).
``transport="fetch"`` issues the same calls with ``window.fetch`` from the lobby page,
exactly as the portal's own scripts do, for a portal that would want the page's own
headers. Attachments always go through the page's ``fetch``: only a stream can stop at
the size cap without reading the whole file.

Faults (PORTAL.md sections 1 and 6): 429, 5xx and network errors are retried with
exponential backoff and jitter, honouring ``Retry-After``; sign-in and robot checks are
never retried (a person must act); see the exception classes below.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from scrapers.browser.casepage import PageFault, render_lobby, render_thread
from scrapers.browser.launch import launch_options
from scrapers.browser.pacing import AdaptiveLimiter
from scrapers.browser.session import load_state, portal_origin

API = "/hill/hillservice/mons-api/"
LOBBY = "/cu/case-lobby"
CASE_PAGE = "/cu/case-dashboard/view-case"
ATTACHMENT = "/cu/case-dashboard/attachment"
SIGNIN = "/ap/signin"
MARK = "x-caselog-call"  # marks our own fetches from the inert lobby page; never sent


class PortalError(RuntimeError):
    """Base of every capture failure; carries what was asked and what came back."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None,
                 case_id: str | None = None, body: bytes = b""):
        super().__init__(message)
        self.url, self.status, self.case_id, self.body = url, status, case_id, body


class SessionExpired(PortalError):
    """No valid session (401, or sent to sign-in): run ``caselog login``. Not retried."""


class RobotCheck(PortalError):
    """The portal wants a person to solve a captcha. Never retried."""


class CaseNotFound(PortalError):
    """404 for this case."""


class Forbidden(PortalError):
    """403: the signed-in account may not see this."""


class BadRequest(PortalError):
    """400 (or another unexpected 4xx): our request was wrong; ``body`` says why."""


class TransientExhausted(PortalError):
    """429/5xx/network errors went on past the retry budget."""


class AttachmentTooLarge(PortalError):
    """The attachment is bigger than the cap; nothing beyond the cap was read."""


@dataclass(frozen=True)
class Capture:
    """One raw answer. ``kind``: search | view_case | contact_message | attachment | html."""

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


@dataclass
class _Answer:
    status: int
    url: str
    headers: dict
    body: bytes


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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


_FETCH_JS = """async ([url, method, body, headers]) => {
  const r = await fetch(url, {method, body, headers: {...headers, 'x-caselog-call': '1'},
                               credentials: 'same-origin'});
  const buf = new Uint8Array(await r.arrayBuffer());
  let s = '';
  for (let i = 0; i < buf.length; i += 0x8000)
    s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
  return {status: r.status, url: r.url, headers: Object.fromEntries(r.headers.entries()),
          body64: btoa(s)};
}"""

# Streams the file and stops at the cap, so a 2 GB attachment costs at most cap bytes.
_STREAM_JS = """async ([url, cap]) => {
  const r = await fetch(url, {credentials: 'same-origin', redirect: 'manual',
                               headers: {'x-caselog-call': '1'}});
  const headers = Object.fromEntries(r.headers.entries());
  if (r.type === 'opaqueredirect')
    return {status: 302, url: r.url, headers, body64: '', location: true};
  const declared = parseInt(headers['content-length'] || '-1', 10);
  if (r.ok && declared > cap) {
    if (r.body) await r.body.cancel();
    return {status: r.status, url: r.url, headers, tooLarge: declared};
  }
  const chunks = []; let total = 0;
  if (r.body) {
    const reader = r.body.getReader();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      total += value.length;
      if (r.ok && total > cap) { await reader.cancel(); return {status: r.status, url: r.url,
                                 headers, tooLarge: total}; }
      chunks.push(value);
    }
  }
  let s = '';
  for (const c of chunks)
    for (let i = 0; i < c.length; i += 0x8000)
      s += String.fromCharCode.apply(null, c.subarray(i, i + 0x8000));
  return {status: r.status, url: r.url, headers, body64: btoa(s)};
}"""

class PortalClient:
    """Async context manager; see the module docstring. ``storage_state`` is a dict, a
    path, or None for the session saved by ``caselog login`` for this portal."""

    def __init__(self, portal_url: str, *, storage_state: dict | str | Path | None = None,
                 cdp_url: str | None = None, headless: bool = True, concurrency: int = 8,
                 timezone: str = "UTC", on_request=None, transport: str = "request",
                 max_attempts: int = 6, max_throttled: int = 12, backoff_base: float = 0.25,
                 backoff_cap: float = 10.0, max_retry_after: float = 300.0,
                 request_timeout: float = 60.0):
        scheme, host, port = portal_origin(portal_url)
        self.origin = f"{scheme}://{host}:{port}"
        self.portal_url = portal_url
        self.storage_state = storage_state
        self.cdp_url, self.headless, self.timezone = cdp_url, headless, timezone
        self.on_request = on_request
        if transport not in ("request", "fetch"):
            raise ValueError("transport must be 'request' or 'fetch'")
        self.transport = transport
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
            state = self.storage_state
            if state is None:
                state = load_state(self.portal_url)
                if state is None:
                    raise SessionExpired(
                        f"no saved session for {self.origin}; run: caselog login --portal "
                        f"{self.portal_url}", url=self.origin)
            elif isinstance(state, (str, Path)):
                state = json.loads(Path(state).read_text())
            self._browser = await self._pw.chromium.launch(**launch_options(self.headless))
            self._context = await self._browser.new_context(storage_state=state,
                                                            timezone_id=self.timezone)
        # No page is opened yet: the first API call proves the session (401 ->
        # SessionExpired, captcha -> RobotCheck), and only calls made from a page (the
        # fetch transport, attachment downloads) open the lobby, once. Starting costs the
        # browser launch alone (measured: the lobby visit was 0.15-0.2 s of ~0.8 s).
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
        """The lobby, opened once, for calls made with the page's ``fetch``: it gives them
        the portal's origin (or raises SessionExpired / RobotCheck). The page stays inert:
        its scripts and their calls are blocked, so it costs no API call (request counts
        are measured) and nothing runs behind our back; only our own fetches (marked)
        pass, the mark removed."""
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

    async def _guard(self, route) -> None:
        request = route.request
        headers = await request.all_headers()
        if MARK in headers:
            del headers[MARK]
            await route.continue_(headers=headers)
        elif request.resource_type in ("script", "fetch", "xhr", "eventsource", "websocket"):
            await route.abort()
        else:
            await route.continue_()

    # ---- the portal's calls ---------------------------------------------------------

    async def search_cases(self, page: int, page_size: int = 50, creation_date_from=None,
                           search_text: str = "") -> Capture:
        """One page (from 0) of SearchForCases, newest first; body exactly as the portal's."""
        body = {"page": page, "searchPageSize": page_size, "sortBy": "CreationDate",
                "sortByOrder": "DESC", "getCountOnly": False,
                "caseFilters": {"caseOwner": "MerchantCases", "searchText": search_text,
                                "creationDateFrom": creation_date_from}}
        return await self._call("search", self.origin + API + "SearchForCases", method="POST",
                                json_body=body, params=body)

    async def view_case(self, case_id: str, page_size: int = 50,
                        page_token: str | None = None) -> Capture:
        query = {"caseId": case_id, "timeZone": self.timezone, "pageSize": page_size}
        if page_token:
            query["pageToken"] = page_token
        return await self._call("view_case", self.origin + API + "ViewCase?" + urlencode(query),
                                case_id=case_id, params=query)

    async def get_contact_message(self, case_id: str, contact_id: str) -> Capture:
        query = {"caseId": case_id, "contactId": contact_id}
        url = self.origin + API + "GetContactMessage?" + urlencode(query)
        return await self._call("contact_message", url, case_id=case_id, params=query)

    async def download_attachment(self, case_id: str, attachment_id: str,
                                  max_bytes: int) -> Capture:
        """The file's bytes in ``body``; ``AttachmentTooLarge`` past ``max_bytes``."""
        query = {"caseID": case_id, "attachmentId": attachment_id}
        url = self.origin + ATTACHMENT + "?" + urlencode(query)
        return await self._call("attachment", url, case_id=case_id, params=query,
                                stream_cap=max_bytes)

    async def case_page_html(self, case_id: str) -> Capture:
        """The rendered case page with every message loaded and expanded
        (``scrapers.casepage``); loaded again, with backoff, when it fails to render."""
        url = self.origin + CASE_PAGE + "?" + urlencode({"caseID": case_id})

        async def render(tab):
            return await render_thread(tab, timeout_ms=self.timeout_ms,
                                       retries=self.max_attempts, backoff=self._backoff)

        return await self._rendered("html", url, render, case_id=case_id,
                                    params={"caseID": case_id},
                                    what=f"case page {case_id}")

    async def lobby_html(self, page: int = 1, page_size: int = 50,
                         window: str = "all") -> Capture:
        """The rendered case lobby at ``?window=&page=&pageSize=`` (``page`` from 1, as in
        the lobby's URL), once it shows its cases: the list as a person sees it, for when
        SearchForCases' JSON can no longer be read. Loaded again, with backoff, when the
        page shows an error (``kind`` "lobby")."""
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
        for sign-in/robot pages (which raise at once), then retried with backoff, because
        the page's own API calls meet the same transient faults as ours."""
        attempt = 0
        while True:
            attempt += 1
            tab = await self._context.new_page()
            try:
                status = await self._goto(tab, url, kind, case_id=case_id)
                outcome = await render(tab)
                await self._check_page(tab, kind, case_id)
                if outcome != "ready":
                    raise PageFault(f"{what} went to {tab.url}")
                html = await tab.content()
                self.stats[kind] = self.stats.get(kind, 0) + 1
                if self.on_request:
                    self.on_request(kind)
                return Capture(kind, tab.url, status, html.encode(),
                               "text/html; charset=utf-8", _now_iso(), case_id, params)
            except (PlaywrightTimeout, PageFault) as exc:
                await self._check_page(tab, kind, case_id)
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
        attempt = throttled = 0
        while True:
            ticket = await self.limiter.acquire()
            self.stats["requests"] += 1
            try:
                response = await page.goto(url, wait_until="domcontentloaded",
                                           timeout=self.timeout_ms)
            except PlaywrightError as exc:
                await self.limiter.release("error", ticket)
                attempt += 1
                self._transient("network_errors", attempt, url, case_id, exc)
                await asyncio.sleep(self._backoff(attempt))
                continue
            except BaseException:
                self.limiter.abandon(ticket)
                raise
            status = response.status if response else 200
            await self.limiter.release("throttled" if status == 429 else "page", ticket)
            if status == 429:
                throttled += 1
                self.stats["429"] += 1
                self._transient(None, throttled, url, case_id, None, budget=self.max_throttled)
                await asyncio.sleep(self._retry_delay(throttled, response.headers))
                continue
            await self._check_page(page, kind, case_id)
            if status == 404:
                raise CaseNotFound(f"case {case_id} not found", url=url, status=404,
                                   case_id=case_id)
            if status >= 500:
                attempt += 1
                self.stats["5xx"] += 1
                self._transient(None, attempt, url, case_id, None, status=status)
                await asyncio.sleep(self._retry_delay(attempt, response.headers))
                continue
            if status == 403:
                raise Forbidden(f"403 for {url}", url=url, status=403, case_id=case_id)
            return status

    async def _check_page(self, page, kind: str, case_id: str | None) -> None:
        if SIGNIN in page.url:
            raise SessionExpired("the portal asks to sign in again; run caselog login",
                                 url=page.url, case_id=case_id)
        try:
            title = await page.title()
        except PlaywrightError:
            return
        if title.strip() == "Robot Check":
            raise RobotCheck("the portal shows a robot check; a person must pass it in "
                             "caselog login", url=page.url, case_id=case_id)

    async def _send(self, method: str, url: str, json_body, stream_cap) -> _Answer:
        if stream_cap is not None:
            r = await self._page.evaluate(_STREAM_JS, [url, stream_cap])
            if r.get("tooLarge") is not None:
                raise AttachmentTooLarge(
                    f"attachment is over the {stream_cap}-byte cap (at least {r['tooLarge']} "
                    "bytes); raise the cap to download it", url=url, status=r["status"])
            if r.get("location"):  # a page route redirects to sign-in without a session
                return _Answer(401, self.origin + SIGNIN, r["headers"], b"")
            return _Answer(r["status"], r["url"], r["headers"], base64.b64decode(r["body64"]))
        data = None if json_body is None else json.dumps(json_body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        headers["Accept"] = "application/json"
        if self.transport == "fetch":
            r = await self._page.evaluate(_FETCH_JS, [url, method, data, headers])
            return _Answer(r["status"], r["url"], r["headers"], base64.b64decode(r["body64"]))
        resp = await self._context.request.fetch(url, method=method, data=data, headers=headers,
                                                 fail_on_status_code=False,
                                                 timeout=self.timeout_ms)
        try:
            return _Answer(resp.status, resp.url, resp.headers, await resp.body())
        finally:
            await resp.dispose()

    async def _call(self, kind: str, url: str, *, method: str = "GET", json_body=None,
                    case_id: str | None = None, params: dict | None = None,
                    stream_cap: int | None = None) -> Capture:
        if stream_cap is not None or self.transport == "fetch":
            await self._origin_page()  # before taking a slot: opening it needs one
        attempt = throttled = 0
        while True:
            ticket = await self.limiter.acquire()
            self.stats["requests"] += 1
            try:
                ans = await self._send(method, url, json_body, stream_cap)
            except AttachmentTooLarge as exc:
                await self.limiter.release("ok", ticket)
                exc.case_id = case_id
                raise
            except PlaywrightError as exc:
                await self.limiter.release("error", ticket)
                attempt += 1
                self._transient("network_errors", attempt, url, case_id, exc)
                await asyncio.sleep(self._backoff(attempt))
                continue
            except BaseException:  # cancelled (Ctrl-C, SIGTERM, a sibling's failure)
                self.limiter.abandon(ticket)
                raise
            status = ans.status
            await self.limiter.release("throttled" if status == 429 else "ok", ticket)
            if status == 429:
                throttled += 1
                self.stats["429"] += 1
                self._transient(None, throttled, url, case_id, None, budget=self.max_throttled,
                                status=429, body=ans.body)
                await asyncio.sleep(self._retry_delay(throttled, ans.headers))
                continue
            self._raise_for(ans, url, case_id)
            if status >= 500:
                attempt += 1
                self.stats["5xx"] += 1
                self._transient(None, attempt, url, case_id, None, status=status, body=ans.body)
                await asyncio.sleep(self._retry_delay(attempt, ans.headers))
                continue
            self.stats[kind] = self.stats.get(kind, 0) + 1
            if self.on_request:
                self.on_request(kind)
            return Capture(kind, ans.url, status, ans.body, ans.headers.get("content-type", ""),
                           _now_iso(), case_id, dict(params or {}))

    def _raise_for(self, ans: _Answer, url: str, case_id: str | None) -> None:
        """Turn answers that must not be retried into exceptions."""
        status, ctype = ans.status, ans.headers.get("content-type", "")
        info = {"url": url, "status": status, "case_id": case_id, "body": ans.body}
        if status == 401 or SIGNIN in ans.url:
            raise SessionExpired("the portal session has expired; run caselog login", **info)
        if status == 503 and b"captcha" in ans.body[:200]:
            raise RobotCheck("the portal answered with a robot check (captcha); a person must "
                             "pass it in caselog login", **info)
        if ("html" in ctype and b"Robot Check" in ans.body[:4000]
                and "attachment" not in ans.headers.get("content-disposition", "")):
            raise RobotCheck("the portal shows a robot check; a person must pass it in "
                             "caselog login", **info)
        if status == 404:
            raise CaseNotFound(f"case {case_id} not found (404)", **info)
        if status == 403:
            raise Forbidden(f"403 forbidden: {url}", **info)
        if 400 <= status < 500:
            text = ans.body[:500].decode(errors="replace")
            raise BadRequest(f"{status} for {url}: {text}", **info)

    def _transient(self, counter, attempt, url, case_id, exc, *, budget=None, status=None,
                   body: bytes = b""):
        """Count a retryable failure; raise TransientExhausted once over budget, carrying
        the portal's last answer (``body``) so the failure keeps what the portal said."""
        if counter:
            self.stats[counter] += 1
        if attempt >= (budget or self.max_attempts):
            what = f"status {status}" if status else f"{exc}"
            raise TransientExhausted(f"gave up after {attempt} attempts ({what}): {url}",
                                     url=url, status=status, case_id=case_id, body=body)
        self.stats["retries"] += 1

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
