"""Capture from the Selling Partner API for Support (2025-02-01): raw answers, nothing
parsed, paced to Amazon's usage plan from the first call.

``SpapiClient`` signs in with Login with Amazon (``scrapers.spapi.lwa``), calls the three
Support operations through Amazon's own SDK (``scrapers.spapi.transport`` says what was
checked in it and what is worked around), and returns each answer as a ``Capture``: the
exact bytes plus where and when they came from, for the archive and then the parsers
(``scrapers.spapi.parse``). Attachments come from their ``downloadUrl`` without any token.

Faults: every request waits for its operation's token (``scrapers.spapi.plan``); a 429
empties that bucket and is retried after a backoff (never sooner than ``Retry-After``);
5xx and network errors are retried a bounded number of times; a 403 about the token drops
it, fetches a new one and retries once. Nothing the client shows (captures, exception
messages, log lines, ``stats``) ever holds a token, the refresh token, the client secret
or a header we sent.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from scrapers.spapi.capture import Capture, now_iso
from scrapers.spapi.errors import (
    AttachmentTooLarge,
    BadRequest,
    DownloadExpired,
    Forbidden,
    NotFound,
    SpapiError,
    TokenRejected,
    TransientExhausted,
)
from scrapers.spapi.lwa import (
    LWA_TOKEN_URL,
    LwaAuth,
    LwaCredentials,
    NetworkFailure,
    Redactor,
    check_url,
    resolve_endpoint,
)
from scrapers.spapi.parse import api_errors
from scrapers.spapi.plan import (
    DEFAULT_BURST,
    DEFAULT_RATE,
    GET_CASE,
    LIST_CASES,
    LIST_CONTACTS,
    OPERATIONS,
    Backoff,
    UsagePlan,
    retry_after_seconds,
)
from scrapers.spapi.transport import Answer, Transport

log = logging.getLogger(__name__)

BASE = "/support/2025-02-01"
EXPIRED_LINK = (400, 401, 403, 404, 410)  # a presigned link that no longer serves the file
TOKEN_WORDS = ("token", "expired", "signature")


def _stats() -> dict:
    per_op = {"requests": 0, "ok": 0, "429": 0, "retries": 0}
    return {"requests": 0, "429": 0, "5xx": 0, "network_errors": 0, "retries": 0,
            "token_refreshes": 0, "downloads": 0,
            "operations": {op: dict(per_op) for op in OPERATIONS}}


@dataclass
class _Tries:
    """Budgets spent by one call."""

    failures: int = 0  # 5xx and network errors
    throttled: int = 0  # 429s
    refreshed: bool = False


class SpapiClient:
    """Usage::

        creds = LwaCredentials(client_id, client_secret, refresh_token)
        async with SpapiClient(creds, endpoint="eu") as client:
            cap = await client.list_cases()            # then next_token=... until None
            cap = await client.list_contacts(case_id)
            cap = await client.download(url, max_bytes)

    ``endpoint``: ``na`` / ``eu`` / ``fe`` or a URL (the simulation); ``rate``/``burst``:
    the usage plan each operation starts with. ``clock``, ``sleep`` and ``rng`` are for
    tests (a fake clock drives pacing and backoff without real waiting).
    """

    def __init__(self, credentials: LwaCredentials, *, endpoint: str = "na",
                 token_endpoint: str = LWA_TOKEN_URL, rate: float = DEFAULT_RATE,
                 burst: int = DEFAULT_BURST, max_attempts: int = 6, max_throttled: int = 12,
                 backoff_base: float = 1.0, backoff_cap: float = 60.0, timeout: float = 60.0,
                 workers: int = 4, clock=time.monotonic, sleep=asyncio.sleep,
                 rng: random.Random | None = None):
        if not isinstance(credentials, LwaCredentials):
            raise TypeError("credentials: an LwaCredentials")
        self.endpoint = resolve_endpoint(endpoint)
        self.max_attempts, self.max_throttled = max(1, max_attempts), max(1, max_throttled)
        self.plan = UsagePlan(rate, burst, clock=clock, sleep=sleep)
        self.backoff = Backoff(backoff_base, backoff_cap, sleep=sleep, rng=rng)
        self._redact = Redactor(credentials.client_secret, credentials.refresh_token)
        self._transport = Transport(self.endpoint, timeout=timeout, workers=workers)
        self.auth = LwaAuth(credentials, self._post_form, token_endpoint=token_endpoint,
                            redactor=self._redact, backoff=self.backoff,
                            max_attempts=max_attempts, clock=clock)
        self._stats = _stats()

    def __repr__(self) -> str:
        return f"SpapiClient(endpoint={self.endpoint!r})"

    async def __aenter__(self) -> SpapiClient:
        self._transport.prepare()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._transport.close()

    @property
    def stats(self) -> dict:
        """Counts so far: ``requests`` (attempts, all operations), ``429``, ``5xx``,
        ``network_errors``, ``retries``, ``token_requests``, ``token_refreshes`` (after a
        403), ``downloads``, ``paced_seconds``, ``backoff_seconds`` and per operation
        ``{"requests", "ok", "429", "retries"}``."""
        out = copy.deepcopy(self._stats)
        out["token_requests"] = self.auth.requests
        out["paced_seconds"] = round(self.plan.waited, 3)
        out["backoff_seconds"] = round(self.backoff.waited, 3)
        return out

    def estimate_seconds(self, requests_by_operation: dict[str, int], *,
                         sequential: bool = False) -> float:
        """Seconds the usage plan needs at least for ``{"listContacts": 300, ...}``
        (see ``UsagePlan.estimate_seconds``)."""
        return self.plan.estimate_seconds(requests_by_operation, sequential=sequential)

    def describe_estimate(self, requests_by_operation: dict[str, int]) -> str:
        return self.plan.describe_estimate(requests_by_operation)

    # -- the operations --------------------------------------------------------------

    async def list_cases(self, next_token: str | None = None, max_results: int = 50,
                         sort_order: str = "DESC") -> Capture:
        """listCases: one page, newest first by default. A page may be empty while
        ``nextToken`` is still given: call on until the answer has none."""
        body = {"maxResults": _max_results(max_results), "sortOrder": _sort(sort_order)}
        if next_token is not None:
            body["nextToken"] = _token(next_token)
        return await self._call(LIST_CASES, "list_cases", self.endpoint + BASE + "/cases",
                                case_id=None, params=dict(body), sdk={"body": body})

    async def get_case(self, case_id: str) -> Capture:
        case_id = _case_id(case_id)
        url = f"{self.endpoint}{BASE}/cases/{quote(case_id, safe='')}"
        return await self._call(GET_CASE, "get_case", url, case_id=case_id,
                                params={"caseId": case_id}, sdk={"case_id": case_id})

    async def list_contacts(self, case_id: str, next_token: str | None = None,
                            max_results: int = 50, sort_order: str = "DESC") -> Capture:
        """listContacts: one page of a case's contacts, newest first by default."""
        case_id = _case_id(case_id)
        query = {"maxResults": _max_results(max_results), "sortOrder": _sort(sort_order)}
        sdk = {"case_id": case_id, "max_results": query["maxResults"],
               "sort_order": query["sortOrder"]}
        if next_token is not None:
            query["nextToken"] = sdk["next_token"] = _token(next_token)
        url = (f"{self.endpoint}{BASE}/cases/{quote(case_id, safe='')}/contacts?"
               + urlencode(query))
        return await self._call(LIST_CONTACTS, "list_contacts", url, case_id=case_id,
                                params={"caseId": case_id, **query}, sdk=sdk)

    async def download(self, url: str, max_bytes: int, *, case_id: str | None = None
                       ) -> Capture:
        """An attachment's bytes from its ``downloadUrl`` (no token is sent there).
        ``AttachmentTooLarge`` past ``max_bytes`` (nothing beyond it is read);
        ``DownloadExpired`` when the link no longer serves the file."""
        check_url(url, what="download URL")
        if not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError("max_bytes: an int >= 0")
        shown = urlsplit(url)._replace(query="", fragment="").geturl()
        tries = _Tries()
        while True:
            self._stats["downloads"] += 1
            try:
                answer = await self._transport.run(self._transport.get_capped, url, max_bytes)
            except NetworkFailure as exc:
                await self._failed("download", tries, None, f"no answer ({exc})", shown,
                                   case_id, network=True)
                continue
            if 200 <= answer.status < 300:
                return self._attachment(answer, shown, case_id, max_bytes)
            if answer.status in EXPIRED_LINK:
                raise DownloadExpired(
                    f"attachment {shown}: HTTP {answer.status}: the link no longer serves "
                    "the file (links expire 15 minutes after the listContacts answer that "
                    "gave them); list the case's contacts again for a fresh one",
                    operation="download", url=shown, status=answer.status, case_id=case_id,
                    body=self._redact.bytes(answer.body[:4096]))
            if answer.status != 429 and answer.status < 500:
                raise BadRequest(f"attachment {shown}: HTTP {answer.status}",
                                 operation="download", url=shown, status=answer.status,
                                 case_id=case_id, body=self._redact.bytes(answer.body[:4096]))
            await self._failed("download", tries, answer, f"HTTP {answer.status}", shown,
                               case_id, throttled=answer.status == 429)

    def _attachment(self, answer: Answer, shown: str, case_id, max_bytes: int) -> Capture:
        if answer.truncated:
            raise AttachmentTooLarge(
                f"attachment {shown}: larger than the cap of {max_bytes} bytes",
                operation="download", url=shown, status=answer.status, case_id=case_id)
        return Capture("attachment", shown, answer.status, self._redact.bytes(answer.body),
                       answer.headers.get("content-type", ""), now_iso(), case_id,
                       {"max_bytes": max_bytes})

    # -- one call, with pacing, token refresh and retries ---------------------------

    async def _call(self, operation: str, kind: str, url: str, *, case_id, params: dict,
                    sdk: dict) -> Capture:
        self._transport.prepare()
        counts = self._stats["operations"][operation]
        tries = _Tries()
        while True:
            await self.plan.acquire(operation)
            token = await self.auth.token()
            self._stats["requests"] += 1
            counts["requests"] += 1
            try:
                answer = await self._transport.run(self._transport.support_call, operation,
                                                   token, **sdk)
            except NetworkFailure as exc:
                await self._failed(operation, tries, None, f"no answer ({exc})", url, case_id,
                                   network=True)
                continue
            self.plan.observe(operation, answer.headers.get("x-amzn-ratelimit-limit"))
            log.debug("%s%s -> HTTP %s (request id %s)", operation, _about(case_id),
                      answer.status, answer.headers.get("x-amzn-requestid", "-"))
            if 200 <= answer.status < 300:
                counts["ok"] += 1
                return Capture(kind, url, answer.status, self._redact.bytes(answer.body),
                               answer.headers.get("content-type", ""), now_iso(), case_id,
                               params, answer.headers.get("x-amzn-requestid"),
                               answer.headers.get("x-amzn-ratelimit-limit"))
            if answer.status == 403 and self._refresh(operation, answer, token, tries):
                continue
            if answer.status == 429 or answer.status >= 500:
                if answer.status == 429:
                    self.plan.throttled(operation)
                await self._failed(operation, tries, answer, f"HTTP {answer.status}", url,
                                   case_id, throttled=answer.status == 429)
                continue
            raise self._refused(operation, answer, url, case_id, tries)

    def _refresh(self, operation: str, answer: Answer, token: str, tries: _Tries) -> bool:
        """A 403 about the token, the first in this call: drop the token (the next
        attempt fetches a new one) and retry once."""
        if tries.refreshed or not _about_token(answer.body):
            return False
        tries.refreshed = True
        self.auth.invalidate(token)
        self._stats["token_refreshes"] += 1
        self._count_retry(operation)
        log.info("%s: access token refused (403); fetching a new one", operation)
        return True

    async def _failed(self, operation: str, tries: _Tries, answer: Answer | None, what: str,
                      url: str, case_id, *, throttled: bool = False, network: bool = False):
        """Count a 429/5xx/network failure, raise past the budget, else back off."""
        if throttled:
            self._stats["429"] += 1
            tries.throttled += 1
            attempt, budget = tries.throttled, self.max_throttled
        else:
            self._stats["network_errors" if network else "5xx"] += 1
            tries.failures += 1
            attempt, budget = tries.failures, self.max_attempts
        if operation in self._stats["operations"] and throttled:
            self._stats["operations"][operation]["429"] += 1
        if attempt >= budget:
            body = self._redact.bytes(answer.body[:4096]) if answer else b""
            raise TransientExhausted(
                f"{operation}{_about(case_id)}: {what}, {attempt} times; giving up",
                operation=operation, url=url, status=answer.status if answer else None,
                case_id=case_id, body=body, **_error_fields(answer))
        retry_after = retry_after_seconds(answer.headers.get("retry-after")) if answer else None
        delay = self.backoff.delay(attempt, retry_after)
        log.info("%s%s: %s; retry %d in %.1f s", operation, _about(case_id), what, attempt,
                 delay)
        self._count_retry(operation)
        await self.backoff.sleep(delay)

    def _count_retry(self, operation: str) -> None:
        self._stats["retries"] += 1
        if operation in self._stats["operations"]:
            self._stats["operations"][operation]["retries"] += 1

    def _refused(self, operation: str, answer: Answer, url: str, case_id,
                 tries: _Tries) -> SpapiError:
        fields = _error_fields(answer)
        errors = api_errors(answer.body)
        said = "; ".join(f"{e['code']}: {e['message']}" for e in errors[:3]) or "no details"
        status = answer.status
        if status == 403 and tries.refreshed and _about_token(answer.body):
            cls, meaning = TokenRejected, "a freshly issued access token was refused too"
        elif status == 403:
            cls, meaning = Forbidden, "access denied"
        elif status == 404:
            cls, meaning = NotFound, "not found"
        else:
            cls, meaning = BadRequest, "the request was refused"
        rid = fields["request_id"]
        message = self._redact.text(
            f"{operation}{_about(case_id)}: HTTP {status}, {meaning} ({said})"
            + (f" [request id {rid}]" if rid else ""))
        return cls(message, operation=operation, url=url, status=status, case_id=case_id,
                   body=self._redact.bytes(answer.body), **fields)

    async def _post_form(self, url: str, form: dict):
        return await self._transport.run(self._transport.post_form, url, form)


def _error_fields(answer: Answer | None) -> dict:
    if answer is None:
        return {"code": None, "request_id": None}
    errors = api_errors(answer.body)
    return {"code": errors[0]["code"] if errors else None,
            "request_id": answer.headers.get("x-amzn-requestid")}


def _about_token(body: bytes) -> bool:
    """Does a 403 blame the token (expired, invalid, bad signature)? An answer with no
    readable error list is taken to, since refreshing once costs little."""
    errors = api_errors(body)
    if not errors:
        return True
    said = " ".join(f"{e['code']} {e['message']} {e['details']}" for e in errors).casefold()
    return any(word in said for word in TOKEN_WORDS)


def _about(case_id) -> str:
    return f" case {case_id}" if case_id else ""


def _max_results(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
        raise ValueError("max_results: an int from 1 to 50 (the model's bounds)")
    return value


def _sort(value) -> str:
    if value not in ("ASC", "DESC"):
        raise ValueError("sort_order: ASC or DESC")
    return value


def _case_id(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("case_id: a non-empty string")
    return value


def _token(value) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("next_token: the string a previous page gave, or None")
    return value
