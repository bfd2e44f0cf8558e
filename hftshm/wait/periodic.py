"""Periodic: sleep until the next tick of a fixed period; read whatever came meanwhile in one batch.

For readers that do not need each record at once (the journal, the risk worker): they wake once
per ``period_us`` whatever the record rate, so at 10,000 records/s a 2 ms period is one wake-up
per 20 records instead of one (or several naps) per record, and producers never pay a wake-up for
them (they never park). Latency to notice a record: up to one period. Ticks are on an absolute
schedule (a slow batch does not stretch the next period; after a stall it starts afresh from
now). The timer slack is left at the kernel's default (50 us), which lets the kernel coalesce
these wake-ups with others.
"""

from __future__ import annotations

import time

from .base import WaitStrategy


class Periodic(WaitStrategy):
    name = "periodic"
    after_work = True  # the runner calls idle(work) after a busy cycle too: one cycle per tick

    def __init__(self, period_us: float = 1000.0, busy: int = 256):
        if not (0 < period_us <= 1_000_000):
            raise ValueError(f"periodic needs 0 < period_us <= 1,000,000, got {period_us!r}")
        self.period = period_us * 1e-6
        self.busy = busy  # a cycle that did this much work may have left more: poll again at once
        self._next = 0.0
        self.sleeps = 0

    def idle(self, work_count: int = 0) -> None:
        if work_count >= self.busy:
            return  # catching up: read on without sleeping
        now = time.monotonic()
        nxt = self._next + self.period
        if nxt <= now:
            nxt = now + self.period  # behind schedule (a long batch, a stall): a new period from now
        self._next = nxt
        self.sleeps += 1
        time.sleep(nxt - now)
