"""The Python hot path: recording into one stage with a single C-level call per sample.

``record`` and ``since`` are ``functools.partial`` objects over the compiled entry points of
``kernels.record_at``/``record_since_at`` (ring/fast.py), with the segment's address and the stage
index bound: no dispatcher type resolution, no array argument (ring/pointers.py), and no Python
frame of our own. Each partial keeps the segment's int64 view alive, so the mapping outlives
``LatencyBook.close`` for as long as anyone can still record into it.
"""

from __future__ import annotations

import functools

import numpy as np

from ..ring.fast import entry_point
from ..ring.pointers import address
from . import kernels as K

_entries: dict = {}


def _entry(kernel):
    """The entry point of ``kernel(addr, stage, ns)``, compiled for three int64s (once)."""
    e = _entries.get(kernel)
    if e is None:
        e = _entries[kernel] = entry_point(kernel, 0, 0, 0)
    return e


def _bound(kernel, words: np.ndarray, stage: int):
    p = functools.partial(_entry(kernel), address(words), stage)
    p.keep_alive = words  # the address is only valid while this view exists
    return p


class Recorder:
    """Records samples of one stage. ``record(ns)`` adds a sample (an int; a negative one counts
    as 0 and in ``negative``); ``since(start_ns)`` records ``time.time_ns() - start_ns`` as
    measured in numba and returns it. Neither raises for any int64 value."""

    __slots__ = ("stage", "name", "record", "since", "_words")

    def __init__(self, words: np.ndarray, stage: int, name: str):
        self.stage = stage
        self.name = name
        self._words = words
        self.record = _bound(K.record_at, words, stage)
        self.since = _bound(K.record_since_at, words, stage)

    def handle(self):
        """``(words, stage)`` for numba code: ``kernels.record(words, stage, ns)``."""
        return self._words, self.stage

    def __repr__(self) -> str:
        return f"Recorder({self.name!r}, stage {self.stage})"
