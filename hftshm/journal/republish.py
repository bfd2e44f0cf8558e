"""Publishing journaled records back into a ring, at the recorded pace, x speed, or at once.

The timeline is each record's original ``publish_ns``: record i is due ``(publish_ns[i] -
publish_ns[0]) / speed`` after the replay starts. The ring stamps a fresh ``seq`` and
``publish_ns``; every other field (exchange, receive times, prices, ids) is as recorded, so a
strategy sees the same records it saw live.
"""

from __future__ import annotations

import time

import numpy as np

BATCH = 1024


class Replay:
    def __init__(self, records: np.ndarray, speed: float):
        if not speed > 0:
            raise ValueError(f"replay speed must be positive (inf: as fast as possible), got {speed!r}")
        self.records = records
        self.speed = speed
        self.done = 0
        self._t0 = 0
        if len(records) and speed != float("inf"):
            ts = records["publish_ns"].astype(np.int64)
            self._offsets = ((ts - ts[0]) / speed).astype(np.int64)
        else:
            self._offsets = None

    @property
    def finished(self) -> bool:
        return self.done >= len(self.records)

    def due(self, now_ns: int | None = None) -> np.ndarray:
        """The next records that are due now (at most ``BATCH``); empty when none is."""
        if self.finished:
            return self.records[:0]
        now = time.monotonic_ns() if now_ns is None else now_ns
        if self._t0 == 0:
            self._t0 = now
        end = min(len(self.records), self.done + BATCH)
        if self._offsets is not None:
            end = min(end, int(np.searchsorted(self._offsets, now - self._t0, side="right")))
        out = self.records[self.done:end]
        self.done = max(self.done, end)
        return out

    def publish_due(self, publisher) -> int:
        batch = self.due()
        if len(batch):
            publisher.publish_batch(np.ascontiguousarray(batch))
        return len(batch)


def run(publisher, records: np.ndarray, speed: float, should_stop=lambda: False) -> int:
    """Replay every record (blocking); returns how many were published."""
    replay = Replay(records, speed)
    while not replay.finished and not should_stop():
        if not replay.publish_due(publisher):
            time.sleep(0.0002)
    return replay.done
