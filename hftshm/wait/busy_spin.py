"""Busy-spin: return at once and poll again.

Lowest latency and 100% of a core whether or not records arrive: use it only for a process that
has a core to itself (``cpu`` in the worker config), never on a machine with fewer cores than
spinning processes, where it steals the time the producer needs.
"""

from __future__ import annotations

from .base import WaitStrategy


class BusySpin(WaitStrategy):
    name = "busy-spin"

    def idle(self, work_count: int = 0) -> None:
        pass
