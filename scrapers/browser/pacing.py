"""How fast to ask: one limiter shared by every request of a PortalClient.

Two controls, because a throttled portal limits two different things:

- **Concurrency** (requests in flight), AIMD: starts at the configured maximum, halves on
  each 429 (never below 1) and grows by one after ``limit`` successes in a row.
- **Rate** (requests started per second): none until the first 429. A 429 means the
  portal had already admitted its limit N in the second before, so the number of
  requests *sent* in the second before the throttled one that then succeeded is a sample
  of N (counted once all of them have answered; over four seconds when N is small).
  Send times, not answer times: answers of admitted requests arrive later than 429s.
  A 429 that arrival jitter caused while paced just under N yields a sample a little
  under N, a lucky window one a little over, so the estimate is the second highest of
  the last ten samples. Requests are spaced at ``MARGIN`` x estimate x
  ``shrink``; ``shrink`` drops 2% on a 429 (at most once a second) when more than
  ``TOLERATED`` of recent answers were 429s, so a portal stricter than its samples still
  stops answering 429, and grows 1% per 4 s without one while the pacer holds requests
  back, so a limit that rises is found again. Until the first sample is counted, the
  rate is the successes answered in the last second.

Measured on the bundled portal limited to 5 req/s (30 ms latency): see the Capture client
section of docs/DESIGN.md (``benchmarks/bench_capture.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

MARGIN = 0.98  # pace this far under the estimated limit: arrival jitter needs room
MIN_RATE = 0.2  # req/s: never slower than this, whatever the portal did
HISTORY = 8.0  # seconds of sent requests kept for sampling
SAMPLES = 10  # the last this many samples of the allowed rate make the estimate
SAME_BURST = 0.05  # requests sent this close together may reach the portal in any order
SHRINK = 0.98  # on a 429 while paced, if over TOLERATED of recent answers were 429s
TOLERATED = 0.10
GROW = 1.01  # per GROW_EVERY seconds without a 429 while the pacer holds requests back
GROW_EVERY = 4.0


ADMITTED = ("ok", "page")  # a page load is one request the portal admitted too


class Ticket:
    """One request as the limiter sees it: when it was sent and how it ended."""

    __slots__ = ("sent", "outcome")

    def __init__(self, sent: float):
        self.sent, self.outcome = sent, None  # None while in flight


class AdaptiveLimiter:
    def __init__(self, concurrency: int = 8, clock=time.monotonic):
        self.maximum = max(1, int(concurrency))
        self.limit = self.maximum
        self.rate: float | None = None  # req/s; None = unpaced
        self.in_flight = 0
        self.samples: deque[float] = deque(maxlen=SAMPLES)  # req/s
        self.shrink = 1.0
        self._clock = clock
        self._cond = asyncio.Condition()
        self._next_slot = 0.0
        self._streak = 0
        self._sent: deque[Ticket] = deque()
        self._pending: list[float] = []  # send times of 429s whose sample is not counted yet
        self._last_shrink = self._last_429 = float("-inf")
        self._estimate: float | None = None
        self._recent: deque[bool] = deque(maxlen=40)  # was the answer a 429?
        self._pacing_bound_at = float("-inf")

    async def acquire(self) -> Ticket:
        """Wait for a concurrency slot, then for this request's turn under the rate."""
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        if self.rate:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.rate
            if slot > now:
                self._pacing_bound_at = now
                try:
                    # Pacing delay, the point of a rate limiter; not a synchronisation sleep.
                    await asyncio.sleep(slot - now)
                except asyncio.CancelledError:
                    self.abandon()
                    raise
        ticket = Ticket(self._clock())
        self._sent.append(ticket)
        return ticket

    def abandon(self, ticket: Ticket | None = None) -> None:
        """Give the slot back without an answer, from code that cannot await (a request
        cancelled while it waited or ran): nothing is learnt from it."""
        if ticket is not None:
            ticket.outcome = "error"
        self.in_flight -= 1

        async def wake():
            async with self._cond:
                self._cond.notify_all()

        asyncio.get_running_loop().create_task(wake())

    async def release(self, outcome: str, ticket: Ticket | None = None) -> None:
        """outcome: "ok" (any API answer but 429), "page" (a page loaded: admitted, but
        its scripts' own calls are not ours to count), "throttled" (429) or "error" (no
        answer)."""
        now = self._clock()
        if ticket is not None:
            ticket.outcome = outcome
        async with self._cond:
            self.in_flight -= 1
            if outcome in ("ok", "throttled"):
                self._recent.append(outcome == "throttled")
            if outcome in ("ok", "page"):
                self._streak += 1
                if self._streak >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self._streak = 0
                self._grow(now)
            elif outcome == "throttled":
                self._streak = 0
                self.limit = max(1, self.limit // 2)
                self._throttled(now, ticket.sent if ticket else now)
            self._count_samples(now)
            self._cond.notify_all()

    def _throttled(self, now: float, sent: float) -> None:
        self._last_429 = now
        if len(self._pending) < 20:
            self._pending.append(sent)
        if self.rate is None:
            answered = sum(1 for t in self._sent if t.outcome in ADMITTED and t.sent > now - 1.0)
            self.rate = max(MIN_RATE, float(answered) or 1.0)
            return
        # Throttled often while paced: arrival jitter (or a portal stricter than its
        # samples) needs more room. Rare 429s cost less than the throughput a wider
        # margin would: they are retried, not lost.
        share = sum(self._recent) / max(1, len(self._recent))
        if share > TOLERATED and now - self._last_shrink >= 1.0:
            self._last_shrink = now
            self.shrink = min(self.shrink, 1.0) * SHRINK
            self._set_rate()

    def _count_samples(self, now: float) -> None:
        while self._sent and self._sent[0].sent < now - HISTORY and self._sent[0].outcome:
            self._sent.popleft()
        counted = False
        while self._pending:
            at = self._pending[0]
            until = at + SAME_BURST
            if any(t.outcome is None and t.sent <= until for t in self._sent):
                break  # requests sent before the 429 are still out: their fate counts
            self._pending.pop(0)
            ok = [t.sent for t in self._sent if t.outcome in ADMITTED and t.sent <= until]
            value = float(sum(1 for t in ok if t > at - 1.0))
            if value < 3:
                value = sum(1 for t in ok if t > at - 4.0) / 4.0
            if value > 0:
                self.samples.append(value)
                counted = True
                if self._estimate is not None and value <= self._estimate:
                    self.shrink = min(self.shrink, 1.0)  # probed above it: it still holds
        if counted:
            self._set_rate()

    def _set_rate(self) -> None:
        values = sorted(self.samples)
        if values:
            estimate = values[-2] if len(values) > 1 else values[0]
        elif self._estimate is not None:
            estimate = self._estimate
        else:
            return  # nothing counted yet: keep the provisional rate
        if estimate != self._estimate:
            self._estimate, self.shrink = estimate, 1.0  # a new estimate, a fresh start
        self.rate = max(MIN_RATE, MARGIN * estimate * self.shrink)

    def _grow(self, now: float) -> None:
        if self.rate is None:
            return
        quiet = now - max(self._last_429, self._last_shrink)
        # Only while requests wait on the pacer: an idle client would otherwise grow a
        # rate it never tested, then burst into the limit.
        if quiet >= GROW_EVERY and now - self._pacing_bound_at < 1.0:
            self.shrink *= GROW
            self._last_shrink = now
            self._set_rate()
