"""How fast to ask: one limiter shared by every request of a PortalClient.

Two controls, because a throttled portal limits two different things:

- **Concurrency** (requests in flight), AIMD: starts at the configured maximum, halves on
  each 429 (never below 1) and grows by one after ``limit`` successes in a row.
- **Rate** (requests started per second): none until the first 429. When a portal that
  limits N requests per second answers 429, the requests it let through in the last
  second are about N, so each 429 yields a sample of the allowed rate (successes in the
  last second; over four seconds when the rate is small). Requests are then spaced at
  ``MARGIN`` x the median of the recent samples (the median shrugs off an opening burst)
  x ``shrink``. ``shrink`` drops 3% on a 429 (at most once a second) so that a portal
  stricter than its samples still stops answering 429, and grows 2% per 5 s without one
  while the pacer is what holds requests back, so a limit that rises is found again.

Measured on the bundled portal limited to 5 req/s (30 ms latency): see the Capture client
section of docs/DESIGN.md.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque

MARGIN = 0.98  # pace this far under the estimated limit: arrival jitter needs room
MIN_RATE = 0.2  # req/s: never slower than this, whatever the portal did
HISTORY = 8.0  # seconds of successes kept for sampling
SHRINK = 0.98  # on a 429 while paced, if over TOLERATED of recent answers were 429s
TOLERATED = 0.05
GROW = 1.01  # per GROW_EVERY seconds without a 429 while the pacer holds requests back
GROW_EVERY = 3.0


class AdaptiveLimiter:
    def __init__(self, concurrency: int = 8, clock=time.monotonic):
        self.maximum = max(1, int(concurrency))
        self.limit = self.maximum
        self.rate: float | None = None  # req/s; None = unpaced
        self.in_flight = 0
        self.samples: deque[float] = deque(maxlen=7)
        self.shrink = 1.0
        self._clock = clock
        self._cond = asyncio.Condition()
        self._next_slot = 0.0
        self._streak = 0
        self._ok_times: deque[float] = deque()
        self._last_sample = self._last_shrink = float("-inf")
        self._last_429 = float("-inf")
        self._estimate = None
        self._recent: deque[bool] = deque(maxlen=40)  # was the answer a 429?
        self._pacing_bound_at = float("-inf")

    async def acquire(self) -> None:
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
                # Pacing delay, the point of a rate limiter; not a synchronisation sleep.
                await asyncio.sleep(slot - now)

    async def release(self, outcome: str) -> None:
        """outcome: "ok" (any API answer but 429), "page" (a page load: its many
        sub-requests make its timing useless for sampling), "throttled" (429) or "error"
        (no answer)."""
        now = self._clock()
        async with self._cond:
            self.in_flight -= 1
            if outcome in ("ok", "throttled"):
                self._recent.append(outcome == "throttled")
            if outcome in ("ok", "page"):
                if outcome == "ok":
                    self._ok_times.append(now)
                self._streak += 1
                if self._streak >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self._streak = 0
                self._grow(now)
            elif outcome == "throttled":
                self._streak = 0
                self.limit = max(1, self.limit // 2)
                self._throttled(now)
            self._cond.notify_all()

    def sample(self, now: float | None = None) -> float:
        """Successes per second just before now: over the last second, or the last four
        when fewer than three came in one second (slow limits need a longer look)."""
        now = self._clock() if now is None else now
        while self._ok_times and self._ok_times[0] < now - HISTORY:
            self._ok_times.popleft()
        last_second = sum(1 for t in self._ok_times if t > now - 1.0)
        if last_second >= 3:
            return float(last_second)
        return sum(1 for t in self._ok_times if t > now - 4.0) / 4.0

    def _throttled(self, now: float) -> None:
        if now - self._last_sample >= 0.5:
            self._last_sample = now
            value = self.sample(now)
            if value > 0:
                self.samples.append(value)
        self._last_429 = now
        previous = self._estimate
        self._set_rate()
        # Throttled often at an estimate we already paced by: arrival jitter (or a
        # portal stricter than its samples) needs more room. Rare 429s are cheaper than
        # the throughput a wider margin would cost: they are retried, not lost.
        share = sum(self._recent) / max(1, len(self._recent))
        if (previous == self._estimate and share > TOLERATED
                and now - self._last_shrink >= 1.0):
            self._last_shrink = now
            self.shrink = min(self.shrink, 1.0) * SHRINK
            self._set_rate()

    def _set_rate(self) -> None:
        if self.samples:
            estimate = statistics.median(self.samples)
        else:
            estimate = (self.rate or 2.0) / 2
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
