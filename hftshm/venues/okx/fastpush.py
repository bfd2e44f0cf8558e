"""OKX ``trades`` and ``bbo-tbt`` pushes in one compiled call: read, checked, written. The fast path.

The shapes (OKX v5 docs, "WS / Trades channel" and "WS / Order book channel" push data; keys in
the docs' order, no blanks)::

    {"arg":{"channel":"trades","instId":"<STR>"},"data":[<T>,<T>,...]}
      <T> = {"instId":"<STR>","tradeId":"<digits>","px":"<DEC>","sz":"<DEC>","side":"buy"|"sell",
             "ts":"<digits>","count":"<STR>"[,"source":"<STR>"][,"seqId":<INT>]}
    {"arg":{"channel":"bbo-tbt","instId":"<STR>"},"data":[{"asks":[["<DEC>","<DEC>","<STR>","<STR>"]],
     "bids":[["<DEC>","<DEC>","<STR>","<STR>"]],"ts":"<digits>","seqId":<INT>}]}

read with ``feed.fastjson``'s scanners (a frame that matches is valid JSON with exactly these
values). ``push_by(frame, ctx_addr, recv_ns)`` routes on the channel's second byte (``r``
trades, ``b`` bbo-tbt) and, for a frame of its shape that the general path would publish
(``normalize.OkxNormalizer._trades`` / ``_bbo``: a known instId, a side buy/sell, no zero price
or size, digits for ``tradeId`` within int64, ``ts`` within int64 ns, a quote neither crossed nor
one-sided), writes the same records from record 0 of the output and returns their count (one
TRADE per ``data`` element; one QUOTE), plus BIG when a value is 2**53 or more (its float must
be Python's int / int: the caller rewrites the floats). Anything else is OTHER (nothing the
caller needs was written: the general path decides) or NEED_OUT (more records than the output
holds: ``ctx[CTX_NEED]`` records, nothing else changed).

``ctx``: int64 words (see ``bind``), the normalizer's arrays by address (each array passed from
Python costs ~40 ns, an int a few: ring/pointers.py), and the instruments' table: a row a
known instId, [symbol id, length, one byte a word...].
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hftshm.feed.fastjson import _dec, _uint, expect, md_record, string_end
from hftshm.layouts import md
from hftshm.ring.fast import entry_point
from hftshm.ring.pointers import address, words_at

OTHER, NEED_OUT = -5, -6
BIG = 1 << 30  # added to a count: a value of 2**53 or more, its float from Python
(CTX_WORDS, CTX_WORDS_LEN, CTX_INST, CTX_INST_N, CTX_INST_W, CTX_NEED, CTX_LEN) = range(7)

_MAX = (1 << 63) - 1
_MAX_MS = _MAX // 1_000_000
_EXACT = 1 << 53
_RECORD_WORDS = md.DTYPE.itemsize // 8
_TRADE, _QUOTE, _BUY, _SELL = md.TRADE, md.QUOTE, md.BUY, md.SELL

_T_HEAD = np.frombuffer(b'{"arg":{"channel":"trades","instId":"', np.uint8)
_DATA = np.frombuffer(b'"},"data":[', np.uint8)
_T_INST = np.frombuffer(b'{"instId":"', np.uint8)
_T_TID = np.frombuffer(b'","tradeId":"', np.uint8)
_T_PX = np.frombuffer(b'","px":"', np.uint8)
_T_SZ = np.frombuffer(b'","sz":"', np.uint8)
_T_SIDE = np.frombuffer(b'","side":"', np.uint8)
_T_TS = np.frombuffer(b'","ts":"', np.uint8)
_T_COUNT = np.frombuffer(b'","count":"', np.uint8)
_T_SOURCE = np.frombuffer(b',"source":"', np.uint8)
_SEQ = np.frombuffer(b',"seqId":', np.uint8)
_BUY_TEXT = np.frombuffer(b"buy", np.uint8)
_SELL_TEXT = np.frombuffer(b"sell", np.uint8)
_B_HEAD = np.frombuffer(b'{"arg":{"channel":"bbo-tbt","instId":"', np.uint8)
_B_ASKS = np.frombuffer(b'"},"data":[{"asks":[["', np.uint8)
_B_BIDS = np.frombuffer(b'"]],"bids":[["', np.uint8)
_B_TS = np.frombuffer(b'"]],"ts":"', np.uint8)
_B_SEQ = np.frombuffer(b'","seqId":', np.uint8)
_NEXT = np.frombuffer(b'","', np.uint8)
_END = np.frombuffer(b'}]}', np.uint8)


def inst_table(rows) -> np.ndarray:
    """(instId bytes, symbol id) pairs as the int64 rows ``push_by`` searches."""
    rows = list(rows)
    width = 2 + max((len(name) for name, _ in rows), default=0)
    table = np.zeros((max(len(rows), 1), width), np.int64)
    for i, (name, sid) in enumerate(rows):
        table[i, 0], table[i, 1] = sid, len(name)
        table[i, 2:2 + len(name)] = np.frombuffer(name, np.uint8)
    return table


def bind(ctx: np.ndarray, words: np.ndarray, table: np.ndarray) -> None:
    """Point ``ctx`` at the output records (as int64 words) and the instruments' table (both
    kept alive by the caller, which binds again whenever it replaces one)."""
    for a in (words, table):
        assert a.dtype == np.int64 and a.flags.c_contiguous
    ctx[CTX_WORDS], ctx[CTX_WORDS_LEN] = address(words), len(words)
    rows = int((table[:, 1] > 0).sum())  # inst_table's rows are filled from the first
    ctx[CTX_INST], ctx[CTX_INST_N], ctx[CTX_INST_W] = address(table), rows, table.shape[1]


@njit(cache=True, inline="always")
def _is(buf, a, b, word):
    if b - a != len(word):
        return False
    for j in range(b - a):
        if buf[a + j] != word[j]:
            return False
    return True


@njit(cache=True, inline="always")
def _symbol(buf, a, b, table, n, w):
    """The symbol id of the instId at ``buf[a:b]``, -1 if it is none of the table's."""
    if a < 0 or b < 0:
        return -1
    for i in range(n):
        o = i * w
        if table[o + 1] == b - a:
            same = True
            for j in range(b - a):
                if buf[a + j] != table[o + 2 + j]:
                    same = False
                    break
            if same:
                return table[o]
    return -1


@njit(cache=True, inline="always")
def _digits(buf, a, b, most):
    """The decimal digits ``buf[a:b]`` (at least one, leading zeros allowed, as Python's int of
    a str of ASCII digits reads them) as a value <= ``most``; -1 if not."""
    if a < 0 or b <= a:
        return -1
    v = 0
    for j in range(a, b):
        d = np.int64(buf[j]) - 48
        if d < 0 or d > 9 or v > (most - d) // 10:
            return -1
        v = v * 10 + d
    return v


@njit(cache=True)
def trades(buf, words, table, n_inst, w_inst, ctx, recv_ns):
    """A trades push: its TRADEs at records 0.. of ``words`` (``push_by``'s answer)."""
    size = len(buf)
    i0 = expect(buf, 0, size, _T_HEAD)
    i1 = string_end(buf, i0, size)
    pos = expect(buf, i1, size, _DATA)
    sid = _symbol(buf, i0, i1, table, n_inst, w_inst)
    if pos < 0 or sid < 0:
        return OTHER
    room = len(words) // _RECORD_WORDS
    n = 0
    big = 0
    while True:
        pos = string_end(buf, expect(buf, pos, size, _T_INST), size)
        d0 = expect(buf, pos, size, _T_TID)
        d1 = string_end(buf, d0, size)
        pos = expect(buf, d1, size, _T_PX)
        if pos < 0:
            return OTHER
        price, pos = _dec(buf, pos, size)
        pos = expect(buf, pos, size, _T_SZ)
        if pos < 0:
            return OTHER
        qty, pos = _dec(buf, pos, size)
        s0 = expect(buf, pos, size, _T_SIDE)
        s1 = string_end(buf, s0, size)
        t0 = expect(buf, s1, size, _T_TS)
        t1 = string_end(buf, t0, size)
        pos = string_end(buf, expect(buf, t1, size, _T_COUNT), size)
        if pos < 0:
            return OTHER
        pos += 1
        at = expect(buf, pos, size, _T_SOURCE)  # optional (the docs' newer example has it)
        if at >= 0:
            pos = string_end(buf, at, size)
            if pos < 0:
                return OTHER
            pos += 1
        seq = 0  # absent: 0, as the general path
        at = expect(buf, pos, size, _SEQ)
        if at >= 0:
            seq, pos = _uint(buf, at, size)
            if pos < 0:
                return OTHER
        if pos >= size or buf[pos] != 125:  # "}"
            return OTHER
        pos += 1
        if _is(buf, s0, s1, _BUY_TEXT):
            side = _BUY
        elif _is(buf, s0, s1, _SELL_TEXT):
            side = _SELL
        else:
            return OTHER
        tid = _digits(buf, d0, d1, _MAX)
        ts = _digits(buf, t0, t1, _MAX_MS)
        if tid < 0 or ts <= 0 or not price or not qty:
            return OTHER
        if price >= _EXACT or qty >= _EXACT:
            big = BIG
        if n < room:  # else only counted: NEED_OUT below
            ts *= 1_000_000
            md_record(words, n, _TRADE, side, 0, sid, ts, ts, recv_ns, tid, seq, price, qty, 0, 0)
        n += 1
        if pos < size and buf[pos] == 44:  # ",": the next trade
            pos += 1
            continue
        break
    if pos + 2 != size or buf[pos] != 93 or buf[pos + 1] != 125:  # "]}"
        return OTHER
    if n > room:
        ctx[CTX_NEED] = n
        return NEED_OUT
    return n + big


@njit(cache=True)
def bbo(buf, words, table, n_inst, w_inst, recv_ns):
    """A bbo-tbt push: its QUOTE at record 0 of ``words`` (``push_by``'s answer)."""
    size = len(buf)
    i0 = expect(buf, 0, size, _B_HEAD)
    i1 = string_end(buf, i0, size)
    pos = expect(buf, i1, size, _B_ASKS)
    if pos < 0:
        return OTHER
    ask, pos = _dec(buf, pos, size)
    pos = expect(buf, pos, size, _NEXT)
    if pos < 0:
        return OTHER
    ask_qty, pos = _dec(buf, pos, size)
    pos = string_end(buf, expect(buf, pos, size, _NEXT), size)
    pos = string_end(buf, expect(buf, pos, size, _NEXT), size)
    pos = expect(buf, pos, size, _B_BIDS)
    if pos < 0:
        return OTHER
    bid, pos = _dec(buf, pos, size)
    pos = expect(buf, pos, size, _NEXT)
    if pos < 0:
        return OTHER
    bid_qty, pos = _dec(buf, pos, size)
    pos = string_end(buf, expect(buf, pos, size, _NEXT), size)
    pos = string_end(buf, expect(buf, pos, size, _NEXT), size)
    t0 = expect(buf, pos, size, _B_TS)
    t1 = string_end(buf, t0, size)
    pos = expect(buf, t1, size, _B_SEQ)
    if pos < 0:
        return OTHER
    seq, pos = _uint(buf, pos, size)
    if pos < 0 or expect(buf, pos, size, _END) != size:
        return OTHER
    sid = _symbol(buf, i0, i1, table, n_inst, w_inst)
    ts = _digits(buf, t0, t1, _MAX_MS)
    if sid < 0 or ts <= 0 or not 0 < bid < ask or not bid_qty or not ask_qty:
        return OTHER  # an unknown instId, a crossed or one-sided quote...: the general path counts it
    md_record(words, 0, _QUOTE, 0, 0, sid, ts * 1_000_000, 0, recv_ns, seq, 0, bid, bid_qty, ask, ask_qty)
    if ask >= _EXACT or bid_qty >= _EXACT or ask_qty >= _EXACT:
        return 1 + BIG
    return 1


@njit(cache=True)
def push_by(buf, ctx_addr, recv_ns):
    """A trades or bbo-tbt push by its channel's second byte (see the module's docstring)."""
    if len(buf) < 21:
        return OTHER
    ctx = words_at(ctx_addr, CTX_LEN)
    words = words_at(ctx[CTX_WORDS], ctx[CTX_WORDS_LEN])
    n_inst, w_inst = ctx[CTX_INST_N], ctx[CTX_INST_W]
    table = words_at(ctx[CTX_INST], n_inst * w_inst)
    c = buf[20]
    if c == 114:  # "r": {"arg":{"channel":"trades"
        return trades(buf, words, table, n_inst, w_inst, ctx, recv_ns)
    if c == 98:  # "b": {"arg":{"channel":"bbo-tbt"
        return bbo(buf, words, table, n_inst, w_inst, recv_ns)
    return OTHER


push_by_at = entry_point(push_by, b"{}", 0, 0)
