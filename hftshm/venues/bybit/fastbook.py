"""A live Bybit book's next push in one compiled call: read, applied, written. The fast path.

The shape is the book template's (``BybitNormalizer.TEMPLATES``, the docs' key order)::

    {"topic":"<STR>","type":"<STR>","ts":<INT>,"data":{"s":"<STR>","b":<LEVELS>,"a":<LEVELS>,
     "u":<INT>,"seq":<INT>},"cts":<INT>}

read with ``feed.fastjson``'s scanners (a frame that matches is valid JSON with exactly these
values). ``delta(frame, sides, work, words, n, recv_ns, last, diff)``, for a live book whose
last ``u`` is ``last``, takes a frame of this shape with a time the general path takes
(0 < ts <= int64 ns / 1e6) when it is

- a delta with ``u`` = last + 1: its levels go into the book;
- a snapshot (depth 1) with ``u`` = last + 1 (not 1, a restart): its differences from the book
  (``inband_arrays.diff_levels``, into ``diff``) go in, as ``InbandBook.load`` does;
- a snapshot with ``u`` = last holding the book's levels: RESENT (nothing changes);

and writes the records as ``inband_arrays.apply_plain`` does, returning their count. Otherwise
nothing changes and a code says why: OTHER (anything else: the normalizer's other paths
decide), NEED_ROOM (the book's arrays), NEED_OUT / NEED_DIFF (the output records / ``diff``:
``work[0]`` holds how many it needs), BIG_VALUE (a value past 2**53), CROSSED (applied,
crossed: the caller resets the book). ``work[1]`` holds ``ts`` once the frame has the shape.

The normalizer calls ``delta_by``: ``delta`` with its arrays by address and the frame's topic
checked against the book it passes (the one it read last), and ``ticker_by``: a tickers delta's
whole MARK in one call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hftshm.feed.fastjson import MAX_VALS, expect, md_record, string_end, uint_or_fail, _dec, _levels, _uint
from hftshm.layouts import md
from hftshm.ring.fast import entry_point
from hftshm.ring.pointers import address, words_at

from .. import inband_arrays as A

OTHER, NEED_OUT, RESENT, NEED_DIFF = -5, -6, -7, -8
_MAX_MS = ((1 << 63) - 1) // 1_000_000
_HEAD = np.frombuffer(b'{"topic":"', np.uint8)
_TYPE = np.frombuffer(b'","type":"', np.uint8)
_TS = np.frombuffer(b'","ts":', np.uint8)
_DELTA = np.frombuffer(b"delta", np.uint8)
_SNAPSHOT = np.frombuffer(b"snapshot", np.uint8)
_DATA = np.frombuffer(b',"data":{"s":"', np.uint8)
_B = np.frombuffer(b'","b":', np.uint8)
_A = np.frombuffer(b',"a":', np.uint8)
_U = np.frombuffer(b',"u":', np.uint8)
_SEQ = np.frombuffer(b',"seq":', np.uint8)
_CTS = np.frombuffer(b'},"cts":', np.uint8)


@njit(cache=True, inline="always")
def _is(buf, a, b, word):
    if b - a != len(word):
        return False
    for j in range(b - a):
        if buf[a + j] != word[j]:
            return False
    return True


@njit(cache=True)
def delta(buf, sides, work, words, n, recv_ns, last, diff):
    size = len(buf)
    rows_max = (len(work) - MAX_VALS) // 2
    pos = string_end(buf, expect(buf, 0, size, _HEAD), size)
    k0 = expect(buf, pos, size, _TYPE)
    k1 = string_end(buf, k0, size)
    ts, pos = uint_or_fail(buf, expect(buf, k1, size, _TS), size)
    pos = string_end(buf, expect(buf, pos, size, _DATA), size)
    pos = expect(buf, pos, size, _B)
    if pos < 0:
        return OTHER
    pos, nb = _levels(buf, pos, size, work, 0, rows_max)
    pos = expect(buf, pos, size, _A)
    if pos < 0:
        return OTHER
    pos, end = _levels(buf, pos, size, work, nb, rows_max)
    u, pos = uint_or_fail(buf, expect(buf, pos, size, _U), size)
    seq, pos = uint_or_fail(buf, expect(buf, pos, size, _SEQ), size)
    _, pos = uint_or_fail(buf, expect(buf, pos, size, _CTS), size)
    if pos < 0 or pos + 1 != size or buf[pos] != 125 or not 0 < ts <= _MAX_MS:  # "}"
        return OTHER
    work[1] = ts
    rows = work[MAX_VALS:]
    if _is(buf, k0, k1, _DELTA):
        if u != last + 1:
            return OTHER
        count = end
    elif _is(buf, k0, k1, _SNAPSHOT) and u != 1:  # depth 1: snapshots only, each continuing the book
        if u == last:
            return RESENT if A.same_levels(sides, rows[:2 * end], nb) else OTHER
        if u != last + 1:
            return OTHER
        need = 2 * (sides[A.STATE, 0] + sides[A.STATE, 1] + end)
        if len(diff) < need:
            work[0] = need
            return NEED_DIFF
        if n + sides[A.STATE, 0] + sides[A.STATE, 1] + end + 1 > len(words) // 16:
            work[0] = sides[A.STATE, 0] + sides[A.STATE, 1] + end + 1
            return NEED_OUT
        count, nb = A.diff_levels(sides, rows[:2 * end], nb, diff)
        rows = diff
    else:
        return OTHER
    if n + count + 1 > len(words) // 16:
        work[0] = count + 1
        return NEED_OUT
    if not A._room(sides, count):
        return A.NEED_ROOM
    if not A._exact(rows, 0, count):
        return A.BIG_VALUE
    for r in range(count):
        A._set(sides, 0 if r < nb else 1, rows[2 * r], rows[2 * r + 1], False)
    if A._crossed(sides):
        return A.CROSSED
    return A._write(sides, rows, 0, count, nb, words, n, ts * 1_000_000, recv_ns, u, seq)


# The normalizer's own arrays by address (``ctx``: int64 words, see ``bind``): each array passed
# from Python costs a meminfo and two reference counts, an int a few ns (ring/pointers.py). The
# book's sides stay an array argument: the book may replace them (growing) where the normalizer
# does not see it. The book topics' table lets the kernel route the frame: the Python side needs
# no slice, search or lookup of the topic for the book it called with (the hot one).
(CTX_WORK, CTX_WORK_LEN, CTX_WORDS, CTX_WORDS_LEN, CTX_DIFF, CTX_DIFF_LEN, CTX_TOPICS, CTX_TOPIC_W,
 CTX_TOPIC_N, CTX_HOT, CTX_LEN) = range(11)
MISS = -1000  # the frame is book topic i's, not the hot one's: MISS - i (nothing read or changed)


def topic_table(topics) -> np.ndarray:
    """Book topics (bytes) as int64 rows: [length, one byte a word...]."""
    width = 1 + max(len(t) for t in topics)
    table = np.zeros((len(topics), width), np.int64)
    for i, t in enumerate(topics):
        table[i, 0] = len(t)
        table[i, 1:1 + len(t)] = np.frombuffer(t, np.uint8)
    return table


def bind(ctx: np.ndarray, work: np.ndarray, words: np.ndarray, diff: np.ndarray, topics: np.ndarray) -> None:
    """Point ``ctx`` at the arrays ``delta_by`` uses (int64, C-contiguous, kept alive by the
    caller, which binds again whenever it replaces one)."""
    for a in (work, words, diff, topics):
        assert a.dtype == np.int64 and a.flags.c_contiguous
    ctx[CTX_WORK], ctx[CTX_WORK_LEN] = address(work), len(work)
    ctx[CTX_WORDS], ctx[CTX_WORDS_LEN] = address(words), len(words)
    ctx[CTX_DIFF], ctx[CTX_DIFF_LEN] = address(diff), len(diff)
    ctx[CTX_TOPICS], ctx[CTX_TOPIC_N], ctx[CTX_TOPIC_W] = address(topics), topics.shape[0], topics.shape[1]


@njit(cache=True, inline="always")
def _topic_is(buf, table, w, i, end):
    o = i * w
    m = table[o]
    if end - 10 != m:
        return False
    for j in range(m):
        if buf[10 + j] != table[o + 1 + j]:
            return False
    return True


@njit(cache=True)
def delta_by(buf, sides, ctx_addr, last, recv_ns):
    """``delta`` for a frame of the hot book topic (``ctx[CTX_HOT]``), whose book's ``sides``
    and ``last`` these are, with ``work``, ``words`` (records from 0) and ``diff`` from ``ctx``
    at ``ctx_addr``: the same result, the same arrays changed. Another book topic of the table:
    MISS - its index; none: OTHER (nothing read or changed)."""
    ctx = words_at(ctx_addr, CTX_LEN)
    size = len(buf)
    end = string_end(buf, expect(buf, 0, size, _HEAD), size)
    if end < 0:
        return OTHER
    w = ctx[CTX_TOPIC_W]
    n = ctx[CTX_TOPIC_N]
    table = words_at(ctx[CTX_TOPICS], n * w)
    hot = ctx[CTX_HOT]
    if not _topic_is(buf, table, w, hot, end):
        for i in range(n):
            if i != hot and _topic_is(buf, table, w, i, end):
                return MISS - i
        return OTHER
    return delta(buf, sides, words_at(ctx[CTX_WORK], ctx[CTX_WORK_LEN]), words_at(ctx[CTX_WORDS], ctx[CTX_WORDS_LEN]),
                 0, recv_ns, last, words_at(ctx[CTX_DIFF], ctx[CTX_DIFF_LEN]))


delta_by_at = entry_point(delta_by, b"{}", np.zeros((5, 8), np.int64), 0, 0, 0)


_T_HEAD = np.frombuffer(b'","type":"snapshot","ts":', np.uint8)
_T_DATA = np.frombuffer(b',"data":[{"T":', np.uint8)
_T_S = np.frombuffer(b',"s":"', np.uint8)
_T_SIDE = np.frombuffer(b'","S":"', np.uint8)
_T_V = np.frombuffer(b'","v":"', np.uint8)
_T_P = np.frombuffer(b'","p":"', np.uint8)
_T_L = np.frombuffer(b'","L":"', np.uint8)
_T_I = np.frombuffer(b'","i":"', np.uint8)
_T_BT = np.frombuffer(b'","BT":', np.uint8)
_T_SEQ = np.frombuffer(b',"seq":', np.uint8)
_T_END = np.frombuffer(b'}]}', np.uint8)
_BUY = np.frombuffer(b"Buy", np.uint8)
_SELL = np.frombuffer(b"Sell", np.uint8)
_INT64_MAX = (1 << 63) - 1
_TRADE = md.TRADE


@njit(cache=True)
def trade(buf, words, sid, recv_ns, side_buy, side_sell, not_market):
    """A one-trade publicTrade push of the trade template's shape (``BybitNormalizer.TEMPLATES``
    [0]) as its TRADE record at ``words`` record 0, as the template path packs it: 1, or OTHER
    for anything that path would not take (another shape, a side not Buy/Sell, a zero price or
    size, a time out of range) or a value of 2**53 or more (its float from Python)."""
    size = len(buf)
    pos = string_end(buf, expect(buf, 0, size, _HEAD), size)
    ts, pos = uint_or_fail(buf, expect(buf, pos, size, _T_HEAD), size)
    txn, pos = uint_or_fail(buf, expect(buf, pos, size, _T_DATA), size)
    pos = string_end(buf, expect(buf, pos, size, _T_S), size)
    s0 = expect(buf, pos, size, _T_SIDE)
    s1 = string_end(buf, s0, size)
    pos = expect(buf, s1, size, _T_V)
    if pos < 0:
        return OTHER
    qty, pos = _dec(buf, pos, size)
    pos = expect(buf, pos, size, _T_P)
    if pos < 0:
        return OTHER
    price, pos = _dec(buf, pos, size)
    pos = string_end(buf, expect(buf, pos, size, _T_L), size)
    i0 = expect(buf, pos, size, _T_I)
    i1 = string_end(buf, i0, size)
    pos = expect(buf, i1, size, _T_BT)
    if pos < 0:
        return OTHER
    if pos + 4 <= size and buf[pos] == 116 and buf[pos + 1] == 114 and buf[pos + 2] == 117 and buf[pos + 3] == 101:
        block = True
        pos += 4
    elif (pos + 5 <= size and buf[pos] == 102 and buf[pos + 1] == 97 and buf[pos + 2] == 108
          and buf[pos + 3] == 115 and buf[pos + 4] == 101):
        block = False
        pos += 5
    else:
        return OTHER
    seq, pos = uint_or_fail(buf, expect(buf, pos, size, _T_SEQ), size)
    pos = expect(buf, pos, size, _T_END)
    if pos != size:
        return OTHER
    if _is(buf, s0, s1, _BUY):
        side = side_buy
    elif _is(buf, s0, s1, _SELL):
        side = side_sell
    else:
        return OTHER
    if not price or not qty or not 0 < ts <= _MAX_MS or not 0 < txn <= _MAX_MS:
        return OTHER
    if price >= 1 << 53 or qty >= 1 << 53:
        return OTHER
    tid = 0  # the trade id when it is a decimal integer within int64 (spot), else 0 (linear: a UUID)
    if 0 < i1 - i0 <= 19:
        for j in range(i0, i1):
            d = buf[j] - 48
            if d < 0 or d > 9:
                tid = -1
                break
            if tid > (_INT64_MAX - d) // 10:
                tid = -1
                break
            tid = tid * 10 + d
        if tid < 0:
            tid = 0
    md_record(words, 0, _TRADE, side, not_market if block else 0, sid, ts * 1_000_000, txn * 1_000_000, recv_ns,
              tid, seq, price, qty, 0, 0)
    return 1


trade_at = entry_point(trade, b"{}", np.zeros(16, np.int64), 0, 0, 0, 0, 0)


# -- tickers (linear): a delta of any field set, the fields the MARK record uses located --------

_K_DELTA = np.frombuffer(b'","type":"delta","data":{"symbol":"', np.uint8)
_K_CS = np.frombuffer(b'},"cs":', np.uint8)
_K_TS = np.frombuffer(b',"ts":', np.uint8)
_K_MARK = np.frombuffer(b"markPrice", np.uint8)
_K_INDEX = np.frombuffer(b"indexPrice", np.uint8)
_K_FUNDING = np.frombuffer(b"fundingRate", np.uint8)
_K_NEXT = np.frombuffer(b"nextFundingTime", np.uint8)
_K_OI = np.frombuffer(b"openInterest", np.uint8)
TICKER_FIELDS = ("markPrice", "indexPrice", "fundingRate", "nextFundingTime", "openInterest")


@njit(cache=True)
def ticker(buf, work):
    """A tickers delta in the docs' envelope (``{"topic":"<STR>","type":"delta","data":{"symbol":
    "<STR>",<"key":"<STR>">...},"cs":<INT>,"ts":<INT>}``, every data value a plain string, as
    Bybit sends them): a bit mask of which of ``TICKER_FIELDS`` it carries (bit i: field i), with
    work[0] = the topic's end, work[1] = cs, work[2] = ts and work[3 + 2i], work[4 + 2i] = field
    i's value offsets. Any other shape (a snapshot, a value not a plain string, one of those
    fields twice) is OTHER: the general path decides. Valid JSON whenever it matches. Bits 5 + i:
    field i's value read by parse_e8's grammar (the funding rate with an optional "-") into
    work[13 + i] (not for nextFundingTime; a value it does not take is left to the caller)."""
    size = len(buf)
    p1 = string_end(buf, expect(buf, 0, size, _HEAD), size)
    pos = string_end(buf, expect(buf, p1, size, _K_DELTA), size)
    if pos < 0:
        return OTHER
    pos += 1
    mask = 0
    while True:
        if pos + 2 > size:
            return OTHER
        if buf[pos] != 44 or buf[pos + 1] != 34:  # ',"': a next key, else the data's end
            break
        k0 = pos + 2
        k1 = string_end(buf, k0, size)
        if k1 < 0 or k1 + 3 > size or buf[k1 + 1] != 58 or buf[k1 + 2] != 34:  # '":"'
            return OTHER
        v0 = k1 + 3
        v1 = string_end(buf, v0, size)
        if v1 < 0:
            return OTHER
        pos = v1 + 1
        i = -1
        n = k1 - k0
        if n == 9 and _is(buf, k0, k1, _K_MARK):
            i = 0
        elif n == 10 and _is(buf, k0, k1, _K_INDEX):
            i = 1
        elif n == 11 and _is(buf, k0, k1, _K_FUNDING):
            i = 2
        elif n == 15 and _is(buf, k0, k1, _K_NEXT):
            i = 3
        elif n == 12 and _is(buf, k0, k1, _K_OI):
            i = 4
        if i >= 0:
            if mask & (1 << i):  # twice: JSON's last one wins; the general path reads it
                return OTHER
            mask |= 1 << i
            work[3 + 2 * i] = v0
            work[4 + 2 * i] = v1
    cs, pos = uint_or_fail(buf, expect(buf, pos, size, _K_CS), size)
    ts, pos = uint_or_fail(buf, expect(buf, pos, size, _K_TS), size)
    if pos < 0 or pos + 1 != size or buf[pos] != 125:  # "}"
        return OTHER
    work[0] = p1
    work[1] = cs
    work[2] = ts
    parsed = 0  # mark, index, open interest as parse_e8 reads them, the funding rate signed
    for i in (0, 1, 2, 4):
        if mask & (1 << i):
            v0 = work[3 + 2 * i]
            v1 = work[4 + 2 * i]
            neg = i == 2 and v1 > v0 and buf[v0] == 45  # "-"
            value, end = _dec(buf, v0 + 1 if neg else v0, v1)
            if end == v1:
                work[13 + i] = -value if neg else value
                parsed |= 1 << i
    return mask | (parsed << 5)



# -- tickers (linear): the whole MARK in one call, the symbol's state in an int64 row ----------

# ``kst`` (one symbol's ticker state, int64): the flags (KS_STATE: the general path holds a state
# for it; KS_MARK_TEXT: that state has a markPrice; KS_KNOWN: a MARK was made), the last MARK's
# values (KS_VALUES: mark, funding, index, next funding ns, open interest, as the general path
# computed or this kernel did), the symbol id, ``ticker``'s work, and where each field's text was
# in the last frame that carried it (KS_OFFSETS + 2i: start, end), for the normalizer's texts.
KS_FLAGS, KS_VALUES, KS_SID, KS_WORK, KS_OFFSETS, KS_LEN = 0, 1, 6, 8, 26, 36
KS_STATE, KS_MARK_TEXT, KS_KNOWN = 4, 2, 1
_MARK = md.MARK
_EXACT = 1 << 53


@njit(cache=True, inline="always")
def _texts_value(buf, work, i, mask):
    """Field i's value as the general path reads it from its text (``parsed`` bits of
    ``ticker``): (value, ok). Empty: 0 (not the mark price)."""
    v0 = work[3 + 2 * i]
    v1 = work[4 + 2 * i]
    if v0 == v1:
        return 0, i != 0
    if mask & (1 << (5 + i)):
        return work[13 + i], True
    return 0, False


@njit(cache=True)
def ticker_by(buf, kst, ctx_addr, recv_ns):
    """A tickers delta (``ticker``'s shape) for the symbol of ``kst``, as the general path merges
    it into the state and makes its MARK: 1 (the MARK written at record 0 of ``ctx``'s words, the
    values kept), 0 (no MARK value changed), plus 4 * the bits of the MARK fields it carries
    (their text offsets kept at KS_OFFSETS). OTHER (nothing changed) for anything the general
    path decides: no state or no mark price in it yet, a value it would refuse or that needs its
    floats from Python (2**53 or more), another shape."""
    work = kst[KS_WORK:KS_WORK + 18]
    mask = ticker(buf, work)
    if mask < 0:
        return OTHER
    ts = work[2]
    flags = kst[KS_FLAGS]
    if not 0 < ts <= _MAX_MS or not flags & KS_STATE:
        return OTHER
    fields = mask & 31
    if not fields:  # nothing the MARK uses: the merge changes no MARK field
        return 0
    if flags != KS_STATE | KS_MARK_TEXT | KS_KNOWN:
        return OTHER
    mark, funding, index, nxt, oi = kst[1], kst[2], kst[3], kst[4], kst[5]
    if fields & 1:
        mark, ok = _texts_value(buf, work, 0, mask)
        if not ok or not mark:
            return OTHER
    if fields & 2:
        index, ok = _texts_value(buf, work, 1, mask)
        if not ok:
            return OTHER
    if fields & 4:
        funding, ok = _texts_value(buf, work, 2, mask)
        if not ok:
            return OTHER
    if fields & 8:  # digits, "0" or empty (0); int(text) as ms within int64 ns, not 0 ("00")
        v0, v1 = work[9], work[10]
        nxt = 0
        for j in range(v0, v1):
            d = buf[j] - 48
            if d < 0 or d > 9 or nxt > (_MAX_MS - d) // 10:
                return OTHER
            nxt = nxt * 10 + d
        if nxt:
            nxt *= 1_000_000
        elif not (v1 == v0 or (v1 == v0 + 1 and buf[v0] == 48)):
            return OTHER
    if fields & 16:
        oi, ok = _texts_value(buf, work, 4, mask)
        if not ok:
            return OTHER
    if mark >= _EXACT or index >= _EXACT or funding >= _EXACT or funding <= -_EXACT:
        return OTHER  # a float the general path makes from Python's int / int (kept ones too)
    for i in range(5):
        if fields & (1 << i):
            kst[KS_OFFSETS + 2 * i] = work[3 + 2 * i]
            kst[KS_OFFSETS + 2 * i + 1] = work[4 + 2 * i]
    if mark == kst[1] and funding == kst[2] and index == kst[3] and nxt == kst[4] and oi == kst[5]:
        return 4 * fields
    kst[1], kst[2], kst[3], kst[4], kst[5] = mark, funding, index, nxt, oi
    ctx = words_at(ctx_addr, CTX_LEN)
    md_record(words_at(ctx[CTX_WORDS], 16), 0, _MARK, 0, 0, kst[KS_SID], ts * 1_000_000, nxt, recv_ns, work[1], oi,
              mark, funding, index, 0)
    return 1 + 4 * fields


ticker_by_at = entry_point(ticker_by, b"{}", np.zeros(KS_LEN, np.int64), 0, 0)
