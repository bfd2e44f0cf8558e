"""The in-band books' sides as numpy arrays, changed by compiled kernels: one call per delta.

A Python dict-and-bisect side costs about a microsecond per level and per record written; a
Bybit or OKX delta carries one or two levels, so the book was most of the normalizer's time.
Here one compiled call applies a delta's levels, refuses a crossed result, writes the LEVEL
records and the QUOTE when the top changed (``InbandBook.apply_at``). Each argument of a
compiled call costs tens of nanoseconds to pass, so a book is few arrays.

Layout (one book; ``s`` = 0 bids, 1 asks)::

    sides[s, :n_s]      int64  keys, ascending, the best level last: bids price_e8, asks -price_e8
    sides[2 + s, :n_s]  int64  qty_e8 (never 0: a zero quantity removes the level)
    sides[4, 0:2]       int64  n_bids, n_asks
    sides[4, 2:6]       int64  the last published top: bid, bid qty, ask, ask qty (0s: none)
    sides[4, 7]         int64  the symbol id
    texts[s, i, :]      uint8  OKX only: [n, "price:size" (n bytes)], the level's texts as the
                               venue sent them (OKX's checksum is over them)

The best level is last so that changes near the top, the usual ones, move few entries. Records
are written through ``words``, the output records as int64 words (md.DTYPE's byte offsets,
checked at import).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hftshm.feed.fastjson import md_record
from hftshm.layouts import md
from hftshm.ring.fast import entry_point

TEXT_WIDTH = 64  # OKX: 2 length bytes + price and size texts (parse_e8's longest is 20 + 20)
NEED_ROOM, BIG_VALUE, LONG_TEXT, CROSSED = -4, -2, -3, -1
NEED_QUOTE = 1 << 30  # added to an apply's count: the caller writes the QUOTE (a top past 2**53)
STATE, SYMBOL = 4, 7
_EXACT = 1 << 53  # a value past this: its float must be Python's int / int (the caller writes)
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
def _set(sides, s, price, qty, only_new):
    """Absolute quantity for one level of side ``s``; 0 removes it. ``only_new``: leave a
    present level. Returns (index, inserted?, removed?) for the text's move, -1 if nothing."""
    st = sides[STATE]
    n = st[s]
    k = price if s == 0 else -price
    kr = sides[s]
    qr = sides[2 + s]
    i = _find(kr, n, k)
    found = i < n and kr[i] == k
    if qty:
        if found and only_new:
            return -1, False, False
        if not found:
            for j in range(n, i, -1):
                kr[j] = kr[j - 1]
                qr[j] = qr[j - 1]
            kr[i] = k
            st[s] = n + 1
        qr[i] = qty
        return i, not found, False
    if found:
        for j in range(i, n - 1):
            kr[j] = kr[j + 1]
            qr[j] = qr[j + 1]
        st[s] = n - 1
        return i, False, True
    return -1, False, False


@njit(cache=True, inline="always")
def _set_text(sides, texts, s, price, qty, src, toff, r, only_new):
    """``_set`` with the level's text (offsets ``toff[4 * r:]`` in ``src``) kept alongside."""
    n = sides[STATE, s]
    i, inserted, removed = _set(sides, s, price, qty, only_new)
    if i < 0:
        return
    tw = texts.shape[2]
    if inserted:
        for j in range(n, i, -1):
            for b in range(tw):
                texts[s, j, b] = texts[s, j - 1, b]
    elif removed:
        for j in range(i, n - 1):
            for b in range(tw):
                texts[s, j, b] = texts[s, j + 1, b]
        return
    p0, p1, q0, q1 = toff[4 * r], toff[4 * r + 1], toff[4 * r + 2], toff[4 * r + 3]
    t = texts[s, i]
    t[0] = p1 - p0 + 1 + q1 - q0
    o = 1
    for b in range(p0, p1):
        t[o] = src[b]
        o += 1
    t[o] = 58  # ":"
    o += 1
    for b in range(q0, q1):
        t[o] = src[b]
        o += 1


@njit(cache=True, inline="always")
def _room(sides, count):
    return sides[STATE, 0] + sides[STATE, 1] + count <= sides.shape[1]


@njit(cache=True, inline="always")
def _texts_fit(texts, r0, count, toff):
    tw = texts.shape[2]
    for r in range(r0, r0 + count):
        if toff[4 * r + 1] - toff[4 * r] + toff[4 * r + 3] - toff[4 * r + 2] > tw - 2:  # + ":", length
            return False
    return True


@njit(cache=True, inline="always")
def _exact(rows, r0, count):
    for i in range(2 * r0, 2 * (r0 + count)):
        if rows[i] >= _EXACT:
            return False
    return True


@njit(cache=True, inline="always")
def _crossed(sides):
    st = sides[STATE]
    nb, na = st[0], st[1]
    return nb and na and sides[0, nb - 1] >= -sides[1, na - 1]


@njit(cache=True, inline="always")
def _write(sides, rows, r0, count, n_bids, words, n, exch_ns, recv_ns, id1, id2):
    """The LEVELs of an applied delta (as ``MdScratch.put_levels``), then the QUOTE if the top
    changed: the count written (+ NEED_QUOTE for a top the caller must write)."""
    st = sides[STATE]
    sid = st[SYMBOL]
    for i in range(count):
        r = r0 + i
        md_record(words, n + i, _LEVEL, _BID if i < n_bids else _ASK, _LAST if i == count - 1 else 0, sid,
                  exch_ns, 0, recv_ns, id1, id2, rows[2 * r], rows[2 * r + 1], 0, 0)
    written = count
    nb, na = st[0], st[1]
    bp = sides[0, nb - 1] if nb else 0
    bq = sides[2, nb - 1] if nb else 0
    ap = -sides[1, na - 1] if na else 0
    aq = sides[3, na - 1] if na else 0
    if bp != st[2] or bq != st[3] or ap != st[4] or aq != st[5]:
        st[2], st[3], st[4], st[5] = bp, bq, ap, aq
        if bq < _EXACT and bp < _EXACT and ap < _EXACT and aq < _EXACT:
            md_record(words, n + written, _QUOTE, 0, _FROM_BOOK, sid, exch_ns, 0, recv_ns, id1, 0, bp, bq, ap, aq)
            written += 1
        else:
            written += NEED_QUOTE
    return written


@njit(cache=True)
def apply_plain(sides, rows, r0, count, n_bids, words, n, exch_ns, recv_ns, id1, id2):
    """A delta's levels into a book without texts: ``count`` rows from row ``r0`` of ``rows``
    (flat (price_e8, qty_e8) pairs), ``n_bids`` bids then asks. Returns what ``_write`` wrote
    at record ``n`` of ``words``, or NEED_ROOM / BIG_VALUE (a value of 2**53 or more) before
    any change, or CROSSED after applying (the caller resets the book)."""
    if not _room(sides, count):
        return NEED_ROOM
    if not _exact(rows, r0, count):
        return BIG_VALUE
    for i in range(count):
        r = r0 + i
        _set(sides, 0 if i < n_bids else 1, rows[2 * r], rows[2 * r + 1], False)
    if _crossed(sides):
        return CROSSED
    return _write(sides, rows, r0, count, n_bids, words, n, exch_ns, recv_ns, id1, id2)


@njit(cache=True)
def apply_text(sides, texts, rows, r0, count, n_bids, src, toff, words, n, exch_ns, recv_ns, id1, id2):
    """``apply_plain`` for a text book: row ``r``'s texts at ``toff[4 * r:]`` (price start,
    end, size start, end) in ``src``; LONG_TEXT before any change for one too long."""
    if not _room(sides, count):
        return NEED_ROOM
    if not _texts_fit(texts, r0, count, toff):
        return LONG_TEXT
    if not _exact(rows, r0, count):
        return BIG_VALUE
    for i in range(count):
        r = r0 + i
        _set_text(sides, texts, 0 if i < n_bids else 1, rows[2 * r], rows[2 * r + 1], src, toff, r, False)
    if _crossed(sides):
        return CROSSED
    return _write(sides, rows, r0, count, n_bids, words, n, exch_ns, recv_ns, id1, id2)


@njit(cache=True)
def change(sides, texts, rows, r0, count, n_bids, src, toff):
    """Levels into the book, nothing written, the published top left alone (the caller
    compares and publishes it): 0, NEED_ROOM / LONG_TEXT before any change, or CROSSED."""
    if not _room(sides, count):
        return NEED_ROOM
    if texts.shape[2] and not _texts_fit(texts, r0, count, toff):
        return LONG_TEXT
    for i in range(count):
        r = r0 + i
        s = 0 if i < n_bids else 1
        if texts.shape[2]:
            _set_text(sides, texts, s, rows[2 * r], rows[2 * r + 1], src, toff, r, False)
        else:
            _set(sides, s, rows[2 * r], rows[2 * r + 1], False)
    return CROSSED if _crossed(sides) else 0


@njit(cache=True)
def load_levels(sides, texts, rows, n_bids, src, toff):
    """The book becomes exactly ``rows`` (a snapshot; zero quantities skipped, a repeated price
    keeps its last). NEED_ROOM / LONG_TEXT before any change, CROSSED after, else 0. A
    snapshot comes best first: read from its end, each level lands at the best end, moving
    nothing (so a repeated price keeps the first one met, its last)."""
    count = len(rows) // 2
    if count > sides.shape[1]:
        return NEED_ROOM
    tw = texts.shape[2]
    if tw and not _texts_fit(texts, 0, count, toff):
        return LONG_TEXT
    sides[STATE, 0] = 0
    sides[STATE, 1] = 0
    for r in range(count - 1, -1, -1):
        if rows[2 * r + 1]:
            s = 0 if r < n_bids else 1
            if tw:
                _set_text(sides, texts, s, rows[2 * r], rows[2 * r + 1], src, toff, r, True)
            else:
                _set(sides, s, rows[2 * r], rows[2 * r + 1], True)
    return CROSSED if _crossed(sides) else 0


@njit(cache=True)
def join_top(sides, texts, depth, buf):
    """OKX's checksum string of the best ``depth`` levels a side into ``buf``
    (``bid:size:ask:size:..``, the longer side's rest alone); returns its length."""
    nb, na = sides[STATE, 0], sides[STATE, 1]
    o = -1
    for i in range(depth):
        for s in range(2):
            n = nb if s == 0 else na
            if i >= n:
                continue
            t = texts[s, n - 1 - i]
            if o >= 0:
                buf[o] = 58  # ":"
            o += 1
            k = np.int64(t[0])
            for b in range(k):
                buf[o + b] = t[1 + b]
            o += k
    return max(o, 0)


_SIDES = np.zeros((5, 8), np.int64)
_T = np.zeros((2, 8, 0), np.uint8)
_R = np.zeros(2, np.int64)
_W = np.zeros(16, np.int64)
apply_plain_at = entry_point(apply_plain, _SIDES, _R, 0, 0, 0, _W, 0, 0, 0, 0, 0)
apply_text_at = entry_point(apply_text, _SIDES, _T, _R, 0, 0, 0, b"", _R, _W, 0, 0, 0, 0, 0)
change_at = entry_point(change, _SIDES, _T, _R, 0, 0, 0, b"", _R)
load_levels_at = entry_point(load_levels, _SIDES, _T, _R, 0, b"", _R)
join_top_at = entry_point(join_top, _SIDES, _T, 0, np.zeros(1, np.uint8))


@njit(cache=True, inline="always")
def _qty_of(sides, s, price):
    """The book's quantity at ``price`` on side ``s``; -1 when absent."""
    n = sides[STATE, s]
    k = price if s == 0 else -price
    i = _find(sides[s], n, k)
    if i < n and sides[s, i] == k:
        return sides[2 + s, i]
    return -1


@njit(cache=True)
def same_levels(sides, rows, n_bids):
    """The book holds exactly these levels (as ``dict(levels) == side``, each side): a re-sent
    snapshot."""
    count = len(rows) // 2
    if n_bids != sides[STATE, 0] or count - n_bids != sides[STATE, 1]:
        return False
    for r in range(count):
        s = 0 if r < n_bids else 1
        if _qty_of(sides, s, rows[2 * r]) != rows[2 * r + 1]:
            return False
        for j in range(r):  # a repeated price: fewer distinct levels than the book holds
            if (j < n_bids) == (r < n_bids) and rows[2 * j] == rows[2 * r]:
                return False
    return True


@njit(cache=True)
def diff_levels(sides, rows, n_bids, diff):
    """The differences a snapshot makes to the book, as ``InbandBook.load`` publishes them, into
    ``diff`` (flat pairs): per side, each level the snapshot lacks with qty 0 (book order), then
    each snapshot level whose quantity differs (first position of a repeated price, its last
    quantity). Returns (row count, bid rows)."""
    count = len(rows) // 2
    o = 0
    nb_diff = 0
    for s in range(2):
        lo, hi = (0, n_bids) if s == 0 else (n_bids, count)
        n = sides[STATE, s]
        for j in range(n):
            k = sides[s, j]
            p = k if s == 0 else -k
            listed = False
            for r in range(lo, hi):
                if rows[2 * r] == p:
                    listed = True
                    break
            if not listed:
                diff[2 * o] = p
                diff[2 * o + 1] = 0
                o += 1
        for r in range(lo, hi):
            p = rows[2 * r]
            first = True
            for j in range(lo, r):
                if rows[2 * j] == p:
                    first = False
                    break
            if not first:
                continue
            q = rows[2 * r + 1]
            for j in range(hi - 1, r, -1):  # a repeated price keeps its last quantity
                if rows[2 * j] == p:
                    q = rows[2 * j + 1]
                    break
            if _qty_of(sides, s, p) != q:  # absent (-1) always differs
                diff[2 * o] = p
                diff[2 * o + 1] = q
                o += 1
        if s == 0:
            nb_diff = o
    return o, nb_diff


same_levels_at = entry_point(same_levels, _SIDES, _R, 0)
diff_levels_at = entry_point(diff_levels, _SIDES, _R, 0, _R)
