"""The in-band books' sides as numpy arrays, changed by compiled kernels: one call per delta.

A Python dict-and-bisect side costs about a microsecond per level and per record written; a
Bybit or OKX delta carries one or two levels, so the book was most of the normalizer's time.
Here one compiled call applies a delta's levels, refuses a crossed result, writes the LEVEL
records and the QUOTE when the top changed (``InbandBook.apply``).

Layout (one book; ``s`` = 0 bids, 1 asks)::

    keys[s, :n_s]   int64  ascending, the best level last: bids price_e8, asks -price_e8
    qtys[s, :n_s]   int64  qty_e8 (never 0: a zero quantity removes the level)
    texts[s, i, :]  uint8  OKX only (width 0 for Bybit): [len(price), len(size), price, size],
                           the level's text as the venue sent it (OKX's checksum is over it)
    state[0:2]      int64  n_bids, n_asks
    state[2:6]      int64  the last published top: bid, bid qty, ask, ask qty (0s: none)
    state[6:8]      spare

The best level is last so that changes near the top, the usual ones, move few entries.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hftshm.layouts import md
from hftshm.ring.fast import entry_point

TEXT_WIDTH = 64  # OKX: 2 length bytes + price and size texts (parse_e8's longest is 20 + 20)
NEED_ROOM, BIG_VALUE, LONG_TEXT, CROSSED = -4, -2, -3, -1
NEED_QUOTE = 1 << 30  # added to apply_delta's count: the caller writes the QUOTE (a top past 2**53)
_EXACT = 1 << 53  # a value past this: its float must be Python's int / int (the caller writes)
_E8 = md.E8
_LEVEL, _QUOTE, _BID, _ASK = md.LEVEL, md.QUOTE, md.BID, md.ASK
_LAST, _FROM_BOOK = md.F_LAST_IN_EVENT, md.F_FROM_BOOK


@njit(cache=True, inline="always")
def _find(row, n, k):
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if row[mid] < k:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _set(keys, qtys, texts, state, s, price, qty, src, toff, r, only_new):
    """Absolute quantity for one level of side ``s``; 0 removes it. ``r``: the row of ``toff``
    holding the level's text offsets in ``src`` (OKX). ``only_new``: leave a present level."""
    n = state[s]
    k = price if s == 0 else -price
    kr = keys[s]
    qr = qtys[s]
    i = _find(kr, n, k)
    found = i < n and kr[i] == k
    tw = texts.shape[2]
    if qty:
        if found and only_new:
            return
        if not found:
            for j in range(n, i, -1):
                kr[j] = kr[j - 1]
                qr[j] = qr[j - 1]
                for b in range(tw):
                    texts[s, j, b] = texts[s, j - 1, b]
            kr[i] = k
            state[s] = n + 1
        qr[i] = qty
        if tw:
            p0, p1, q0, q1 = toff[4 * r], toff[4 * r + 1], toff[4 * r + 2], toff[4 * r + 3]
            texts[s, i, 0] = p1 - p0
            texts[s, i, 1] = q1 - q0
            o = 2
            for b in range(p0, p1):
                texts[s, i, o] = src[b]
                o += 1
            for b in range(q0, q1):
                texts[s, i, o] = src[b]
                o += 1
    elif found:
        for j in range(i, n - 1):
            kr[j] = kr[j + 1]
            qr[j] = qr[j + 1]
            for b in range(tw):
                texts[s, j, b] = texts[s, j + 1, b]
        state[s] = n - 1


@njit(cache=True, inline="always")
def _check(keys, texts, state, r0, count, toff):
    """Before anything changes: NEED_ROOM / LONG_TEXT, else 0."""
    if state[0] + state[1] + count > keys.shape[1]:
        return NEED_ROOM
    tw = texts.shape[2]
    if tw:
        for r in range(r0, r0 + count):
            if toff[4 * r + 1] - toff[4 * r] + toff[4 * r + 3] - toff[4 * r + 2] > tw - 2:
                return LONG_TEXT
    return 0


@njit(cache=True, inline="always")
def _top(keys, qtys, state):
    nb, na = state[0], state[1]
    bp = keys[0, nb - 1] if nb else 0
    bq = qtys[0, nb - 1] if nb else 0
    ap = -keys[1, na - 1] if na else 0
    aq = qtys[1, na - 1] if na else 0
    return bp, bq, ap, aq


@njit(cache=True, inline="always")
def _record(r, kind, side, flags, sid, exch_ns, recv_ns, id1, id2, price, qty, price2, qty2):
    r.seq = 0
    r.kind = kind
    r.side = side
    r.flags = flags
    r.symbol_id = sid
    r.exch_ns = exch_ns
    r.txn_ns = 0
    r.recv_ns = recv_ns
    r.publish_ns = 0
    r.venue_id = id1
    r.venue_id2 = id2
    r.price_e8 = price
    r.qty_e8 = qty
    r.price2_e8 = price2
    r.qty2_e8 = qty2
    r.price = np.float64(price) / _E8
    r.qty = np.float64(qty) / _E8
    r.price2 = np.float64(price2) / _E8
    r.qty2 = np.float64(qty2) / _E8


@njit(cache=True)
def apply_delta(keys, qtys, texts, state, rows, r0, count, n_bids, src, toff, out, n, sid, exch_ns, recv_ns, id1,
                id2, write):
    """A delta's levels into the book: ``count`` rows from row ``r0`` of ``rows`` (flat
    (price_e8, qty_e8) pairs), ``n_bids`` bids then asks; their texts' offsets in ``src`` at
    ``toff[4 * row:]`` (price start, end, size start, end) for a text book.

    Returns the records written at ``out[n:]`` (``write``: LEVELs as ``MdScratch.put_levels``,
    then a QUOTE with F_FROM_BOOK when the top changed), or: NEED_ROOM, LONG_TEXT, BIG_VALUE
    (a value of 2**53 or more with ``write``), all before any change; CROSSED after applying
    (the caller resets the book). With a top past 2**53 the count has NEED_QUOTE added: the
    caller writes the QUOTE of ``state[2:6]``. Without ``write``, nothing is written and the
    last published top is left alone (the caller compares and publishes it)."""
    why = _check(keys, texts, state, r0, count, toff)
    if why:
        return why
    if write:
        for i in range(2 * r0, 2 * (r0 + count)):
            if rows[i] >= _EXACT:
                return BIG_VALUE
    for i in range(count):
        r = r0 + i
        _set(keys, qtys, texts, state, 0 if i < n_bids else 1, rows[2 * r], rows[2 * r + 1], src, toff, r, False)
    nb, na = state[0], state[1]
    if nb and na and keys[0, nb - 1] >= -keys[1, na - 1]:
        return CROSSED
    if not write:
        return 0
    for i in range(count):
        r = r0 + i
        _record(out[n + i], _LEVEL, _BID if i < n_bids else _ASK, _LAST if i == count - 1 else 0, sid,
                exch_ns, recv_ns, id1, id2, rows[2 * r], rows[2 * r + 1], 0, 0)
    written = count
    bp, bq, ap, aq = _top(keys, qtys, state)
    if bp != state[2] or bq != state[3] or ap != state[4] or aq != state[5]:
        state[2], state[3], state[4], state[5] = bp, bq, ap, aq
        if bq < _EXACT and bp < _EXACT and ap < _EXACT and aq < _EXACT:
            _record(out[n + written], _QUOTE, 0, _FROM_BOOK, sid, exch_ns, recv_ns, id1, 0, bp, bq, ap, aq)
            written += 1
        else:
            written += NEED_QUOTE
    return written


@njit(cache=True)
def load_levels(keys, qtys, texts, state, rows, n_bids, src, toff):
    """The book becomes exactly ``rows`` (a snapshot; zero quantities skipped, a repeated price
    keeps its last). NEED_ROOM / LONG_TEXT before any change, CROSSED after, else 0. A
    snapshot comes best first: read from its end, each level lands at the best end, moving
    nothing (so a repeated price keeps the first one met, its last)."""
    n0, n1 = state[0], state[1]
    state[0] = 0
    state[1] = 0
    count = len(rows) // 2
    why = _check(keys, texts, state, 0, count, toff)
    if why:
        state[0], state[1] = n0, n1
        return why
    for r in range(n_bids - 1, -1, -1):
        if rows[2 * r + 1]:
            _set(keys, qtys, texts, state, 0, rows[2 * r], rows[2 * r + 1], src, toff, r, True)
    for r in range(count - 1, n_bids - 1, -1):
        if rows[2 * r + 1]:
            _set(keys, qtys, texts, state, 1, rows[2 * r], rows[2 * r + 1], src, toff, r, True)
    nb, na = state[0], state[1]
    if nb and na and keys[0, nb - 1] >= -keys[1, na - 1]:
        return CROSSED
    return 0


@njit(cache=True)
def join_top(keys, texts, state, depth, buf):
    """OKX's checksum string of the best ``depth`` levels a side into ``buf``
    (``bid:size:ask:size:..``, the longer side's rest alone); returns its length."""
    nb, na = state[0], state[1]
    o = 0
    for i in range(depth):
        for s in range(2):
            n = nb if s == 0 else na
            if i >= n:
                continue
            j = n - 1 - i
            lp = texts[s, j, 0]
            lq = texts[s, j, 1]
            if o:
                buf[o] = 58  # ":"
                o += 1
            for b in range(lp):
                buf[o + b] = texts[s, j, 2 + b]
            o += lp
            buf[o] = 58
            o += 1
            for b in range(lq):
                buf[o + b] = texts[s, j, 2 + lp + b]
            o += lq
    return o


_K = np.zeros((2, 4), np.int64)
_T = np.zeros((2, 4, 0), np.uint8)
_S = np.zeros(8, np.int64)
_R = np.zeros(2, np.int64)
apply_delta_at = entry_point(apply_delta, _K, _K, _T, _S, _R, 0, 0, 0, b"", _R, np.zeros(1, md.DTYPE), 0, 0, 0, 0,
                             0, 0, 0)
load_levels_at = entry_point(load_levels, _K, _K, _T, _S, _R, 0, b"", _R)
join_top_at = entry_point(join_top, _K, _T, _S, 0, np.zeros(1, np.uint8))
