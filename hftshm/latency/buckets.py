"""Log-linear (HDR-style) buckets for latency samples in nanoseconds.

Every power of two is split into ``SUB = 2**SUB_BITS = 64`` equal sub-buckets; values below
``2 * SUB = 128`` get one bucket each (exact). With ``b`` the bit length of ``v``::

    v in [0, 128)          bucket v                        width 1 (exact)
    v in [2^b-1, 2^b)      shift = b - 7                   width 2^shift
    (b = 8 .. 37)          bucket = shift * 64 + (v >> shift)

so octave [2^(b-1), 2^b) fills buckets [(b-6)*64, (b-5)*64). Bucket 2047 is the last one and
ends at ``MAX_VALUE = 2^37 - 1`` ns (137.4 s); larger samples go there and are counted apart
(the stage's ``over`` counter); the stage's max stays exact.

Error bound: a bucket of width ``w = 2^shift`` starts at ``lo >= 64 * w``, so its width is at
most 1/64 (1.56 %) of any value in it. Readers report a bucket's midpoint, at most
``(w - 1) / 2 < v / 128`` from any sample in it: relative error <= 1/128 (0.78 %), and none below
128 ns. Percentile estimates are also clamped into the exact [min, max] of the samples.

``bucket_of`` is a count-leading-zeros, a shift and an add (~1 ns in numba).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import leading_zeros

SUB_BITS = 6
SUB = 1 << SUB_BITS  # sub-buckets per power of two
MAX_BITS = 37  # bit length of the largest value with a bucket of its own
MAX_VALUE = (1 << MAX_BITS) - 1  # 137.4 s in ns
BUCKETS = (MAX_BITS - SUB_BITS + 1) * SUB  # 2048


@njit(cache=True, inline="always")
def bucket_of(v):
    """Bucket of ``v`` ns, ``0 <= v``; values above ``MAX_VALUE`` land in the last bucket."""
    if v > MAX_VALUE:
        v = MAX_VALUE
    shift = (64 - leading_zeros(np.int64(v))) - (SUB_BITS + 1)  # bit length - 7
    if shift < 0:
        shift = 0
    return (shift << SUB_BITS) + (v >> shift)


@njit(cache=True, inline="always")
def bucket_low(b):
    """Smallest value in bucket ``b``."""
    if b < SUB:
        return b
    shift = (b >> SUB_BITS) - 1
    return ((b & (SUB - 1)) | SUB) << shift


@njit(cache=True, inline="always")
def bucket_width(b):
    """How many integer values bucket ``b`` holds."""
    if b < 2 * SUB:
        return 1
    return 1 << ((b >> SUB_BITS) - 1)


def lows() -> np.ndarray:
    """``bucket_low`` of every bucket, as int64."""
    return np.array([bucket_low(b) for b in range(BUCKETS)], np.int64)


def widths() -> np.ndarray:
    return np.array([bucket_width(b) for b in range(BUCKETS)], np.int64)


def midpoints() -> np.ndarray:
    """The value a reader reports for a sample in each bucket (float64 ns)."""
    return lows() + (widths() - 1) / 2.0


assert BUCKETS == 2048
