"""Pacing to Amazon's usage plan: one token bucket per operation, from the first call.

The Support API's plan is 0.1 requests a second with a burst of 10 (the model's
listCases figure; the bundled simulation applies it to each operation, each with its own
bucket), so a client that sends first and learns from 429s would spend most of a long
sync being refused. Instead every request takes a token from its operation's bucket:
while the bucket has one, the request goes at once (no sleep at all); when it is empty,
the request waits exactly until the next token is due. An answer's
``x-amzn-RateLimit-Limit`` header replaces the bucket's rate. A 429 empties the bucket
(Amazon's own is empty, whatever ours thought) and the caller backs off
(``Backoff``: exponential with jitter, never sooner than ``Retry-After``).

Time comes from an injected ``clock`` and waiting from an injected ``sleep`` coroutine,
so the tests drive both with a fake clock and never wait for real.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

LIST_CASES, GET_CASE, LIST_CONTACTS = "listCases", "getCase", "listContacts"
OPERATIONS = (LIST_CASES, GET_CASE, LIST_CONTACTS)
DEFAULT_RATE = 0.1  # requests a second (model)
DEFAULT_BURST = 10
MAX_RATE = 10_000.0  # a header claiming more is not believed
RETRY_AFTER_CAP = 300.0  # seconds: a longer Retry-After is waited out in several rounds
WAIT_SLICE = 1.0  # seconds a waiting request sleeps before asking its bucket again

Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; starts full. Callers take a token when
    one is there (``available``, then ``take``) and otherwise wait and ask again."""

    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST,
                 clock: Callable[[], float] = time.monotonic):
        if not rate > 0 or burst < 1:
            raise ValueError("a usage plan needs rate > 0 and burst >= 1")
        self.rate, self.burst, self._clock = float(rate), int(burst), clock
        self._tokens = float(burst)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._at = now

    def available(self) -> float:
        """Tokens now (fractions count: 0.5 means half a token earned so far)."""
        self._refill()
        return self._tokens

    def take(self) -> None:
        """Take a token that ``available`` said is there."""
        self._tokens -= 1.0

    def drain(self) -> None:
        """Amazon answered 429: whatever we counted, its bucket is empty now."""
        self._refill()
        self._tokens = min(self._tokens, 0.0)

    def set_rate(self, rate: float) -> None:
        self._refill()  # tokens earned so far at the old rate
        self.rate = float(rate)


def parse_rate_header(value: str | None) -> float | None:
    """``x-amzn-RateLimit-Limit`` (requests a second, e.g. ``0.1``) or None if unusable."""
    if not value:
        return None
    try:
        rate = float(value.strip())
    except ValueError:
        return None
    return rate if math.isfinite(rate) and 0 < rate <= MAX_RATE else None


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class UsagePlan:
    """The buckets of one client, one per operation, and what pacing has cost so far."""

    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep,
                 operations: tuple[str, ...] = OPERATIONS):
        self.buckets = {op: TokenBucket(rate, burst, clock) for op in operations}
        self._heard: set[str] = set()  # operations whose own answers gave their rate
        self._sleep = sleep
        self.waited = 0.0  # seconds spent waiting for tokens, all operations

    def bucket(self, operation: str) -> TokenBucket:
        try:
            return self.buckets[operation]
        except KeyError:
            raise ValueError(f"unknown operation {operation!r}; known: "
                             f"{', '.join(self.buckets)}") from None

    async def acquire(self, operation: str) -> float:
        """Wait for this operation's next token; returns the seconds waited. Never
        sleeps when a token is there. A wait is slept in slices of at most
        ``WAIT_SLICE`` seconds, the bucket asked again after each: the first answers
        often raise the rate (``x-amzn-RateLimit-Limit``), and a request queued at the
        default 0.1 a second must not sleep on for ten seconds after that."""
        bucket = self.bucket(operation)
        waited = 0.0
        while True:
            tokens = bucket.available()
            if tokens >= 1.0 - 1e-9:  # slices summing to a token may fall short by a hair
                bucket.take()
                self.waited += waited
                return waited
            delay = min(WAIT_SLICE, (1.0 - tokens) / bucket.rate)
            # Pacing delay, the point of the plan; not a synchronisation sleep.
            await self._sleep(delay)
            waited += delay

    def observe(self, operation: str, rate_header: str | None) -> None:
        """An answer's ``x-amzn-RateLimit-Limit`` sets its operation's rate, and stands
        for the operations not heard from yet (a plan is usually one rate throughout)."""
        rate = parse_rate_header(rate_header)
        if rate is None:
            return
        self._heard.add(operation)
        for op, bucket in self.buckets.items():
            if (op == operation or op not in self._heard) and bucket.rate != rate:
                bucket.set_rate(rate)

    def throttled(self, operation: str) -> None:
        self.bucket(operation).drain()

    def estimate_seconds(self, requests_by_operation: Mapping[str, int], *,
                         sequential: bool = False) -> float:
        """Seconds the plan needs at least for these requests, from now.

        Each operation's requests beyond the tokens its bucket holds now go at its rate.
        The buckets drain side by side (each operation has its own), so for a caller
        that keeps every operation busy the slowest one decides; ``sequential=True``
        adds them up instead, for a caller that runs one operation's requests after
        another's. Answers' latency and any 429s come on top.
        """
        longest = total = 0.0
        for operation, count in requests_by_operation.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ValueError(f"{operation}: a request count must be an int >= 0")
            bucket = self.bucket(operation)
            # The last of `count` reservations is due when the bucket has earned
            # `count - available` more tokens (available < 0: others queued ahead).
            needed = max(0.0, count - bucket.available()) / bucket.rate
            longest, total = max(longest, needed), total + needed
        return total if sequential else longest

    def describe_estimate(self, requests_by_operation: Mapping[str, int]) -> str:
        """``"312 requests: about 50 minutes at Amazon's 0.1 requests a second"``."""
        total = sum(requests_by_operation.values())
        seconds = self.estimate_seconds(requests_by_operation)
        rates = {self.bucket(op).rate for op in requests_by_operation} or {DEFAULT_RATE}
        pace = (f"{_number(rates.pop())} requests a second" if len(rates) == 1
                else "its usage plan")
        noun = "request" if total == 1 else "requests"
        return f"{total} {noun}: {_duration(seconds)} at Amazon's {pace}"


def _number(value: float) -> str:
    return f"{value:g}"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {round(seconds)} seconds"
    minutes = seconds / 60
    if minutes < 90:
        step = 5 if minutes >= 20 else 1
        return f"about {max(1, round(minutes / step) * step)} minutes"
    return f"about {_number(round(minutes / 60 * 2) / 2)} hours"


class Backoff:
    """Delays between retries: ``base * 2**(n-1)`` capped at ``cap``, jittered to between
    half and all of it (so concurrent callers do not retry in step), and never shorter
    than a given ``Retry-After`` (itself capped at ``RETRY_AFTER_CAP``)."""

    def __init__(self, base: float = 1.0, cap: float = 60.0, *, sleep: Sleep = asyncio.sleep,
                 rng: random.Random | None = None):
        self.base, self.cap, self._sleep = base, cap, sleep
        self._rng = rng or random.Random()
        self.waited = 0.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        step = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        delay = step * self._rng.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
        return delay

    async def wait(self, attempt: int, retry_after: float | None = None) -> float:
        delay = self.delay(attempt, retry_after)
        await self.sleep(delay)
        return delay

    async def sleep(self, delay: float) -> None:
        self.waited += delay
        await self._sleep(delay)  # backoff before a retry, not a synchronisation sleep
