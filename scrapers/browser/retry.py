"""The one retry loop of the browser source, and how it judges an answer.

Every request, API call or page load, takes a slot from the client's limiter
(``scrapers.browser.pacing``) and its answer decides what happens next: retried (429,
5xx, a network error, a passing "unavailable"), raised (a situation the portal reports,
a 4xx, or a budget used up) or returned. Budgets: ``max_attempts`` for 5xx and network
errors, ``max_throttled`` for 429s, ``OUTAGE_ATTEMPTS`` for "unavailable" answers (an
outage that lasts is raised as ``Outage``, a blip that borrowed its words is retried).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
from datetime import UTC, datetime

from playwright.async_api import Error as PlaywrightError

from scrapers import markers
from scrapers.browser import transport
from scrapers.browser.pacing import AdaptiveLimiter
from scrapers.errors import (
    AttachmentTooLarge,
    BadRequest,
    CaseNotFound,
    Forbidden,
    Outage,
    TransientExhausted,
    Unreachable,
)

OUTAGE_ATTEMPTS = 3  # an "unavailable" answer this many times running is an outage
ATTACHMENT = "/cu/case-dashboard/attachment"


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


def raise_situation(body: bytes, url: str, case_id: str | None, status: int = 200,
                    content_type: str = "text/html", is_download: bool = False) -> None:
    """Raise the situation (sign-in, robot check, outage) an answer or page shows."""
    situation = markers.answer_situation(status, body, content_type, url, is_download)
    if situation is None:
        return
    what = {"SessionExpired": "the portal asks to sign in again",
            "RobotCheck": "the portal shows a robot check (captcha)",
            "Outage": "the portal says its case log is unavailable"}[situation.__name__]
    raise situation(f"{what} ({url})", url=url, status=status, case_id=case_id, body=body)


def raise_for_status(ans: transport.Answer, url: str, case_id: str | None) -> None:
    """Turn answers that must not be retried into exceptions."""
    status = ans.status
    info = {"url": url, "status": status, "case_id": case_id, "body": ans.body}
    if status == 404:
        raise CaseNotFound(f"case {case_id} not found (404)", **info)
    if status == 403:
        raise Forbidden(f"403 forbidden: {url}", **info)
    if 400 <= status < 500:
        raise BadRequest(f"{status} for {url}", **info)


class Retrying:
    """The request policy one client applies to everything it sends."""

    def __init__(self, concurrency: int, *, max_attempts: int, max_throttled: int,
                 backoff_base: float, backoff_cap: float, max_retry_after: float):
        self.limiter = AdaptiveLimiter(concurrency)
        self.max_attempts, self.max_throttled = max_attempts, max_throttled
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.max_retry_after = max_retry_after
        self.stats: dict[str, int] = {"requests": 0, "429": 0, "5xx": 0, "network_errors": 0,
                                      "retries": 0}

    async def send(self, url: str, case_id: str | None, send, *,
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
                await asyncio.sleep(self.backoff(attempt))
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
                await asyncio.sleep(self.retry_delay(throttled, ans.headers))
                continue
            try:
                raise_situation(ans.body, ans.url, case_id, status,
                                ans.headers.get("content-type", ""),
                                is_download=ATTACHMENT in url and not page_load)
            except Outage:
                outage += 1
                self.stats["5xx"] += status >= 500
                if outage >= OUTAGE_ATTEMPTS:
                    raise
                await asyncio.sleep(self.backoff(outage))
                continue
            raise_for_status(ans, url, case_id)
            if status >= 500:
                attempt += 1
                self.stats["5xx"] += 1
                self._budget(attempt, self.max_attempts, url, case_id, ans)
                await asyncio.sleep(self.retry_delay(attempt, ans.headers))
                continue
            return ans

    def _budget(self, attempt: int, budget: int, url: str, case_id: str | None,
                ans: transport.Answer) -> None:
        """Raise TransientExhausted once over budget, carrying the portal's last answer
        so the failure keeps what the portal said; else count a retry."""
        if attempt >= budget:
            raise TransientExhausted(
                f"gave up after {attempt} attempts (status {ans.status}): {url}", url=url,
                status=ans.status, case_id=case_id, body=ans.body)
        self.stats["retries"] += 1

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter (AWS architecture blog's recipe)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def retry_delay(self, attempt: int, headers: dict) -> float:
        told = retry_after_seconds(headers.get("retry-after"))
        if told is None:
            return self.backoff(attempt)
        # Never earlier than told; a little later so that retries spread out.
        return min(self.max_retry_after, told) + random.uniform(0, 0.1 + told * 0.1)
