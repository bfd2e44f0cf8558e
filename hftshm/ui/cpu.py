"""CPU use of other processes, from the deltas of /proc/<pid>/stat (utime + stime)."""

from __future__ import annotations

import os
import time

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int | None:
    """User plus system time of ``pid`` in clock ticks (fields 14 and 15), None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()  # the name (field 2) may hold spaces
    return int(fields[11]) + int(fields[12])


class CpuMeter:
    """Percent of one core each pid used between two ``sample`` calls (None on the first)."""

    def __init__(self):
        self._last: dict[int, tuple[int, float]] = {}

    def sample(self, pid: int, now: float | None = None) -> float | None:
        if pid <= 0:
            return None
        ticks = cpu_ticks(pid)
        if ticks is None:
            self._last.pop(pid, None)
            return None
        now = time.monotonic() if now is None else now
        last = self._last.get(pid)
        self._last[pid] = (ticks, now)
        if last is None or now <= last[1]:
            return None
        return 100.0 * (ticks - last[0]) / TICKS_PER_S / (now - last[1])

    def forget_others(self, pids) -> None:
        keep = set(pids)
        for pid in list(self._last):
            if pid not in keep:
                del self._last[pid]
