"""A Binance bookTicker or trade frame read and its md record written in one compiled call.

The normalizers' template path (``feed.fastjson``) matches a frame in numba, hands the hole values
back to Python as a list, checks them there and packs the record with ``struct.pack_into``: for
a bookTicker or a trade, the round trip is most of the ~2 us a message. Here the same shapes are
read and checked and the record written in one call; anything else falls through to that path.

The shapes are the normalizers' ``TEMPLATES`` [0] (bookTicker) and [1] (trade), byte for byte:
``spot`` reads Spot's, ``usdm`` USD-M's (``BinanceSpotNormalizer`` / ``BinanceUsdmNormalizer``;
tests/feed/test_fastrecord.py checks both against the templates). The holes are read by
``feed.fastjson``'s scanners, so a frame this reads is one the template matches, with the same
values. A frame is taken only when the template path would publish it, and its record is the
one that path packs:

- the symbol ``s`` is in the table (``FastState``);
- bookTicker: 0 < bid < ask, both quantities non-zero; USD-M's ``E`` and ``T`` in 1 ..
  int64 ns / 1e6 ms;
- trade: price and quantity non-zero, ``E`` and ``T`` in range; the side from ``m`` (SELL when
  the buyer made), Spot's F_BEST_MATCH from ``M``, USD-M's F_NOT_MARKET when ``X`` is not MARKET;
- every e8 value below 2**53 (its float is then ``float64(v) / 1e8``, the correctly rounded
  value Python's ``v / E8`` gives; a larger one is left to that path).

Trade-id continuity is kept in ``FastState`` (last id per symbol, -1 none; the normalizer's
``TradeIds`` reads and writes the same array on its other paths), as the general path keeps it:
a trade whose ``t`` is not last + 1 (there being a last) is a gap, with t - last - 1 ids missed
when t > last; the record is published either way and ``t`` becomes the last.

Returns QUOTE_OK, TRADE_OK or TRADE_GAP (``FastState.missed``: the ids missed, 0 for a repeat
or a step back) with the record in ``FastState.record``, or OTHER with nothing written and
nothing changed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hftshm.feed.fastjson import expect, md_record, string_end, uint_or_fail, _dec, _uint
from hftshm.layouts import md
from hftshm.ring.fast import entry_point

OTHER, QUOTE_OK, TRADE_OK, TRADE_GAP = -1, 1, 2, 3
_MAX_MS = ((1 << 63) - 1) // 1_000_000
_EXACT = 1 << 53
_QUOTE, _TRADE, _BUY, _SELL = md.QUOTE, md.TRADE, md.BUY, md.SELL
_F_BEST_MATCH, _F_NOT_MARKET = md.F_BEST_MATCH, md.F_NOT_MARKET


def _lit_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("ascii"), np.uint8)


_HEAD = _lit_array('{"stream":"')
# Spot (BinanceSpotNormalizer.TEMPLATES)
_S_QUOTE = _lit_array('","data":{"u":')
_S_TRADE = _lit_array('","data":{"e":"trade","E":')
_S_TRADE_T = _lit_array('","T":')
_S_M = _lit_array(',"M":')
_S_QUOTE_END = _lit_array('"}}')
# USD-M (BinanceUsdmNormalizer.TEMPLATES)
_U_QUOTE = _lit_array('","data":{"e":"bookTicker","u":')
_U_TRADE = _lit_array('","data":{"e":"trade","E":')
_U_QUOTE_T = _lit_array('","T":')
_U_E = _lit_array(',"E":')
_U_T = _lit_array(',"T":')
_U_X = _lit_array('","X":"')
_MARKET = _lit_array("MARKET")
# both
_S = _lit_array(',"s":"')
_B_BID = _lit_array('","b":"')
_B_BID_QTY = _lit_array('","B":"')
_B_ASK = _lit_array('","a":"')
_B_ASK_QTY = _lit_array('","A":"')
_T_ID = _lit_array('","t":')
_T_PRICE = _lit_array(',"p":"')
_T_QTY = _lit_array('","q":"')
_T_M = _lit_array('","m":')
_T_M_AFTER_INT = _lit_array(',"m":')
_END = _lit_array("}}")


@njit(cache=True, inline="always")
def _num(buf, pos, n):
    if pos < 0:
        return 0, -1
    return _dec(buf, pos, n)


@njit(cache=True, inline="always")
def _bool(buf, pos, n):
    """``true`` / ``false`` at ``pos``: (1 / 0, end), end -1 if neither."""
    if pos < 0:
        return 0, -1
    if pos + 4 <= n and buf[pos] == 116 and buf[pos + 1] == 114 and buf[pos + 2] == 117 and buf[pos + 3] == 101:
        return 1, pos + 4
    if (pos + 5 <= n and buf[pos] == 102 and buf[pos + 1] == 97 and buf[pos + 2] == 108
            and buf[pos + 3] == 115 and buf[pos + 4] == 101):
        return 0, pos + 5
    return 0, -1


@njit(cache=True)
def symbol_hash(buf, a, b):
    """The symbol table's hash of ``buf[a:b]`` (Python builds the table with this same function)."""
    h = 0
    for j in range(a, b):
        h = (h * 31 + buf[j]) & 0xFFFFFFFF
    return h


# The kernels' one array (int64; one array argument: numba unboxes each array ~50 ns a call):
#   [0:16] the record (md.DTYPE as int64 words), [16] info (TRADE_GAP: the ids missed),
#   [17] N symbols, [18] T table size (a power of two >= 2N), then sids[N], last trade ids[N]
#   (-1: none), name offsets[N + 1], table[T] (index + 1, 0: empty), the names' bytes one a word.
_WORDS = md.DTYPE.itemsize // 8
_INFO, _N, _T, _SIDS = _WORDS, _WORDS + 1, _WORDS + 2, _WORDS + 3


@njit(cache=True, inline="always")
def _slot(buf, a, b, state):
    """The symbol ``buf[a:b]``'s index in the table, -1 if it is not there (open addressing)."""
    n_sym = state[_N]
    offs = _SIDS + 2 * n_sym
    table = offs + n_sym + 1
    names = table + state[_T]
    mask = state[_T] - 1
    h = symbol_hash(buf, a, b) & mask
    m = b - a
    while True:
        e = state[table + h]
        if e == 0:
            return -1
        i = e - 1
        o = names + state[offs + i]
        if state[offs + i + 1] - state[offs + i] == m:
            same = True
            for j in range(m):
                if buf[a + j] != state[o + j]:
                    same = False
                    break
            if same:
                return i
        h = (h + 1) & mask


@njit(cache=True, inline="always")
def _quote_levels(buf, pos, n):
    """``b":"<DEC>","B":"<DEC>","a":"<DEC>","A":"<DEC>`` after the symbol's closing quote."""
    bid, pos = _num(buf, expect(buf, pos, n, _B_BID), n)
    bid_qty, pos = _num(buf, expect(buf, pos, n, _B_BID_QTY), n)
    ask, pos = _num(buf, expect(buf, pos, n, _B_ASK), n)
    ask_qty, pos = _num(buf, expect(buf, pos, n, _B_ASK_QTY), n)
    return bid, bid_qty, ask, ask_qty, pos


@njit(cache=True, inline="always")
def _quote_ok(bid, bid_qty, ask, ask_qty):
    return (0 < bid < ask and bid_qty != 0 and ask_qty != 0 and ask < _EXACT and bid_qty < _EXACT
            and ask_qty < _EXACT)


@njit(cache=True, inline="always")
def _trade_done(state, slot, side, flags, exch_ms, txn_ms, recv_ns, tid, price, qty):
    """The trade's record and its id's continuity, as the general path keeps it."""
    md_record(state, 0, _TRADE, side, flags, state[_SIDS + slot], exch_ms * 1_000_000, txn_ms * 1_000_000, recv_ns,
              tid, 0, price, qty, 0, 0)
    at = _SIDS + state[_N] + slot
    prev = state[at]
    state[at] = tid
    if prev < 0 or tid == prev + 1:
        return TRADE_OK
    state[_INFO] = tid - prev - 1 if tid > prev else 0
    return TRADE_GAP


@njit(cache=True)
def spot(buf, state, recv_ns):
    """A Spot bookTicker or trade frame (``BinanceSpotNormalizer.TEMPLATES`` [0], [1])."""
    n = len(buf)
    pos = string_end(buf, expect(buf, 0, n, _HEAD), n)
    if pos < 0:
        return OTHER
    at = expect(buf, pos, n, _S_QUOTE)
    if at >= 0:  # {"stream":..,"data":{"u":<INT>,"s":"<STR>","b":..,"B":..,"a":..,"A":..}}
        u, pos = uint_or_fail(buf, at, n)
        s0 = expect(buf, pos, n, _S)
        s1 = string_end(buf, s0, n)
        bid, bid_qty, ask, ask_qty, pos = _quote_levels(buf, s1, n)
        if expect(buf, pos, n, _S_QUOTE_END) != n or not _quote_ok(bid, bid_qty, ask, ask_qty):
            return OTHER
        slot = _slot(buf, s0, s1, state)
        if slot < 0:
            return OTHER
        md_record(state, 0, _QUOTE, 0, 0, state[_SIDS + slot], 0, 0, recv_ns, u, 0, bid, bid_qty, ask, ask_qty)
        return QUOTE_OK
    # {"stream":..,"data":{"e":"trade","E":<INT>,"s":"<STR>","t":<INT>,"p":"<DEC>","q":"<DEC>",
    #  "T":<INT>,"m":<BOOL>,"M":<BOOL>}}
    exch_ms, pos = uint_or_fail(buf, expect(buf, pos, n, _S_TRADE), n)
    s0 = expect(buf, pos, n, _S)
    s1 = string_end(buf, s0, n)
    tid, pos = uint_or_fail(buf, expect(buf, s1, n, _T_ID), n)
    price, pos = _num(buf, expect(buf, pos, n, _T_PRICE), n)
    qty, pos = _num(buf, expect(buf, pos, n, _T_QTY), n)
    txn_ms, pos = uint_or_fail(buf, expect(buf, pos, n, _S_TRADE_T), n)
    m, pos = _bool(buf, expect(buf, pos, n, _T_M_AFTER_INT), n)
    best, pos = _bool(buf, expect(buf, pos, n, _S_M), n)
    if (expect(buf, pos, n, _END) != n or price == 0 or qty == 0 or price >= _EXACT or qty >= _EXACT
            or not 0 < exch_ms <= _MAX_MS or not 0 < txn_ms <= _MAX_MS):
        return OTHER
    slot = _slot(buf, s0, s1, state)
    if slot < 0:
        return OTHER
    return _trade_done(state, slot, _SELL if m else _BUY, _F_BEST_MATCH if best else 0, exch_ms,
                       txn_ms, recv_ns, tid, price, qty)


@njit(cache=True)
def usdm(buf, state, recv_ns):
    """A USD-M bookTicker or trade frame (``BinanceUsdmNormalizer.TEMPLATES`` [0], [1])."""
    n = len(buf)
    pos = string_end(buf, expect(buf, 0, n, _HEAD), n)
    if pos < 0:
        return OTHER
    at = expect(buf, pos, n, _U_QUOTE)
    if at >= 0:  # ..{"e":"bookTicker","u":<INT>,"s":"<STR>","b":..,"B":..,"a":..,"A":..,"T":<INT>,"E":<INT>}}
        u, pos = uint_or_fail(buf, at, n)
        s0 = expect(buf, pos, n, _S)
        s1 = string_end(buf, s0, n)
        bid, bid_qty, ask, ask_qty, pos = _quote_levels(buf, s1, n)
        txn_ms, pos = uint_or_fail(buf, expect(buf, pos, n, _U_QUOTE_T), n)
        exch_ms, pos = uint_or_fail(buf, expect(buf, pos, n, _U_E), n)
        if (expect(buf, pos, n, _END) != n or not _quote_ok(bid, bid_qty, ask, ask_qty)
                or not 0 < exch_ms <= _MAX_MS or not 0 < txn_ms <= _MAX_MS):
            return OTHER
        slot = _slot(buf, s0, s1, state)
        if slot < 0:
            return OTHER
        md_record(state, 0, _QUOTE, 0, 0, state[_SIDS + slot], exch_ms * 1_000_000, txn_ms * 1_000_000, recv_ns, u, 0,
                  bid, bid_qty, ask, ask_qty)
        return QUOTE_OK
    # ..{"e":"trade","E":<INT>,"T":<INT>,"s":"<STR>","t":<INT>,"p":"<DEC>","q":"<DEC>","X":"<STR>",
    #  "m":<BOOL>}}
    exch_ms, pos = uint_or_fail(buf, expect(buf, pos, n, _U_TRADE), n)
    txn_ms, pos = uint_or_fail(buf, expect(buf, pos, n, _U_T), n)
    s0 = expect(buf, pos, n, _S)
    s1 = string_end(buf, s0, n)
    tid, pos = uint_or_fail(buf, expect(buf, s1, n, _T_ID), n)
    price, pos = _num(buf, expect(buf, pos, n, _T_PRICE), n)
    qty, pos = _num(buf, expect(buf, pos, n, _T_QTY), n)
    x0 = expect(buf, pos, n, _U_X)
    x1 = string_end(buf, x0, n)
    m, pos = _bool(buf, expect(buf, x1, n, _T_M), n)
    if (expect(buf, pos, n, _END) != n or price == 0 or qty == 0 or price >= _EXACT or qty >= _EXACT
            or not 0 < exch_ms <= _MAX_MS or not 0 < txn_ms <= _MAX_MS):
        return OTHER
    slot = _slot(buf, s0, s1, state)
    if slot < 0:
        return OTHER
    flags = _F_NOT_MARKET
    if x1 - x0 == len(_MARKET):
        flags = 0
        for j in range(len(_MARKET)):
            if buf[x0 + j] != _MARKET[j]:
                flags = _F_NOT_MARKET
                break
    return _trade_done(state, slot, _SELL if m else _BUY, flags, exch_ms, txn_ms, recv_ns, tid,
                       price, qty)


class FastState:
    """The kernels' state for a symbol table (Binance symbol -> symbol_id): ``array``, laid out
    as above; ``record`` its record as a 1-record md array (a view: what the normalizer returns),
    ``last_trade`` its last-trade-id part (a view), ``slot_of``: symbol_id -> index."""

    __slots__ = ("array", "record", "last_trade", "slot_of")

    def __init__(self, symbols):
        raw = [name.encode() for name in symbols]
        n = len(raw)
        size = 8
        while size < 2 * n:
            size *= 2
        table = np.zeros(size, np.int64)
        for i, r in enumerate(raw):
            h = symbol_hash(np.frombuffer(r, np.uint8), 0, len(r)) & (size - 1)
            while table[h]:
                h = (h + 1) & (size - 1)
            table[h] = i + 1
        offs = np.zeros(n + 1, np.int64)
        offs[1:] = np.cumsum([len(r) for r in raw])
        names = np.frombuffer(b"".join(raw), np.uint8).astype(np.int64)
        sids = np.array(list(symbols.values()), np.int64)
        self.array = np.concatenate([np.zeros(_WORDS, np.int64), np.array([0, n, size], np.int64), sids,
                                     np.full(n, -1, np.int64), offs, table, names])
        self.record = self.array[:_WORDS].view(md.DTYPE)
        self.last_trade = self.array[_SIDS + n: _SIDS + 2 * n]
        self.slot_of = {int(sid): i for i, sid in enumerate(sids.tolist())}

    @property
    def missed(self) -> int:
        """After TRADE_GAP: the ids the gap skipped (0 for a repeat or a step back)."""
        return self.array.item(_INFO)


class TradeIds:
    """symbol_id -> the last trade id, as the general path's ``dict`` was (``get``, ``[sid] = t``,
    ``update``, ``items``), kept in the kernels' state (-1: none yet), which they read and update
    in place: one record of every trade's id, whichever path read it."""

    __slots__ = ("_last", "_slot_of")

    def __init__(self, state: FastState):
        self._last = state.last_trade
        self._slot_of = state.slot_of

    def get(self, sid, default=None):
        value = self._last.item(self._slot_of[sid])
        return default if value < 0 else value

    def __setitem__(self, sid, tid) -> None:
        if not 0 <= tid < 1 << 63:
            raise ValueError(f"trade id {tid} is not in 0 .. int64 max")
        self._last[self._slot_of[sid]] = tid

    def see(self, sid, tid, counters) -> None:
        """Trade ``tid`` of ``sid`` on a Python path: a step from the last id other than + 1 is
        a gap (counted, with the ids skipped when it went forward); ``tid`` becomes the last."""
        last = self._last.item(self._slot_of[sid])
        if last >= 0 and tid != last + 1:
            counters.trade_id_gaps += 1
            if tid > last:
                counters.trade_ids_missed += tid - last - 1
        self[sid] = tid

    def update(self, items) -> None:
        for sid, tid in dict(items).items():
            self[sid] = tid

    def items(self) -> list[tuple[int, int]]:
        return [(sid, self._last.item(i)) for sid, i in self._slot_of.items() if self._last.item(i) >= 0]


spot_at = entry_point(spot, b"{}", np.zeros(32, np.int64), 0)
usdm_at = entry_point(usdm, b"{}", np.zeros(32, np.int64), 0)
