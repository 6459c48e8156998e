"""How fast to ask: one limiter shared by every request of a PortalClient.

Two controls, because a throttled portal limits two different things:

- **Concurrency** (requests in flight), AIMD: starts at the configured maximum, halves on
  each 429 (never below 1) and grows by one after ``limit`` successes in a row.
- **Rate** (requests started per second): none until the first 429. A portal that
  throttles lets through about its limit, so the successes counted in the last one or two
  seconds estimate it; requests are then spaced at ``BACKOFF`` of that estimate. While the
  pacer is what holds requests back, the rate grows ``PROBE`` per second (the limit may
  be higher than estimated, or may rise); the next 429 sets it again from the measured
  successes. A burst of 429s caused by one overshoot lowers the rate once (at most one
  decrease per second).

With a portal limited to N req/s this settles on a saw-tooth between ~0.92 N and N
(about 0.96 N on average) with one 429 every few seconds, each of which is retried, so
nothing is lost. Weakness, on purpose: 429s that have nothing to do with rate (random
faults) also lower the rate; the probe wins it back while they stay rare.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

BACKOFF = 0.92  # fraction of the measured allowed rate to pace at after a 429
PROBE = 0.03  # relative rate increase per second while pacing binds
MIN_RATE = 0.2  # req/s: never slower than this, whatever the portal did
WINDOW = 2.0  # seconds of successes used to measure the allowed rate


class AdaptiveLimiter:
    def __init__(self, concurrency: int = 8, clock=time.monotonic):
        self.maximum = max(1, int(concurrency))
        self.limit = self.maximum
        self.rate: float | None = None  # req/s; None = unpaced
        self.in_flight = 0
        self._clock = clock
        self._cond = asyncio.Condition()
        self._next_slot = 0.0
        self._streak = 0
        self._ok_times: deque[float] = deque()
        self._first = None
        self._last_decrease = float("-inf")
        self._last_probe = None
        self._pacing_bound_at = float("-inf")

    async def acquire(self) -> None:
        """Wait for a concurrency slot, then for this request's turn under the rate."""
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        now = self._clock()
        if self._first is None:
            self._first = now
        if self.rate:
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.rate
            if slot > now:
                self._pacing_bound_at = now
                # Pacing delay, the point of a rate limiter; not a synchronisation sleep.
                await asyncio.sleep(slot - now)

    async def release(self, outcome: str) -> None:
        """outcome: "ok" (any answer but 429), "throttled" (429) or "error" (no answer)."""
        now = self._clock()
        async with self._cond:
            self.in_flight -= 1
            if outcome == "ok":
                self._ok_times.append(now)
                self._streak += 1
                if self._streak >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self._streak = 0
                self._probe(now)
            elif outcome == "throttled":
                self._streak = 0
                self.limit = max(1, self.limit // 2)
                self._throttled(now)
            self._cond.notify_all()

    def measured_rate(self, now: float | None = None) -> float:
        """Successes per second over the last WINDOW seconds (at least one second, so an
        opening burst is not mistaken for a sustained rate)."""
        now = self._clock() if now is None else now
        while self._ok_times and self._ok_times[0] < now - WINDOW:
            self._ok_times.popleft()
        span = min(WINDOW, max(1.0, now - (self._first if self._first is not None else now)))
        return sum(1 for t in self._ok_times if t >= now - span) / span

    def _throttled(self, now: float) -> None:
        if now - self._last_decrease < 1.0:
            return
        self._last_decrease = now
        measured = self.measured_rate(now)
        base = measured if measured > 0 else (self.rate or 1.0) / 2
        if self.rate is not None:
            base = min(base, self.rate)
        self.rate = max(MIN_RATE, base * BACKOFF)
        self._last_probe = now
        self._next_slot = max(self._next_slot, now)

    def _probe(self, now: float) -> None:
        if self.rate is None:
            return
        last, self._last_probe = self._last_probe, now
        # Only while requests are actually waiting on the pacer: an idle client would
        # otherwise grow a rate it never tested, then burst into the limit.
        if last is not None and now - self._pacing_bound_at < 1.0:
            self.rate *= 1.0 + PROBE * (now - last)
