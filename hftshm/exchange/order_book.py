"""The simulator's N-level book and the numba primitives that change it.

One book per symbol is two ``int64[2, N]`` arrays, ``px`` (price in ticks) and ``qty`` (quantity
in lots, one lot = one LOT_SIZE step). Row ``BID`` holds bids best first (descending prices),
row ``ASK`` asks best first (ascending). The book always shows exactly N levels a side: a level
that empties is removed and a new one is appended at the back, a level inserted at the front
pushes the last one out. Every such change is written to a change log row
``(t_ns, update_id, side, price, qty)`` with ``qty == 0`` for a removal, which is what the
diff-depth stream is built from, so the diffs applied to a snapshot reproduce this book exactly.

Prices and quantities stay integers throughout; text is made only when a payload is rendered.
"""

from __future__ import annotations

import numpy as np
from numba import njit

BID = 0  # also the BUY side of an order
ASK = 1  # also SELL

# change-log columns
G_T, G_UID, G_SIDE, G_PX, G_QTY = range(5)
CHG_WIDTH = 5


@njit(cache=True)
def log_change(chg, n, t, uid, side, p, q):
    """Append one level change to the log; returns the new row count."""
    chg[n, G_T] = t
    chg[n, G_UID] = uid
    chg[n, G_SIDE] = side
    chg[n, G_PX] = p
    chg[n, G_QTY] = q
    return n + 1


@njit(cache=True)
def drop_level(px, qty, side, i, back_px, back_qty):
    """Remove level ``i`` of ``side``, move deeper levels up one and append ``back_px`` last."""
    n = px.shape[1]
    for j in range(i, n - 1):
        px[side, j] = px[side, j + 1]
        qty[side, j] = qty[side, j + 1]
    px[side, n - 1] = back_px
    qty[side, n - 1] = back_qty


@njit(cache=True)
def push_front(px, qty, side, p, q):
    """Insert a new best level; the last level falls off and its price is returned."""
    n = px.shape[1]
    dropped = px[side, n - 1]
    for j in range(n - 1, 0, -1):
        px[side, j] = px[side, j - 1]
        qty[side, j] = qty[side, j - 1]
    px[side, 0] = p
    qty[side, 0] = q
    return dropped


@njit(cache=True)
def behind_last(px, side, gap):
    """A price ``gap`` ticks behind the last level of ``side``. The market keeps prices far
    enough from zero (``Market`` checks the starting price, the fair price has a floor)."""
    last = px[side, px.shape[1] - 1]
    return last - gap if side == BID else last + gap


@njit(cache=True)
def crosses(side, price, level_px):
    """Would an order on ``side`` at ``price`` trade with a resting level at ``level_px``?"""
    if side == BID:
        return price >= level_px
    return price <= level_px


@njit(cache=True)
def available(px, qty, book_side, limit_px):
    """Lots shown on ``book_side`` at prices a taker with ``limit_px`` accepts (-1: any price)."""
    total = 0
    for i in range(px.shape[1]):
        p = px[book_side, i]
        if limit_px >= 0 and not crosses(1 - book_side, limit_px, p):
            break
        total += qty[book_side, i]
    return total


@njit(cache=True)
def sweep_cost(px, qty, book_side, lots, limit_px, quote_k):
    """(lots fillable, quote units) for taking ``lots`` from the shown levels; quote units are
    ticks * lots * ``quote_k``, i.e. 1e-8 of the quote asset."""
    left = lots
    cost = 0
    for i in range(px.shape[1]):
        if left == 0:
            break
        p = px[book_side, i]
        if limit_px >= 0 and not crosses(1 - book_side, limit_px, p):
            break
        take = min(left, qty[book_side, i])
        cost += take * p * quote_k
        left -= take
    return lots - left, cost


def snapshot(px: np.ndarray, qty: np.ndarray, limit: int) -> tuple[list, list]:
    """Top ``limit`` levels as ``([(px, qty), ...] bids, [...] asks)`` of plain ints."""
    n = min(limit, px.shape[1])
    bids = list(zip(px[BID, :n].tolist(), qty[BID, :n].tolist()))
    asks = list(zip(px[ASK, :n].tolist(), qty[ASK, :n].tolist()))
    return bids, asks
