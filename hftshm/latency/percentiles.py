"""From a histogram of bucket counts to the figures a summary shows (pure numpy, no segment).

Percentiles follow numpy's default (``method="linear"``): rank ``h = (n - 1) * q / 100``, and
the result interpolates between the ``floor(h)``-th and the next sorted sample. Each of those two
samples is estimated by its bucket's midpoint, clamped into the exact ``[min, max]``, so the
result is within 1/128 of numpy's (``buckets`` module) and exact where the samples all fall in
unit-width buckets (below 128 ns) or at the extremes.
"""

from __future__ import annotations

import numpy as np

from . import buckets as B

PERCENTILES = (("p50_us", 50.0), ("p90_us", 90.0), ("p99_us", 99.0), ("p999_us", 99.9))
KEYS = ("count", *(k for k, _ in PERCENTILES), "max_us", "mean_us", "min_us", "negative", "over", "span_s")

_LOW = B.lows()
_WIDTH = B.widths()
_MID = _LOW + (_WIDTH - 1) / 2.0


def percentiles_ns(hist: np.ndarray, qs, vmin: float, vmax: float) -> np.ndarray:
    """Estimates of the ``qs`` percentiles (0..100) of the samples counted in ``hist``."""
    cum = np.cumsum(hist)
    n = int(cum[-1])
    h = (n - 1) * np.asarray(qs, np.float64) / 100.0
    k = np.floor(h).astype(np.int64)
    f = h - k
    lo = np.clip(_MID[np.searchsorted(cum, k, side="right")], vmin, vmax)
    hi = np.clip(_MID[np.searchsorted(cum, np.minimum(k + 1, n - 1), side="right")], vmin, vmax)
    return lo + (hi - lo) * f


def extremes_ns(hist: np.ndarray, vmin: int, vmax: int, cum_min: int, cum_max: int) -> tuple[int, int]:
    """``vmin``/``vmax``, made consistent with ``hist``: a window's extremes come from per-tick
    intervals, and an interval lost to a ticker dying mid-copy would leave them too narrow."""
    nz = np.flatnonzero(hist)
    top, bottom = int(nz[-1]), int(nz[0])
    if vmax < _LOW[top]:
        vmax = min(cum_max, int(_LOW[top] + _WIDTH[top] - 1))
    if vmin > _LOW[bottom] + _WIDTH[bottom] - 1:
        vmin = max(cum_min, int(_LOW[bottom]))
    return vmin, vmax


def summarize(hist: np.ndarray, count: int, total_ns: int, vmin: int, vmax: int, negative: int,
              over: int, span_s: float) -> dict:
    """The summary dict: ``count``, ``p50_us`` .. ``p999_us``, ``max_us``, ``mean_us``, ``min_us``
    (None when there are no samples), ``negative``, ``over`` and ``span_s`` (the seconds covered)."""
    out = {"count": int(count)}
    if count <= 0 or not hist.any():
        out.update({k: None for k, _ in PERCENTILES})
        out.update(max_us=None, mean_us=None, min_us=None)
    else:
        ps = percentiles_ns(hist, [q for _, q in PERCENTILES], vmin, vmax)
        out.update({k: float(p) / 1e3 for (k, _), p in zip(PERCENTILES, ps)})
        out.update(max_us=vmax / 1e3, mean_us=total_ns / count / 1e3, min_us=vmin / 1e3)
    out.update(negative=int(negative), over=int(over), span_s=span_s)
    return out
