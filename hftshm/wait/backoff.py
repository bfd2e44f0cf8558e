"""Backoff: spin, then yield, then sleep with naps that double up to a ceiling.

The default. Right after a record it polls hot (``spins`` empty polls, then ``yields`` polls each
preceded by ``sched_yield``), so a burst is read at spin latency; once the stream goes quiet it
naps ``min_sleep_us`` doubling to ``max_sleep_us``, costing a wake-up (~2-5 us of CPU) per nap.
The worst-case extra latency is one nap, ``max_sleep_us``. The thread's timer slack is lowered to
1 us so that a 1 us nap is not rounded up to 50 us.
"""

from __future__ import annotations

import os
import time

from .base import WaitStrategy
from .timerslack import set_timer_slack


class Backoff(WaitStrategy):
    name = "backoff"

    def __init__(self, spins: int = 20, yields: int = 10, min_sleep_us: float = 1.0, max_sleep_us: float = 50.0):
        if not (0 < min_sleep_us <= max_sleep_us):
            raise ValueError("backoff needs 0 < min_sleep_us <= max_sleep_us")
        self.spins = spins
        self.yields = yields
        self.min_sleep = min_sleep_us * 1e-6
        self.max_sleep = max_sleep_us * 1e-6
        self._count = 0
        self._sleep = self.min_sleep
        set_timer_slack(1000)

    def idle(self, work_count: int = 0) -> None:
        if work_count > 0:
            self._count = 0
            self._sleep = self.min_sleep
            return
        count = self._count
        self._count = count + 1
        if count < self.spins:
            return
        if count < self.spins + self.yields:
            os.sched_yield()
            return
        time.sleep(self._sleep)
        self._sleep = min(self._sleep * 2, self.max_sleep)

    def reset(self) -> None:
        self._count = 0
        self._sleep = self.min_sleep
