"""Order-rate window: a ring of the timestamps of the last accepted orders.

Exact sliding window, O(1) per check: with ``count`` orders accepted so far and order ``k``
stamped in ``ring[k & mask]``, the ``limit``-th most recent sits at ``(count - limit) & mask``.
An order at ``now`` is allowed while fewer than ``limit`` accepted orders lie in the window
``(now - 1 s, now]``, i.e. while that stamp is at least one second old. Needs limit <= slots
(limits.py enforces it; a larger limit is judged as if it were ``slots``, the stricter reading).

A clock stepped backwards makes old stamps look recent: the window then refuses more, not less.
"""

from __future__ import annotations

from numba import njit

WINDOW_NS = 1_000_000_000


@njit(cache=True, inline="always")
def window_full(ring, count, limit, now_ns):
    """True when ``limit`` accepted orders already lie in the second ending at ``now_ns``."""
    slots = ring.shape[0]
    if limit > slots:
        limit = slots
    if limit <= 0:
        return True
    if count < limit:
        return False
    return now_ns - ring[(count - limit) & (slots - 1)] < WINDOW_NS


@njit(cache=True, inline="always")
def window_push(ring, count, now_ns):
    """Stamp the ``count``-th accepted order; returns the new count."""
    ring[count & (ring.shape[0] - 1)] = now_ns
    return count + 1
