"""Binance USD-M futures market-data frames -> ``layouts.md`` records. Sans-I/O, as Spot's
normalizer (``binance_spot.normalize``), whose counters, refusals, aggTrade handling, snapshot
intake and resume it shares. Payloads (Binance derivatives docs, USDⓈ-M Futures, "Websocket
Market Streams"; the vendored capture tests/data/btcusdt_usdm_20240808 is the wire truth):

Trade Streams (``<symbol>@trade``) -> TRADE; ``X`` other than MARKET sets F_NOT_MARKET::

    {"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,
     "p":"61800.30","q":"0.006","X":"MARKET","m":false}

Individual Symbol Book Ticker Streams (``<symbol>@bookTicker``) -> QUOTE with exch_ns = E and
txn_ns = T (futures send both; Spot sends neither)::

    {"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507",
     "a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}

Diff. Book Depth Streams (``<symbol>@depth@0ms``, ``@depth@100ms``) -> the symbol's
``FuturesBook`` (continuity: ``pu`` == the previous event's ``u``)::

    {"e":"depthUpdate","E":..,"T":..,"s":"BTCUSDT","U":5123107837801,"u":5123107842679,
     "pu":5123107837557,"b":[["61800.20","2.909"]],"a":[["61800.30","0.000"]]}

Mark Price Stream (``<symbol>@markPrice@1s``) -> MARK: price = mark ``p``, qty = funding rate
``r`` (signed), price2 = index ``i``, qty2 = estimated settle price ``P``, txn_ns = next funding
time ``T``::

    {"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000",
     "i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}

A contract without funding (delivery) sends ``"r":""`` and ``"T":0``: funding rate 0, txn_ns 0.

Liquidation Order Streams (``<symbol>@forceOrder``) -> LIQUIDATION: side = ``S``, price = ``p``,
qty = original quantity ``q``, price2 = average price ``ap``, qty2 = filled ``z``, txn_ns =
order time ``T``::

    {"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",
     "q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}

Malformed mark and liquidation frames count as bad_fields (a missing field, a wrong type, a price
that is not a decimal), a zero mark price or liquidation price/quantity as zero_values; nothing is
published for them.
"""

from __future__ import annotations

import struct

import numpy as np
import orjson

from hftshm.feed.scratch import sparse_record
from hftshm.layouts import md

from ..binance_spot import fastrecord
from ..binance_spot.book import DepthEvent
from ..binance_spot.normalize import (_BAD_INPUT, BadId, BadTime, BinanceSpotNormalizer, Refused,
                                      ZeroValue, _id, _ms)
from .book import FuturesBook

_MS = 1_000_000
_MAX_MS = ((1 << 63) - 1) // _MS
_loads = orjson.loads
_pack_trade = sparse_record("kind", "side", "flags", "symbol_id", "exch_ns", "txn_ns", "recv_ns",
                            "venue_id", "price_e8", "qty_e8", "price", "qty").pack_into
_pack_quote = sparse_record("kind", "symbol_id", "exch_ns", "txn_ns", "recv_ns", "venue_id", "price_e8",
                            "qty_e8", "price2_e8", "qty2_e8", "price", "qty", "price2", "qty2").pack_into
_E8 = md.E8
_TRADE, _QUOTE, _BUY, _SELL = md.TRADE, md.QUOTE, md.BUY, md.SELL
_F_NOT_MARKET = md.F_NOT_MARKET
_SIDES = {"BUY": md.BUY, "SELL": md.SELL}


class BinanceUsdmNormalizer(BinanceSpotNormalizer):
    """Binance USD-M frames into ``md.DTYPE`` records, one ``FuturesBook`` per symbol. The same
    contract as ``BinanceSpotNormalizer`` (returned views are valid until the next call)."""

    book_class = FuturesBook
    ONE_CALL = staticmethod(fastrecord.usdm_at)  # TEMPLATES [0] / [1] in one call, as Spot's
    # The wire's shapes (the vendored capture), for the fast path as Spot's: bookTicker, trade,
    # depthUpdate, in that order (normalize reads the holes by position).
    TEMPLATES = (
        '{"stream":"<STR>","data":{"e":"bookTicker","u":<INT>,"s":"<STR>","b":"<DEC>","B":"<DEC>",'
        '"a":"<DEC>","A":"<DEC>","T":<INT>,"E":<INT>}}',
        '{"stream":"<STR>","data":{"e":"trade","E":<INT>,"T":<INT>,"s":"<STR>","t":<INT>,"p":"<DEC>",'
        '"q":"<DEC>","X":"<STR>","m":<BOOL>}}',
        '{"stream":"<STR>","data":{"e":"depthUpdate","E":<INT>,"T":<INT>,"s":"<STR>","U":<INT>,"u":<INT>,'
        '"pu":<INT>,"b":<LEVELS>,"a":<LEVELS>}}',
    )

    def _templated(self, frame: bytes, recv_ns: int) -> np.ndarray:
        """The template path as Spot's (``TEMPLATES``), for what the one-call path
        (``ONE_CALL``, Spot's ``normalize``) leaves; else ``_normalize``, which decides."""
        t = self._fmatch(frame, self._fprog, self._fwork)
        if t == 0:  # bookTicker
            _, _, u, s0, s1, bid, bid_qty, ask, ask_qty, txn_ms, exch_ms = self._fviews[0].tolist()
            sid = self._sym_b(frame[s0:s1])
            if (sid is not None and 0 < bid < ask and bid_qty and ask_qty and 0 < exch_ms <= _MAX_MS
                    and 0 < txn_ms <= _MAX_MS):
                self.counters.frames += 1
                out = self._out
                _pack_quote(out.mv, 0, _QUOTE, sid, exch_ms * _MS, txn_ms * _MS, recv_ns, u, bid,
                            bid_qty, ask, ask_qty, bid / _E8, bid_qty / _E8, ask / _E8, ask_qty / _E8)
                out.n = 1
                return out.one
        elif t == 1:  # trade
            _, _, exch_ms, txn_ms, s0, s1, tid, price, qty, x0, x1, m = self._fviews[1].tolist()
            sid = self._sym_b(frame[s0:s1])
            if sid is not None and price and qty and 0 < exch_ms <= _MAX_MS and 0 < txn_ms <= _MAX_MS:
                c = self.counters
                c.frames += 1
                out = self._out
                _pack_trade(out.mv, 0, _TRADE, _SELL if m else _BUY,
                            0 if frame[x0:x1] == b"MARKET" else _F_NOT_MARKET, sid, exch_ms * _MS,
                            txn_ms * _MS, recv_ns, tid, price, qty, price / _E8, qty / _E8)
                out.n = 1
                self._last_trade.see(sid, tid, c)
                return out.one
        elif t == 2:  # depthUpdate
            _, _, exch_ms, _, s0, s1, first, final, prev, b0, bn, a0, an = self._fviews[2].tolist()
            book = self._books_b.get(frame[s0:s1])
            if book is not None and first <= final and 0 < exch_ms <= _MAX_MS:
                self.counters.frames += 1
                rows = self._frows(b0, bn + an)  # a0 == b0 + bn
                ev = DepthEvent(first, final, exch_ms * _MS, recv_ns, None, None, prev, rows, bn)
                return self._on_diff(book, ev)
        return self._normalize(frame, recv_ns)

    def _normalize(self, frame: bytes | str, recv_ns: int) -> np.ndarray:
        """The general path: orjson, then every field checked; trade and bookTicker inline, as
        Spot's: they are nine messages in ten."""
        c = self.counters
        c.frames += 1
        try:
            msg = _loads(frame)
        except orjson.JSONDecodeError:
            c.malformed_json += 1
            return self._out.empty
        try:
            data = msg.get("data")
            if data is not None:
                msg = data
            e = msg.get("e")
            if e == "bookTicker":
                sid = self._sym(msg["s"])
                if sid is None:
                    c.unknown_symbols += 1
                    return self._out.empty
                u, exch_ms, txn_ms = msg["u"], msg["E"], msg["T"]
                if type(u) is not int or type(exch_ms) is not int or type(txn_ms) is not int:
                    raise TypeError("u/E/T")
                if u < 0 or exch_ms <= 0 or txn_ms <= 0:  # the upper bounds: struct.error below
                    _id(u)
                    raise BadTime("E/T")
                get, parse = self._e8, self._e8_parse
                text = msg["b"]
                bid = get(text)
                if bid is None:
                    bid = parse(text)
                text = msg["B"]
                bid_qty = get(text)
                if bid_qty is None:
                    bid_qty = parse(text)
                text = msg["a"]
                ask = get(text)
                if ask is None:
                    ask = parse(text)
                text = msg["A"]
                ask_qty = get(text)
                if ask_qty is None:
                    ask_qty = parse(text)
                if not (0 < bid < ask and bid_qty and ask_qty):
                    if not (bid and ask and bid_qty and ask_qty):
                        raise ZeroValue("b/B/a/A")
                    c.crossed_quotes += 1
                    return self._out.empty
                out = self._out
                try:
                    _pack_quote(out.mv, 0, _QUOTE, sid, exch_ms * _MS, txn_ms * _MS, recv_ns, u, bid,
                                bid_qty, ask, ask_qty, bid / _E8, bid_qty / _E8, ask / _E8, ask_qty / _E8)
                except struct.error:  # u past int64, or E or T once in ns
                    _id(u)
                    raise BadTime("E/T") from None
                out.n = 1
                return out.one
            if e == "trade":
                sid = self._sym(msg["s"])
                if sid is None:
                    c.unknown_symbols += 1
                    return self._out.empty
                t, exch_ms, txn_ms, m, x = msg["t"], msg["E"], msg["T"], msg["m"], msg["X"]
                if type(t) is not int or type(exch_ms) is not int or type(txn_ms) is not int:
                    raise TypeError("t/E/T")
                if t < 0 or exch_ms <= 0 or txn_ms <= 0:
                    _id(t)
                    raise BadTime("E/T")
                if m is True:
                    side = _SELL
                elif m is False:
                    side = _BUY
                else:
                    raise TypeError("m")
                if x == "MARKET":
                    flags = 0
                elif type(x) is str:
                    flags = _F_NOT_MARKET
                else:
                    raise TypeError("X")
                get, text = self._e8, msg["p"]
                price = get(text)
                if price is None:
                    price = self._e8_parse(text)
                text = msg["q"]
                qty = get(text)
                if qty is None:
                    qty = self._e8_parse(text)
                if not price or not qty:
                    raise ZeroValue("p/q")
                out = self._out
                try:
                    _pack_trade(out.mv, 0, _TRADE, side, flags, sid, exch_ms * _MS, txn_ms * _MS, recv_ns,
                                t, price, qty, price / _E8, qty / _E8)
                except struct.error:
                    _id(t)
                    raise BadTime("E/T") from None
                out.n = 1
                self._last_trade.see(sid, t, c)
                return out.one
            if e == "depthUpdate":
                return self._depth(msg, recv_ns)
            if e == "markPriceUpdate":
                return self._mark(msg, recv_ns)
            if e == "aggTrade":
                return self._agg_trade(msg, recv_ns)
            if e == "forceOrder":
                return self._liquidation(msg, recv_ns)
            if e is None:
                return self._reply(msg)
            c.unknown_events += 1
            return self._out.empty
        except Refused as exc:
            name = exc.counter
            setattr(c, name, getattr(c, name) + 1)
            return self._out.empty
        except _BAD_INPUT:
            if type(msg) is dict:
                c.bad_fields += 1
            else:
                c.unknown_events += 1
            return self._out.empty

    # -- handlers: raise one of _BAD_INPUT (or a Refused) on malformed input -------------------

    def _depth(self, d: dict, recv_ns: int) -> np.ndarray:
        book = self._books.get(d["s"])
        if book is None:
            self.counters.unknown_symbols += 1
            return self._out.empty
        first, final, prev = _id(d["U"]), _id(d["u"]), _id(d["pu"])
        if first > final:
            raise BadId("U > u")
        ev = DepthEvent(first, final, _ms(d["E"]), recv_ns, self._levels(d["b"]), self._levels(d["a"]), prev)
        return self._on_diff(book, ev)

    def _e8_of(self, text) -> int:
        value = self._e8(text)
        return self._e8_parse(text) if value is None else value

    def _signed_e8(self, text) -> int:
        if type(text) is str and text[:1] == "-":
            return -self._e8_of(text[1:])
        return self._e8_of(text)

    def _optional_e8(self, text) -> int:
        """A price the venue may leave empty (``""``): 0."""
        return 0 if text == "" else self._e8_of(text)

    def _mark(self, d: dict, recv_ns: int) -> np.ndarray:
        sid = self._sym(d["s"])
        if sid is None:
            self.counters.unknown_symbols += 1
            return self._out.empty
        exch = _ms(d["E"])
        mark = self._e8_of(d["p"])
        if not mark:
            raise ZeroValue("p")
        index = self._optional_e8(d["i"])
        settle = self._optional_e8(d.get("P", ""))
        rate, next_ms = d["r"], d["T"]
        if rate == "":  # no funding (a delivery contract): the docs send "r":"" and "T":0
            if next_ms != 0 and type(next_ms) is int:
                next_ns = _ms(next_ms)
            elif next_ms == 0 and type(next_ms) is int:
                next_ns = 0
            else:
                raise TypeError("T")
            funding = 0
        else:
            funding = self._signed_e8(rate)
            next_ns = _ms(next_ms)
        return self._out.single(md.MARK, 0, 0, sid, exch, next_ns, recv_ns, 0, 0, mark, funding, index, settle)

    def _liquidation(self, d: dict, recv_ns: int) -> np.ndarray:
        exch = _ms(d["E"])
        o = d["o"]
        if type(o) is not dict:
            raise TypeError("o")
        sid = self._sym(o["s"])
        if sid is None:
            self.counters.unknown_symbols += 1
            return self._out.empty
        side = _SIDES[o["S"]]  # KeyError: neither BUY nor SELL
        price, qty = self._e8_of(o["p"]), self._e8_of(o["q"])
        if not price or not qty:
            raise ZeroValue("p/q")
        avg, filled = self._e8_of(o["ap"]), self._e8_of(o["z"])
        return self._out.single(md.LIQUIDATION, side, 0, sid, exch, _ms(o["T"]), recv_ns, 0, 0,
                                price, qty, avg, filled)
