"""``LatencyBook``: an instance's per-stage latency histograms, for recorders, the ticker and readers.

Sliding window. Recorders only ever add to cumulative counts. Once a period (default 1 s) the
supervisor calls ``tick()``, which copies every stage's counts into the snapshot ring stamped
with the time (at most one snapshot per period, whoever calls: idempotent, and two tickers are
safe). The last-N-seconds histogram is the live counts minus those of the snapshot whose stamp is
nearest ``now - N``; its percentiles are taken like the whole run's. So:

* resolution: the window starts at a snapshot, within half a period of ``now - N`` while ticks
  keep coming (``span_s`` in the summary says exactly how many seconds it covers);
* before N seconds have passed (since creation) the window is the whole run so far: creation is
  an implicit all-zero snapshot;
* if ticks stop, the window grows from the last snapshot (``span_s`` shows it);
* N may be at most ``max_window_s = (snapshots - 1) * period``;
* the window's max and min are exact (per-interval extremes kept since the last tick), give or
  take a sample recorded while a tick ran, which may count in the neighbouring interval.
"""

from __future__ import annotations

import time

import numpy as np

from .. import naming, shm
from ..errors import HftshmError, RingConfigError
from . import buckets as B
from . import kernels as K
from . import layout as L
from . import segment as S
from .errors import UnknownStage
from .percentiles import extremes_ns, summarize
from .recorder import Recorder
from .stages import StageTable


class LatencyBook:
    """A mapped latency segment. Build with ``create`` (the supervisor) or ``attach`` (anyone)."""

    def __init__(self, seg: shm.Segment, instance: str):
        self._seg = seg
        self.instance = instance
        self.words = np.frombuffer(seg.buf, np.int64)  # the numba API's ``words`` (kernels.py)
        w = self.words
        self.max_stages = int(w[L.W_MAX_STAGES])
        self.snapshots = int(w[L.W_SLOTS])
        self.period_ns = int(w[L.W_PERIOD_NS])
        self.created_ns = int(w[L.W_CREATED_NS])
        self.owner_pid = int(w[L.W_OWNER_PID])
        self._table = StageTable(w, seg.buf, self.max_stages)
        self._hist = np.zeros(B.BUCKETS, np.int64)
        self._fields = np.zeros(K.F_WORDS, np.int64)
        self._closed = False

    @classmethod
    def create(cls, instance: str, stages=(), *, max_stages: int = L.DEFAULT_MAX_STAGES,
               snapshots: int = L.DEFAULT_SLOTS, period_s: float = L.DEFAULT_PERIOD_NS / 1e9) -> "LatencyBook":
        """Create the instance's latency segment (0600) with ``stages`` registered in order.
        ``snapshots`` slots of one per ``period_s`` bound the sliding window's length."""
        return cls(S.create(instance, stages, max_stages, snapshots, period_s), instance)

    @classmethod
    def attach(cls, instance: str) -> "LatencyBook":
        """Attach; RingNotFound if the instance has none, SegmentCorrupt if it is not one."""
        return cls(S.attach(instance), instance)

    # --- stages -------------------------------------------------------------------------------

    @property
    def stages(self) -> list[str]:
        return self._table.names()

    def stage_index(self, name: str) -> int:
        """Index of stage ``name`` (for ``kernels.record``); UnknownStage if there is none."""
        return self._table.index(name)

    def add_stage(self, name: str) -> int:
        """Index of stage ``name``, adding it if it is new (safe from any number of processes)."""
        return self._table.add(name)

    def recorder(self, name: str, *, add: bool = False) -> Recorder:
        """A ``Recorder`` for stage ``name``; with ``add``, the stage is added if it is new."""
        i = self.add_stage(name) if add else self.stage_index(name)
        return Recorder(self.words, i, name)

    def _stage(self, stage) -> int:
        if isinstance(stage, str):
            return self._table.index(stage)
        if isinstance(stage, (int, np.integer)) and 0 <= stage < self.max_stages and self._table.state(stage) == L.ACTIVE:
            return int(stage)
        raise UnknownStage(f"unknown stage {stage!r}; stages are {self.stages}")

    # --- ticker -------------------------------------------------------------------------------

    def tick(self, now_ns: int | None = None) -> bool:
        """Snapshot the counts for the sliding window, unless this period has its snapshot
        already. Returns whether this call took it. ``now_ns`` defaults to the clock."""
        now = time.time_ns() if now_ns is None else now_ns
        if not isinstance(now, (int, np.integer)) or now <= 0:
            raise RingConfigError(f"tick time must be a positive int of ns, got {now_ns!r}")
        return bool(K.tick(self.words, int(now)))

    @property
    def ticks(self) -> int:
        """Snapshots taken so far."""
        return int(self.words[L.W_TICKS])

    @property
    def period_s(self) -> float:
        return self.period_ns / 1e9

    @property
    def max_window_s(self) -> float:
        return (self.snapshots - 1) * self.period_ns / 1e9

    # --- readers ------------------------------------------------------------------------------

    def summary(self, stage, window_s: float | None = None, *, now_ns: int | None = None) -> dict:
        """Figures for ``stage`` (name or index) over the whole run, or the last ``window_s``
        seconds: ``count``, ``p50_us``, ``p90_us``, ``p99_us``, ``p999_us``, ``max_us``,
        ``mean_us``, ``min_us`` (None without samples), ``negative``, ``over``, ``span_s``."""
        i = self._stage(stage)
        now = time.time_ns() if now_ns is None else int(now_ns)
        hist, f = self._hist, self._fields
        K.read_stage(self.words, i, hist, f)
        cum_min, cum_max = int(f[K.F_MIN]), int(f[K.F_MAX])
        if window_s is not None:
            self._check_window(window_s)
            if not K.read_window(self.words, i, now - int(window_s * 1e9), now, hist, f):
                raise HftshmError(f"latency window of {window_s} s: its snapshot was being rewritten "
                                  "on every try (a window about as long as the snapshot ring?)")
        np.maximum(hist, 0, out=hist)
        vmin, vmax = int(f[K.F_MIN]), int(f[K.F_MAX])
        if hist.any():
            vmin, vmax = extremes_ns(hist, vmin, vmax, cum_min, cum_max)
        span_s = max(0, now - int(f[K.F_BASE_NS])) / 1e9
        return summarize(hist, int(f[K.F_COUNT]), int(f[K.F_SUM]), vmin, vmax, int(f[K.F_NEGATIVE]),
                         int(f[K.F_OVER]), span_s)

    def cumulative(self, stage) -> tuple[np.ndarray, int, int]:
        """The whole run's raw figures of ``stage``: a copy of its ``buckets.BUCKETS`` counts, the
        sample count and the sum of samples in ns (relaxed loads, for an exporter)."""
        hist, f = np.zeros(B.BUCKETS, np.int64), np.zeros(K.F_WORDS, np.int64)
        K.read_stage(self.words, self._stage(stage), hist, f)
        return hist, int(f[K.F_COUNT]), int(f[K.F_SUM])

    def summaries(self, window_s: float | None = None, *, now_ns: int | None = None) -> dict[str, dict]:
        """``summary`` of every stage, by name, in stage order."""
        now = time.time_ns() if now_ns is None else now_ns
        return {name: self.summary(name, window_s, now_ns=now) for name in self.stages}

    def _check_window(self, window_s) -> None:
        ok = isinstance(window_s, (int, float, np.integer, np.floating)) and not isinstance(window_s, bool)
        if not ok or not 0 < window_s <= self.max_window_s:
            raise RingConfigError(
                f"window_s must be a number of seconds in (0, {self.max_window_s:g}] "
                f"({self.snapshots} snapshots of {self.period_s:g} s), got {window_s!r}"
            )

    # --- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Unmap, once no recorder still holds the segment. Never unlinks: see ``unlink``."""
        if self._closed:
            return
        self._closed = True
        self.words = self._table = None
        self._seg.close()

    def unlink(self) -> bool:
        """Remove the segment's name (the creator's job, at shutdown); mappings stay valid."""
        return unlink_book(self.instance)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def unlink_book(instance: str) -> bool:
    return shm.unlink(naming.latency_segment(instance))
