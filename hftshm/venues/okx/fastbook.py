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

``update(frame, sides, texts, work, words, recv_ns, depth)``: a live book's next update in one
call (read, sequence checked, applied, records written, checksum checked), the normalizer's
usual books case, which calls it as ``update_by`` (its arrays by address, the hot instId
checked); ``checksum_top``: OKX's checksum computed over the book's kept texts (CRC-32, zlib's
polynomial, 16 bytes a step), which tests compare with ``normalize.checksum`` (zlib).
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

from hftshm.feed.fastjson import expect, string_end
from hftshm.ring.fast import entry_point
from hftshm.ring.pointers import address, bytes_at, words_at

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


_MAX = (1 << 63) - 1
_E8 = 100_000_000
_MAX_WHOLE = _MAX // _E8
_P10 = np.array([10 ** k for k in range(9)], np.int64)


# ``feed.fastjson``'s _uint and _dec, without a division a digit: at most 18 significant digits a
# run (no int64 overflow), a longer run is no match (the general path reads it, as it reads any frame
# these refuse). What they accept, they read as fastjson's do.
@njit(cache=True, inline="always")
def _digits(buf, pos, n):
    """The decimal digits at ``pos``: (value, end); end -1 past 18 of them after leading zeros."""
    while pos < n and buf[pos] == 48:
        pos += 1
    v = 0
    start = pos
    while pos < n:
        d = np.int64(buf[pos]) - 48
        if d < 0 or d > 9:
            break
        v = v * 10 + d
        pos += 1
    if pos - start > 18:
        return 0, -1
    return v, pos


@njit(cache=True, inline="always")
def _uint(buf, pos, n):
    """A JSON integer without sign at ``pos``: (value, end), end -1 if none or too long."""
    if pos < 0 or pos >= n:
        return 0, -1
    d = np.int64(buf[pos]) - 48
    if d < 0 or d > 9:
        return 0, -1
    if d == 0:  # JSON allows no leading zero: "0" alone
        if pos + 1 < n and 48 <= buf[pos + 1] <= 57:
            return 0, -1
        return 0, pos + 1
    return _digits(buf, pos, n)


@njit(cache=True, inline="always")
def _dec(buf, pos, n):
    """parse_e8's grammar at ``pos`` (the string's body): (e8 value, end), end -1 if it fails."""
    whole, end = _digits(buf, pos, n)
    if end < 0 or end == pos or whole > _MAX_WHOLE:
        return 0, -1
    pos = end
    frac = 0
    digits = 0
    if pos < n and buf[pos] == 46:  # "."
        pos += 1
        while pos < n:
            d = np.int64(buf[pos]) - 48
            if d < 0 or d > 9:
                break
            digits += 1
            if digits > 8:
                return 0, -1
            frac = frac * 10 + d
            pos += 1
        if digits == 0:
            return 0, -1
    base = whole * _E8
    part = frac * _P10[8 - digits]
    if base > _MAX - part:
        return 0, -1
    return base + part, pos


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
OTHER, NEED_OUT, IDLE = -5, -6, -7
LAST = 6  # sides[STATE, LAST]: the book's last seqId (an OKX book's; inband_arrays leaves it alone)
# sides[STATE, CK_STATES + i]: the checksum's CRC state before level pair i, valid for i <
# sides[STATE, CK_VALID] (0: none); an update recomputes from the first pair it changed. Any
# other change to the book (the normalizer's Python paths) sets CK_VALID to 0.
CK_VALID, CK_STATES = 8, 9
CHECKSUM_BAD = 1 << 29  # added to a count: applied, but the checksum differs (the caller resets)
WORK_VALS = 16  # work[:WORK_VALS]: parse's vals, then (WORK_VALS = 16) rows and toff (see rows_of)
_MAX_MS = ((1 << 63) - 1) // 1_000_000


def _crc_table() -> np.ndarray:
    """CRC-32 (zlib's: reflected 0xEDB88320) tables for 16 bytes a step ("slicing by 16"):
    row k maps a byte to its CRC followed by k zero bytes."""
    t = np.zeros((16, 256), np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        t[0, i] = c
    for i in range(256):
        c = int(t[0, i])
        for k in range(1, 16):
            c = (c >> 8) ^ int(t[0, c & 0xFF])
            t[k, i] = c
    return t


_CRC = _crc_table()


def _before(byte: int, after: int) -> int:
    """The CRC state that ``byte`` takes to ``after`` (a byte step is one-to-one)."""
    top = after >> 24
    idx = next(i for i in range(256) if int(_CRC[0, i]) >> 24 == top)
    return ((after ^ int(_CRC[0, idx])) << 8) | (idx ^ byte)


# Every level is hashed as ":" + its text (the row's bytes from 0, the length byte read as
# ":"), 8 aligned bytes a load; the first level's ":" is hashed from the state it takes to the
# initial one, so it adds nothing.
_COLON = 58
_START = _before(_COLON, 0xFFFFFFFF)
if sys.byteorder != "little":  # the rows are read as little-endian words
    raise ImportError("hftshm.venues.okx.fastbook reads texts as little-endian words")


@njit(cache=True, inline="always")
def _tb(k, x):
    return np.int64(_CRC[k, x & 0xFF])


@njit(cache=True, inline="always")
def _crc_row(c, row, j):
    """The running CRC ``c`` (pre-inverted, in 0..2**32) over ":" + a level's text: its texts
    row, words ``row[j:]`` (uint64), bytes 0..k, byte 0 (the length, k) read as ":"."""
    d = np.int64(row[j])
    n = (d & 0xFF) + 1  # bytes to hash
    d = (d & ~np.int64(0xFF)) | _COLON  # the next 8 bytes
    while n >= 16:
        z = d ^ c
        y = np.int64(row[j + 1])
        c = ((_tb(15, z) ^ _tb(14, z >> 8) ^ _tb(13, z >> 16) ^ _tb(12, z >> 24))
             ^ (_tb(11, z >> 32) ^ _tb(10, z >> 40) ^ _tb(9, z >> 48) ^ _tb(8, z >> 56))
             ^ (_tb(7, y) ^ _tb(6, y >> 8) ^ _tb(5, y >> 16) ^ _tb(4, y >> 24))
             ^ (_tb(3, y >> 32) ^ _tb(2, y >> 40) ^ _tb(1, y >> 48) ^ _tb(0, y >> 56)))
        n -= 16
        j += 2
        d = np.int64(row[j]) if n else 0
    if n >= 8:
        z = d ^ c
        c = ((_tb(7, z) ^ _tb(6, z >> 8) ^ _tb(5, z >> 16) ^ _tb(4, z >> 24))
             ^ (_tb(3, z >> 32) ^ _tb(2, z >> 40) ^ _tb(1, z >> 48) ^ _tb(0, z >> 56)))
        n -= 8
        j += 1
        d = np.int64(row[j]) if n else 0
    if n >= 4:
        z = d ^ c
        c = _tb(3, z) ^ _tb(2, z >> 8) ^ _tb(1, z >> 16) ^ _tb(0, z >> 24)
        d >>= 32
        n -= 4
    for _ in range(n):
        c = _tb(0, c ^ d) ^ (c >> 8)
        d >>= 8
    return c


@njit(cache=True, inline="always")
def _checksum(sides, texts, depth, start, cache):
    """OKX's checksum of the best ``depth`` levels a side from level pair ``start`` on (pair i:
    bid i then ask i, best first), from the state cached before it (``cache``: the book's
    STATE row keeps the state before each pair, CK_VALID of them valid; refreshed here)."""
    st = sides[A.STATE]
    nb, na = st[0], st[1]
    pairs = min(depth, max(nb, na))
    if len(st) < CK_STATES + pairs + 1:
        cache = False
    if not cache:
        start = 0
    start = min(start, pairs)
    words = texts.view(np.uint64).reshape(-1)
    w = texts.shape[2] // 8  # words a row
    ask0 = texts.shape[1] * w  # the asks' first row
    c = st[CK_STATES + start] if start else np.int64(_START)
    for i in range(start, pairs):
        if cache:
            st[CK_STATES + i] = c
        if i < nb:
            c = _crc_row(c, words, (nb - 1 - i) * w)
        if i < na:
            c = _crc_row(c, words, ask0 + (na - 1 - i) * w)
    if cache:
        st[CK_STATES + pairs] = c
        st[CK_VALID] = pairs + 1
    c ^= 0xFFFFFFFF
    return c - (1 << 32) if c >= 1 << 31 else c


@njit(cache=True)
def checksum_top(sides, texts, depth):
    """OKX's checksum (CRC-32 as a signed 32-bit int) of the book's best ``depth`` levels a
    side, ``bid:size:ask:size:..`` from their texts as sent: ``inband_arrays.join_top``'s text,
    hashed as it is walked (no copy); no cached state used or kept."""
    return _checksum(sides, texts, depth, 0, False)


@njit(cache=True, inline="always")
def _first_changed(sides, rows, count, n_bids):
    """The best rank (0: the best level) an update's rows touch, before they apply: the levels
    better than it on both sides stay as they are."""
    st = sides[A.STATE]
    first = 1 << 62
    for r in range(count):
        s = 0 if r < n_bids else 1
        k = rows[2 * r] if s == 0 else -rows[2 * r]
        n = st[s]
        j = A._find(sides[s], n, k)
        better = n - j - (1 if j < n and sides[s, j] == k else 0)
        if better < first:
            first = better
    return first


@njit(cache=True, inline="always")
def rows_of(work):
    """``work``'s parts: parse's vals, rows (flat price/size pairs) and toff (text offsets)."""
    m = (len(work) - WORK_VALS) // 6
    return work[:WORK_VALS], work[WORK_VALS:WORK_VALS + 2 * m], work[WORK_VALS + 2 * m:WORK_VALS + 6 * m]


@njit(cache=True)
def update(buf, sides, texts, work, words, recv_ns, depth):
    """A live book's next update in one call: ``parse``, then, when it is an ``update``
    chained to the book's last ``seqId`` (``sides[STATE, LAST]``: prevSeqId == it, seqId >=
    prevSeqId) with a time the general path takes,

    - with levels: the levels into the text book and the records written at record 0 of
      ``words`` as ``inband_arrays.apply_text`` does; the book's last ``seqId`` becomes this
      one; the push's checksum (unless 0) checked against the best ``depth`` levels a side.
      The count comes back (+ NEED_QUOTE: the caller writes the QUOTE; + CHECKSUM_BAD: a
      mismatch, the caller resets the book).
    - without levels and seqId == prevSeqId: IDLE (an idle book's heartbeat; nothing changes).

    Otherwise codes as apply_text's (LONG_TEXT, BIG_VALUE, NEED_ROOM before any change, CROSSED
    after), OTHER (nothing changed: the caller's other paths decide), or NEED_OUT (the output
    records: ``work[10]`` holds how many). ``work[4]`` holds ``ts`` (ms) once parsed."""
    vals, rows, toff = rows_of(work)
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
    if prev != sides[A.STATE, LAST] or seq < prev or not 0 < ts <= _MAX_MS:
        return OTHER
    if not count:
        return IDLE if seq == prev else OTHER
    if count + 1 > len(words) // 16:
        vals[10] = count + 1
        return NEED_OUT
    st = sides[A.STATE]
    valid = st[CK_VALID] if len(st) > CK_VALID else 0
    first = _first_changed(sides, rows, count, nb)  # the checksum's states before it still hold
    if len(st) > CK_VALID:
        st[CK_VALID] = 0  # none, until the checksum refreshes them (or the apply fails)
    w = A.apply_text(sides, texts, rows, 0, count, nb, buf, toff, words, 0, ts * 1_000_000, recv_ns, seq, prev)
    if w < 0:
        return w
    st[LAST] = seq
    if want:
        if _checksum(sides, texts, depth, min(first, valid - 1) if valid else 0, True) != want:
            w += CHECKSUM_BAD
    elif valid:
        st[CK_VALID] = min(valid, first + 1)
    return w


checksum_top_at = entry_point(checksum_top, np.zeros((5, 8), np.int64), np.zeros((2, 8, 0), np.uint8), 0)


# ``update`` with every array by address (``ctx``: int64 words, see ``bind`` and ``bind_book``):
# each array passed from Python costs ~40 ns, an int a few (ring/pointers.py). The hot book's
# sides and texts are bound when it becomes the hot one and again whenever it grows (replaces
# them). The hot instrument's instId is checked here, so the caller needs no prefix comparison.
(CTX_WORK, CTX_WORK_LEN, CTX_WORDS, CTX_WORDS_LEN, CTX_NAME, CTX_SIDES, CTX_TEXTS, CTX_CAP, CTX_TEXT_W,
 CTX_LEN) = range(10)
MISS = -8  # the frame does not start with the hot instrument's books head: nothing read or changed
_NAME_AT = len(_HEAD)


def name_row(name: bytes) -> np.ndarray:
    """An instId as the int64 row ``update_by`` compares: [length, one byte a word...]."""
    row = np.zeros(1 + len(name), np.int64)
    row[0] = len(name)
    row[1:] = np.frombuffer(name, np.uint8)
    return row


def bind(ctx: np.ndarray, work: np.ndarray, words: np.ndarray) -> None:
    """Point ``ctx`` at ``update``'s work and the output records as int64 words (kept alive by
    the caller, which binds again whenever it replaces one)."""
    for a in (work, words):
        assert a.dtype == np.int64 and a.flags.c_contiguous
    ctx[CTX_WORK], ctx[CTX_WORK_LEN] = address(work), len(work)
    ctx[CTX_WORDS], ctx[CTX_WORDS_LEN] = address(words), len(words)


def bind_book(ctx: np.ndarray, name: np.ndarray, sides: np.ndarray, texts: np.ndarray) -> None:
    """Point ``ctx`` at the hot book: its instId (``name_row``), sides and texts (kept alive by
    the caller, which binds again whenever the book replaces them)."""
    assert sides.dtype == np.int64 and texts.dtype == np.uint8 and sides.flags.c_contiguous
    assert texts.flags.c_contiguous and sides.shape[0] == 5 and texts.shape[:2] == (2, sides.shape[1])
    ctx[CTX_NAME] = address(name)
    ctx[CTX_SIDES], ctx[CTX_TEXTS] = address(sides), address(texts)
    ctx[CTX_CAP], ctx[CTX_TEXT_W] = sides.shape[1], texts.shape[2]


@njit(cache=True)
def update_by(buf, ctx_addr, recv_ns, depth):
    """``update`` of the hot book for a frame that starts with the books head of its instId,
    else MISS; every array from ``ctx``."""
    ctx = words_at(ctx_addr, CTX_LEN)
    m = words_at(ctx[CTX_NAME], 1)[0]
    name = words_at(ctx[CTX_NAME], 1 + m)
    n = len(buf)
    if n <= _NAME_AT + m or buf[_NAME_AT + m] != 34:  # the instId's closing quote
        return MISS
    for j in range(_NAME_AT):
        if buf[j] != _HEAD[j]:
            return MISS
    for j in range(m):
        if buf[_NAME_AT + j] != name[1 + j]:
            return MISS
    cap = ctx[CTX_CAP]
    return update(buf, words_at(ctx[CTX_SIDES], (5, cap)), bytes_at(ctx[CTX_TEXTS], (2, cap, ctx[CTX_TEXT_W])),
                  words_at(ctx[CTX_WORK], ctx[CTX_WORK_LEN]), words_at(ctx[CTX_WORDS], ctx[CTX_WORDS_LEN]), recv_ns,
                  depth)


update_by_at = entry_point(update_by, b"{}", 0, 0, 0)
