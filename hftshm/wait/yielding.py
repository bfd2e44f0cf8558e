"""Yielding: ``sched_yield()`` after each empty poll.

As fast as busy-spin when the core is otherwise free (and as costly: it still shows 100% CPU),
but it hands the core to any runnable process at once, so a producer sharing the core is
scheduled promptly. A syscall per empty poll (~0.3-1 us).
"""

from __future__ import annotations

import os

from .base import WaitStrategy


class Yielding(WaitStrategy):
    name = "yielding"

    def __init__(self, spins: int = 0):
        self.spins = spins
        self._count = 0

    def idle(self, work_count: int = 0) -> None:
        if work_count > 0:
            self._count = 0
            return
        if self._count < self.spins:
            self._count += 1
            return
        os.sched_yield()

    def reset(self) -> None:
        self._count = 0
