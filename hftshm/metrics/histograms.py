"""Latency histograms for Prometheus: the latency book's 2048 log-linear buckets (ns, buckets.py)
folded into a fixed list of ``le`` bounds in seconds that resolve microseconds.

A book bucket counts under a bound when its largest value is at most the bound, so each
``le`` count is exact for the samples it holds; a book bucket that straddles a bound (its width
is at most 1/64 of the values in it) is counted under the next bound up, never under one below
its samples. ``+Inf`` is the stage's sample count.
"""

from __future__ import annotations

import numpy as np

from ..latency import buckets as B

# 250 ns .. 10 s: 1-2-5 steps through the microseconds and milliseconds
BOUNDS_S = (
    250e-9, 500e-9,
    1e-6, 2e-6, 5e-6, 10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6,
    1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3, 200e-3, 500e-3,
    1.0, 2.5, 5.0, 10.0,
)


def _upper_edges() -> np.ndarray:
    """The largest ns value of every book bucket (increasing)."""
    b = np.arange(B.BUCKETS, dtype=np.int64)
    low = np.array([B.bucket_low(int(i)) for i in b], np.int64)
    width = np.array([B.bucket_width(int(i)) for i in b], np.int64)
    return low + width - 1


_EDGES = _upper_edges()
# for each bound: how many book buckets lie wholly at or below it
_CUTS = np.searchsorted(_EDGES, np.array([round(s * 1e9) for s in BOUNDS_S], np.int64), side="right")


def fold(hist: np.ndarray, count: int) -> list[tuple[str, int]]:
    """``[(le, cumulative count), ..., ("+Inf", count)]`` from a stage's book buckets."""
    cum = np.concatenate(([0], np.cumsum(hist, dtype=np.int64)))
    out = []
    for bound, cut in zip(BOUNDS_S, _CUTS):
        out.append((_le(bound), int(min(cum[cut], count))))
    out.append(("+Inf", int(count)))
    return out


def _le(bound: float) -> str:
    return repr(float(bound))
