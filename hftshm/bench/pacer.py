"""Sending at a fixed rate without burning a core between messages."""

from __future__ import annotations

import time

from ..wait.timerslack import set_timer_slack

SPIN_NS = 30_000  # sleep until this close to the send time, then spin: sleeps overshoot


class Pacer:
    def __init__(self, rate_per_s: float):
        self.interval = int(1e9 / rate_per_s)
        self.next = time.perf_counter_ns()
        set_timer_slack(1000)

    def wait(self) -> None:
        """Return at the next send time (sleeping most of the interval)."""
        target = self.next
        self.next = target + self.interval
        left = target - time.perf_counter_ns()
        if left > SPIN_NS:
            time.sleep((left - SPIN_NS) / 1e9)
        while time.perf_counter_ns() < target:
            pass
