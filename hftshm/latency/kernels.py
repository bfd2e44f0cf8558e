"""Recording, ticking and reading latency histograms, as numba kernels over the segment's words.

``words`` is the int64 view of the whole latency segment (``LatencyBook.words``; ``layout.W_*``
index it). This module is the numba API: numba code calls ``record(words, stage, ns)`` (inlined,
~10-20 ns uncontended); Python code goes through ``Recorder``, which calls ``record_at``.

Record (any number of processes, lock-free)::

    fetch_add bucket, sum, count       a sample is counted exactly once, never lost
    max/min, imax/imin: compare-and-swap loops, each a single relaxed load unless it is a new
                        extreme (the usual case), so concurrent recorders rarely write them

Tick (``tick``): claim the period by compare-and-swap of ``last_period`` (one snapshot per
period, whoever calls), take slot ``period % slots`` by its seqlock, copy each stage's counters
and buckets, move ``imax``/``imin`` out by atomic exchange (so each interval's extremes land in
exactly one snapshot), stamp, release.
"""

from __future__ import annotations

from numba import njit

from .. import atomics as A
from ..clock import now_ns
from ..ring.pointers import words_at
from . import buckets as B
from . import layout as L

# Fields the read kernels return (``out_fields``).
F_COUNT, F_SUM, F_MAX, F_MIN, F_NEGATIVE, F_OVER, F_BASE_NS = range(7)
F_WORDS = 8
_RETRIES = 1000


@njit(cache=True, inline="always")
def stage_word(stage):
    """Word index of live stage ``stage``'s block."""
    return L.W_STAGES + stage * L.STAGE_WORDS


@njit(cache=True, inline="always")
def _raise_to(words, w, v):
    cur = A.load_relaxed(words, w)
    while v > cur:
        seen = A.compare_and_swap(words, w, cur, v)
        if seen == cur:
            return
        cur = seen


@njit(cache=True, inline="always")
def _lower_to(words, w, v):
    cur = A.load_relaxed(words, w)
    while v < cur:
        seen = A.compare_and_swap(words, w, cur, v)
        if seen == cur:
            return
        cur = seen


@njit(cache=True, inline="always")
def _record(w, stage, value_ns):
    s = L.W_STAGES + stage * L.STAGE_WORDS
    v = value_ns
    if v < 0:
        A.fetch_add(w, s + L.S_NEGATIVE, 1)
        v = 0
    elif v > B.MAX_VALUE:
        A.fetch_add(w, s + L.S_OVER, 1)
    A.fetch_add(w, s + L.S_BUCKETS + B.bucket_of(v), 1)
    A.fetch_add(w, s + L.S_SUM, v)
    A.fetch_add(w, s + L.S_COUNT, 1)
    _raise_to(w, s + L.S_MAX, v)
    _raise_to(w, s + L.S_IMAX, v)
    _lower_to(w, s + L.S_MIN, v)
    _lower_to(w, s + L.S_IMIN, v)


@njit(cache=True, inline="always")
def _unowned(words):
    """The same words as a carray, which has no meminfo. On an array that owns one, numba keeps
    a reference-count increment and decrement (two more atomic instructions, ~40 ns here) around
    every inlined atomic whose bounds check may raise, unless the index is a constant."""
    return words_at(words.ctypes.data, words.shape[0])


@njit(cache=True, inline="always")
def record(words, stage, value_ns):
    """Add one sample of ``value_ns`` to ``stage``. A negative sample counts as 0 and in
    ``negative``; one above ``buckets.MAX_VALUE`` goes to the last bucket and counts in ``over``."""
    _record(_unowned(words), stage, value_ns)


@njit(cache=True, inline="always")
def record_since(words, stage, start_ns):
    """Record ``now - start_ns`` (``clock.now_ns``, CLOCK_REALTIME) and return it."""
    v = now_ns() - start_ns
    _record(_unowned(words), stage, v)
    return v


@njit(cache=True)
def record_at(addr, stage, value_ns):
    """``record`` for Python callers: the segment passed by address (see ring/pointers.py)."""
    _record(words_at(addr, L.W_STAGES + (stage + 1) * L.STAGE_WORDS), stage, value_ns)


@njit(cache=True)
def record_since_at(addr, stage, start_ns):
    """``record_since`` for Python callers."""
    v = now_ns() - start_ns
    _record(words_at(addr, L.W_STAGES + (stage + 1) * L.STAGE_WORDS), stage, v)
    return v


@njit(cache=True)
def record_many(words, stage, values):
    """Record every value of the int64 array ``values`` (tests, replays, bulk imports)."""
    w = _unowned(words)
    for i in range(values.shape[0]):
        _record(w, stage, values[i])


# --- ticker -------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def slot_word(words, slot):
    """Word index of snapshot slot ``slot``."""
    return (words[L.W_SNAPSHOTS_OFFSET] + slot * words[L.W_SLOT_LENGTH]) // L.WORD


@njit(cache=True)
def tick(words, now):
    """Snapshot every stage in use, stamped ``now``, unless period ``now // period`` already has
    one. Returns 1 if this call took the snapshot, 0 if not (period taken; or its slot is
    still being written by a ticker from ``slots`` periods ago)."""
    words = _unowned(words)
    period = now // words[L.W_PERIOD_NS]
    last = A.load_acquire(words, L.W_LAST_PERIOD)
    while True:
        if period <= last:
            return 0
        seen = A.compare_and_swap(words, L.W_LAST_PERIOD, last, period)
        if seen == last:
            break
        last = seen
    t = slot_word(words, period % words[L.W_SLOTS])
    seq = A.load_relaxed(words, t + L.T_SEQ)
    if seq & 1 or A.compare_and_swap(words, t + L.T_SEQ, seq, seq + 1) != seq:
        return 0
    A.fence_release()  # the odd seq is visible before any copied word (readers then discard)
    for stage in range(words[L.W_MAX_STAGES]):
        src = stage_word(stage)
        dst = t + L.T_STAGES + stage * L.STAGE_WORDS
        if A.load_acquire(words, src + L.S_STATE) == L.FREE:
            # No samples yet (a free stage's counts are zero here from every earlier round,
            # as stages are never freed); mark its interval empty for a stage added later.
            A.store_relaxed(words, dst + L.S_IMAX, 0)
            A.store_relaxed(words, dst + L.S_IMIN, L.EMPTY_MIN)
            continue
        for b in range(B.BUCKETS):
            A.store_relaxed(words, dst + L.S_BUCKETS + b, A.load_relaxed(words, src + L.S_BUCKETS + b))
        A.store_relaxed(words, dst + L.S_COUNT, A.load_relaxed(words, src + L.S_COUNT))
        A.store_relaxed(words, dst + L.S_SUM, A.load_relaxed(words, src + L.S_SUM))
        A.store_relaxed(words, dst + L.S_NEGATIVE, A.load_relaxed(words, src + L.S_NEGATIVE))
        A.store_relaxed(words, dst + L.S_OVER, A.load_relaxed(words, src + L.S_OVER))
        # After the counts: a sample counted here whose extreme lands after the exchange shows
        # in the next interval's extremes, never in none.
        A.store_relaxed(words, dst + L.S_IMAX, A.exchange(words, src + L.S_IMAX, 0))
        A.store_relaxed(words, dst + L.S_IMIN, A.exchange(words, src + L.S_IMIN, L.EMPTY_MIN))
    A.store_relaxed(words, t + L.T_STAMP_NS, now)
    A.store_relaxed(words, t + L.T_PERIOD, period)
    A.store_release(words, t + L.T_SEQ, seq + 2)  # publishes the copy
    A.fetch_add(words, L.W_TICKS, 1)
    return 1


# --- readers ------------------------------------------------------------------------------------


@njit(cache=True)
def read_stage(words, stage, out_buckets, out_fields):
    """The whole run: live counters and buckets of ``stage`` (relaxed loads)."""
    words = _unowned(words)
    s = stage_word(stage)
    for b in range(B.BUCKETS):
        out_buckets[b] = A.load_relaxed(words, s + L.S_BUCKETS + b)
    out_fields[F_COUNT] = A.load_relaxed(words, s + L.S_COUNT)
    out_fields[F_SUM] = A.load_relaxed(words, s + L.S_SUM)
    out_fields[F_MAX] = A.load_relaxed(words, s + L.S_MAX)
    out_fields[F_MIN] = A.load_relaxed(words, s + L.S_MIN)
    out_fields[F_NEGATIVE] = A.load_relaxed(words, s + L.S_NEGATIVE)
    out_fields[F_OVER] = A.load_relaxed(words, s + L.S_OVER)
    out_fields[F_BASE_NS] = words[L.W_CREATED_NS]


@njit(cache=True, inline="always")
def _base_slot(words, start_ns, now_ns):
    """The snapshot nearest ``start_ns`` among those stamped at or before ``now_ns``; -1 for
    the creation, an implicit all-zero snapshot stamped ``created_ns``."""
    best = -1
    best_dist = abs(words[L.W_CREATED_NS] - start_ns)
    for i in range(words[L.W_SLOTS]):
        t = slot_word(words, i)
        if A.load_acquire(words, t + L.T_SEQ) & 1:
            continue
        stamp = A.load_relaxed(words, t + L.T_STAMP_NS)
        if stamp == 0 or stamp > now_ns:
            continue
        d = abs(stamp - start_ns)
        if d < best_dist:
            best, best_dist = i, d
    return best


@njit(cache=True)
def read_window(words, stage, start_ns, now_ns, out_buckets, out_fields):
    """Samples of ``stage`` since the snapshot nearest ``start_ns``: live counts minus that
    snapshot's; extremes from the intervals after it. Returns 1, or 0 if every try met a
    ticker rewriting the base slot (only if the window is about as long as the ring)."""
    words = _unowned(words)
    s = stage_word(stage)
    for _attempt in range(_RETRIES):
        base = _base_slot(words, start_ns, now_ns)
        if base < 0:  # the whole run
            read_stage(words, stage, out_buckets, out_fields)
            return 1
        t = slot_word(words, base)
        seq = A.load_acquire(words, t + L.T_SEQ)
        if seq & 1:
            continue
        base_ns = A.load_relaxed(words, t + L.T_STAMP_NS)
        d = t + L.T_STAGES + stage * L.STAGE_WORDS
        for b in range(B.BUCKETS):
            out_buckets[b] = -A.load_relaxed(words, d + L.S_BUCKETS + b)
        out_fields[F_COUNT] = -A.load_relaxed(words, d + L.S_COUNT)
        out_fields[F_SUM] = -A.load_relaxed(words, d + L.S_SUM)
        out_fields[F_NEGATIVE] = -A.load_relaxed(words, d + L.S_NEGATIVE)
        out_fields[F_OVER] = -A.load_relaxed(words, d + L.S_OVER)
        A.fence_acquire()  # the copy's loads complete before seq is checked again
        if A.load_relaxed(words, t + L.T_SEQ) != seq:
            continue
        # Live after base: counts only grow, so every difference is >= 0.
        for b in range(B.BUCKETS):
            out_buckets[b] += A.load_relaxed(words, s + L.S_BUCKETS + b)
        out_fields[F_COUNT] += A.load_relaxed(words, s + L.S_COUNT)
        out_fields[F_SUM] += A.load_relaxed(words, s + L.S_SUM)
        out_fields[F_NEGATIVE] += A.load_relaxed(words, s + L.S_NEGATIVE)
        out_fields[F_OVER] += A.load_relaxed(words, s + L.S_OVER)
        hi = A.load_relaxed(words, s + L.S_IMAX)
        lo = A.load_relaxed(words, s + L.S_IMIN)
        for i in range(words[L.W_SLOTS]):  # extremes of every interval after the base
            u = slot_word(words, i)
            for _try in range(_RETRIES):
                useq = A.load_acquire(words, u + L.T_SEQ)
                if useq & 1:
                    continue
                stamp = A.load_relaxed(words, u + L.T_STAMP_NS)
                imax = A.load_relaxed(words, u + L.T_STAGES + stage * L.STAGE_WORDS + L.S_IMAX)
                imin = A.load_relaxed(words, u + L.T_STAGES + stage * L.STAGE_WORDS + L.S_IMIN)
                A.fence_acquire()
                if A.load_relaxed(words, u + L.T_SEQ) != useq:
                    continue
                if stamp > base_ns:
                    hi = max(hi, imax)
                    lo = min(lo, imin)
                break
        out_fields[F_MAX] = hi
        out_fields[F_MIN] = lo
        out_fields[F_BASE_NS] = base_ns
        return 1
    return 0
