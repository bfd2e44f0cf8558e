"""OKX ``books`` pushes in the docs' shape, read in one compiled pass: the books fast path.

The shape ("WS / Order book channel", push data; keys in this order, no blanks)::

    {"arg":{"channel":"books","instId":"<STR>"},"action":"<STR>","data":[{"asks":<L4>,
     "bids":<L4>,"ts":"<digits>","checksum":<int>,"prevSeqId":<int>,"seqId":<int>}]}

with ``<L4>`` = ``[]`` or ``[["<DEC>","<DEC>","<STR>","<STR>"],...]`` (price, size, the
deprecated "0", orders). ``<DEC>``, ``<STR>`` as in ``feed.fastjson`` (whose scanners this
reuses): a frame that matches is valid JSON whose values are exactly those returned, so the
normalizer may use them without orjson; anything else (another order, a blank, an escape, a zero
price, more rows than fit) is no match and goes to the general path. ``checksum`` and
``prevSeqId`` may carry a minus sign; ``seqId`` may not (the general path refuses it).

``parse(frame, vals, rows, toff)`` -> 1 on a match, else 0. ``vals``: instId start, end, action
start, end, ts, checksum, prevSeqId, seqId, bid count, ask count. ``rows``: flat (price_e8,
size_e8), bids then asks (as ``InbandBook.apply_at`` takes them); ``toff``: per row the offsets
of its price and size texts in ``frame`` (start, end, start, end).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hftshm.feed.fastjson import expect, string_end, _dec, _uint
from hftshm.ring.fast import entry_point

from .. import inband_arrays as A

_HEAD = np.frombuffer(b'{"arg":{"channel":"books","instId":"', np.uint8)
_ACTION = np.frombuffer(b'"},"action":"', np.uint8)
_ASKS = np.frombuffer(b'","data":[{"asks":', np.uint8)
_BIDS = np.frombuffer(b',"bids":', np.uint8)
_TS = np.frombuffer(b',"ts":"', np.uint8)
_CHECKSUM = np.frombuffer(b'","checksum":', np.uint8)
_PREV = np.frombuffer(b',"prevSeqId":', np.uint8)
_SEQ = np.frombuffer(b',"seqId":', np.uint8)
_TAIL = np.frombuffer(b'}]}', np.uint8)
VALS = 10


@njit(cache=True, inline="always")
def _sint(buf, pos, n):
    if pos < 0 or pos >= n:
        return 0, -1
    if buf[pos] == 45:  # "-"
        v, end = _uint(buf, pos + 1, n)
        return -v, end
    return _uint(buf, pos, n)


@njit(cache=True, inline="always")
def _levels4(buf, pos, n, rows, toff, row, limit):
    """``[["p","q","s","s"],...]`` at ``pos`` into rows from ``row``: (end, rows after)."""
    if pos < 0 or pos >= n or buf[pos] != 91:  # "["
        return -1, row
    pos += 1
    if pos < n and buf[pos] == 93:  # "]"
        return pos + 1, row
    while True:
        if row >= limit or pos + 2 > n or buf[pos] != 91 or buf[pos + 1] != 34:  # ["
            return -1, row
        p0 = pos + 2
        price, pos = _dec(buf, p0, n)
        if pos < 0 or price == 0 or pos + 3 > n or buf[pos] != 34 or buf[pos + 1] != 44 or buf[pos + 2] != 34:
            return -1, row
        p1 = pos
        q0 = pos + 3
        qty, pos = _dec(buf, q0, n)
        if pos < 0 or pos + 3 > n or buf[pos] != 34 or buf[pos + 1] != 44 or buf[pos + 2] != 34:
            return -1, row
        q1 = pos
        pos = string_end(buf, pos + 3, n)
        if pos < 0 or pos + 3 > n or buf[pos + 1] != 44 or buf[pos + 2] != 34:  # ","
            return -1, row
        pos = string_end(buf, pos + 3, n)
        if pos < 0 or pos + 2 > n or buf[pos + 1] != 93:  # "]
            return -1, row
        rows[2 * row] = price
        rows[2 * row + 1] = qty
        toff[4 * row] = p0
        toff[4 * row + 1] = p1
        toff[4 * row + 2] = q0
        toff[4 * row + 3] = q1
        row += 1
        pos += 2
        if pos >= n:
            return -1, row
        c = buf[pos]
        if c == 93:  # "]"
            return pos + 1, row
        if c != 44:  # ","
            return -1, row
        pos += 1


@njit(cache=True)
def parse(buf, vals, rows, toff):
    n = len(buf)
    limit = len(rows) // 2
    half = limit // 2
    pos = expect(buf, 0, n, _HEAD)
    vals[0] = pos
    pos = string_end(buf, pos, n)
    vals[1] = pos
    pos = expect(buf, pos, n, _ACTION)
    vals[2] = pos
    pos = string_end(buf, pos, n)
    vals[3] = pos
    pos = expect(buf, pos, n, _ASKS)
    pos, end_a = _levels4(buf, pos, n, rows, toff, half, limit)  # asks parked in the upper half
    pos = expect(buf, pos, n, _BIDS)
    pos, nb = _levels4(buf, pos, n, rows, toff, 0, half)
    pos = expect(buf, pos, n, _TS)
    ts, pos = _uint(buf, pos, n) if pos >= 0 else (0, -1)
    pos = expect(buf, pos, n, _CHECKSUM)
    checksum, pos = _sint(buf, pos, n)
    pos = expect(buf, pos, n, _PREV)
    prev, pos = _sint(buf, pos, n)
    pos = expect(buf, pos, n, _SEQ)
    seq, pos = _uint(buf, pos, n) if pos >= 0 else (0, -1)
    pos = expect(buf, pos, n, _TAIL)
    if pos != n:
        return 0
    na = end_a - half
    for i in range(na):  # the asks after the bids
        rows[2 * (nb + i)] = rows[2 * (half + i)]
        rows[2 * (nb + i) + 1] = rows[2 * (half + i) + 1]
        for k in range(4):
            toff[4 * (nb + i) + k] = toff[4 * (half + i) + k]
    vals[4] = ts
    vals[5] = checksum
    vals[6] = prev
    vals[7] = seq
    vals[8] = nb
    vals[9] = na
    return 1


parse_at = entry_point(parse, b"{}", np.zeros(VALS, np.int64), np.zeros(4, np.int64), np.zeros(8, np.int64))


_UPDATE = np.frombuffer(b"update", np.uint8)
OTHER, NEED_OUT = -5, -6
_MAX_MS = ((1 << 63) - 1) // 1_000_000


@njit(cache=True)
def update(buf, sides, texts, vals, rows, toff, words, n, recv_ns, last, buf_ck, depth):
    """A live book's next update in one call: ``parse``, then, when it is an ``update`` with
    levels chained to ``last`` (prevSeqId == last, seqId >= prevSeqId) and a time the general
    path takes, the levels into the text book and the records written as
    ``inband_arrays.apply_text`` does; the count comes back, and ``vals[10]`` holds the length
    of the checksum text joined into ``buf_ck`` (the best ``depth`` levels a side; 0 when the
    push's checksum is 0, not checked). Codes as apply_text's (LONG_TEXT, BIG_VALUE, NEED_ROOM
    before any change, CROSSED after), OTHER (the caller's other paths decide), or NEED_OUT
    (the output records: ``vals[10]`` holds how many)."""
    if not parse(buf, vals, rows, toff):
        return OTHER
    a0, a1 = vals[2], vals[3]
    if a1 - a0 != 6:
        return OTHER
    for j in range(6):
        if buf[a0 + j] != _UPDATE[j]:
            return OTHER
    ts, want, prev, seq, nb, na = vals[4], vals[5], vals[6], vals[7], vals[8], vals[9]
    count = nb + na
    if prev != last or seq < prev or not count or not 0 < ts <= _MAX_MS:
        return OTHER
    if n + count + 1 > len(words) // 16:
        vals[10] = count + 1
        return NEED_OUT
    w = A.apply_text(sides, texts, rows, 0, count, nb, buf, toff, words, n, ts * 1_000_000, recv_ns, seq, prev)
    vals[10] = A.join_top(sides, texts, depth, buf_ck) if w >= 0 and want else 0
    return w


update_at = entry_point(update, b"{}", np.zeros((5, 8), np.int64), np.zeros((2, 8, 0), np.uint8),
                        np.zeros(VALS + 1, np.int64), np.zeros(4, np.int64), np.zeros(8, np.int64),
                        np.zeros(16, np.int64), 0, 0, 0, np.zeros(8, np.uint8), 0)
