"""Sync all: every account synced one after another, from the All accounts page.

One thread per app walks the accounts in order; for each it starts that account's own
runner (``webui.syncrun``, so the sync is a child process like Sync now's, never
Playwright in the server) and waits for it to end before the next: one portal session
at a time, and a person reads each account's progress and result as it comes. The
thread only starts processes and waits; what each run did is read from each account's
own ``syncs`` row, as for Sync now.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Step:
    account: str
    state: str = "waiting"   # waiting | started | skipped | done
    reason: str | None = None


@dataclass
class SyncAll:
    """``start(plan)``: ``plan`` is [(account, start)], where ``start()`` starts that
    account's sync and returns its runner (with ``wait``), or a reason it cannot."""

    steps: list[Step] = field(default_factory=list)
    thread: threading.Thread | None = None
    stopping: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, plan: list[tuple[str, Callable[[], object]]]) -> bool:
        with self.lock:
            if self.running():
                return False
            self.stopping = False
            self.steps = [Step(name) for name, _ in plan]
            self.thread = threading.Thread(target=self._walk, args=(plan,), daemon=True,
                                           name="caselog-sync-all")
            self.thread.start()
            return True

    def _walk(self, plan) -> None:
        for step, (_, begin) in zip(self.steps, plan, strict=True):
            if self.stopping:
                step.state, step.reason = "skipped", "stopped"
                continue
            try:
                runner = begin()
            except Exception as exc:  # one account's trouble never stops the others
                step.state, step.reason = "skipped", str(exc)[:300]
                continue
            if isinstance(runner, str):
                step.state, step.reason = "skipped", runner
                continue
            step.state = "started"
            runner.wait()
            step.state = "done"

    def stop(self) -> None:
        self.stopping = True

    def step(self, account: str) -> Step | None:
        return next((s for s in self.steps if s.account == account), None)
