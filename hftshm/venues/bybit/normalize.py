"""Bybit v5 public frames -> ``layouts.md`` records. Sans-I/O: bytes and a receive time in.

Message shapes from Bybit's v5 docs ("WebSocket Stream" > "Public"); the examples there are the
test fixtures (tests/venues/test_bybit.py).

Orderbook (``orderbook.{1,50}.<SYMBOL>``), "Process snapshot/delta"::

    {"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,
     "data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,
     "seq":7961638724},"cts":1672304484976}

- a snapshot resets the book; ``u`` = 1 means Bybit restarted the book service: the snapshot
  overwrites it (BOOK_RESET, counted in venue_resets).
- deltas carry absolute quantities, 0 deletes; ``u`` increases by 1 per message. A delta whose
  ``u`` is not the last + 1 is a gap (depth_gaps): the book is reset and resynced by
  resubscribing its topic, which Bybit answers with a snapshot. Deltas while no book is live
  are dropped (stale_depth_events).
- depth 1 pushes only snapshots, and re-sends an unchanged one (same ``u``) when nothing changed
  for 3 s: a snapshot with the last ``u`` and the same levels is counted (resends) and
  publishes nothing. A snapshot with ``u`` = last + 1 continues the live book: only its
  differences go out as LEVELs (no BOOK_RESET every 10 ms); one with a later ``u`` also
  continues it, and counts a gap (the messages in between were lost; the snapshot repairs it).
- LEVEL: venue_id = ``u``, venue_id2 = ``seq`` (the cross sequence); exch_ns = ``ts``.

Trade (``publicTrade.<SYMBOL>``), one TRADE per element of ``data``::

    {"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,
     "s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",
     "i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,"seq":1783284617}]}

  side = ``S`` (the taker's), txn_ns = ``T``, venue_id = ``i`` when it is a decimal integer
  (spot), else 0 (linear sends a UUID string), venue_id2 = ``seq`` (orders trades against book
  changes; 0 if absent). A block trade (``BT`` true) carries F_NOT_MARKET. No trade-id gaps
  are counted: Bybit's ids are not contiguous.

Ticker (``tickers.<SYMBOL>``, linear): a snapshot, then deltas holding only changed fields; the
normalizer merges them and publishes a MARK when mark price, index price, funding rate, next
funding time or open interest changed: price = ``markPrice``, qty = ``fundingRate`` (signed),
price2 = ``indexPrice``, qty2 = 0, txn_ns = ``nextFundingTime``, venue_id = ``cs`` (cross
sequence), venue_id2 = ``openInterest`` in 1e-8 units.

Replies: ``{"success":true,"ret_msg":"","op":"subscribe",..}`` (control_messages), a pong
(``"op":"pong"`` on linear, ``"ret_msg":"pong"`` on spot: pongs), ``"success":false`` (a refused
subscription: venue_errors and refused_subscriptions). Unknown topics count unknown_events,
symbols missing from the table unknown_symbols, malformed fields bad_fields.
"""

from __future__ import annotations

import numpy as np
import orjson

from hftshm.feed.fastjson import MAX_VALS, Templates
from hftshm.feed.scratch import sparse_record
from hftshm.layouts import md

from ..binance_spot.normalize import _BAD_INPUT, BadTime, Refused, ZeroValue, _id, _ms
from hftshm.ring.pointers import address

from .. import inband_arrays as A
from ..inband import InbandNormalizer
from .fastbook import (CTX_HOT, CTX_LEN, KS_FLAGS, KS_KNOWN, KS_LEN, KS_MARK_TEXT, KS_OFFSETS, KS_SID, KS_STATE,
                       KS_VALUES, MISS, NEED_DIFF, NEED_OUT, RESENT, TICKER_FIELDS, bind, delta_by_at, ticker_by_at,
                       topic_table, trade_at)

_MS = 1_000_000
_E8 = md.E8
_pack_trade = sparse_record("kind", "side", "flags", "symbol_id", "exch_ns", "txn_ns", "recv_ns", "venue_id",
                            "venue_id2", "price_e8", "qty_e8", "price", "qty").pack_into
_INT64_MAX = (1 << 63) - 1
_MAX_MS = _INT64_MAX // _MS
_loads = orjson.loads
_SIDES = {"Buy": md.BUY, "Sell": md.SELL}
_BOOK, _TRADE, _TICKER = 1, 2, 3
_SIDES_B = {b"Buy": md.BUY, b"Sell": md.SELL}
_BOOK_TYPES = {b"delta": "delta", b"snapshot": "snapshot"}
_FIELD_BITS = tuple(tuple(i for i in range(5) if m >> i & 1) for m in range(32))  # a mask's field indexes
_VIEWS = 8  # output views prebuilt: a delta writes a few records (its levels, the QUOTE)


class BybitNormalizer(InbandNormalizer):
    # The fast path (``feed.fastjson``): a one-trade publicTrade push and a book push, in the
    # docs' key order (the examples above); normalize reads the holes by position.
    TEMPLATES = (
        '{"topic":"<STR>","type":"snapshot","ts":<INT>,"data":[{"T":<INT>,"s":"<STR>","S":"<STR>",'
        '"v":"<DEC>","p":"<DEC>","L":"<STR>","i":"<STR>","BT":<BOOL>,"seq":<INT>}]}',
        '{"topic":"<STR>","type":"<STR>","ts":<INT>,"data":{"s":"<STR>","b":<LEVELS>,"a":<LEVELS>,'
        '"u":<INT>,"seq":<INT>},"cts":<INT>}',
    )

    def __init__(self, symbols, **kw):
        super().__init__(symbols, **kw)
        self._topics: dict[str, tuple[int, object]] = {}
        for name, sid in self._ids.items():
            for depth in ("1", "50", "200", "1000"):
                self._topics[f"orderbook.{depth}.{name}"] = (_BOOK, self._books[name])
            self._topics[f"publicTrade.{name}"] = (_TRADE, sid)
            self._topics[f"tickers.{name}"] = (_TICKER, sid)
        self._tickers: dict[int, dict] = {}  # the merged MARK fields' texts (see _ticker_texts)
        # each symbol's ticker state for the compiled path (fastbook.ticker_by: flags, the last
        # MARK's values), and the frame that last carried each MARK field there: its text is
        # taken into _tickers when the general path next reads them
        self._kst = {}
        self._tsrc = {}
        for sid in self._ids.values():
            self._kst[sid] = kst = np.zeros(KS_LEN, np.int64)
            kst[KS_SID] = sid
            self._tsrc[sid] = [None] * len(TICKER_FIELDS)
        self._topics_b = {name.encode(): route for name, route in self._topics.items()}.get
        fast = Templates(self.TEMPLATES)
        self._fmatch, self._fprog, self._fwork = fast.entry, fast.prog, fast.work
        self._fviews, self._fsides = fast.views, fast.sides
        self._flevels = fast.work[MAX_VALS:]  # the <LEVELS> holes' rows: flat (price_e8, qty_e8)
        self._fdelta = delta_by_at  # a live book's next push in one call (fastbook.py); tests switch it off
        self._ftrade = trade_at  # a one-trade push in one call (fastbook.py); tests switch it off
        self._dwork = np.zeros(MAX_VALS + 2 * 4096, np.int64)
        self._ddiff = np.zeros(1024, np.int64)  # a depth-1 snapshot's differences
        self._arr = self._words = None  # the output records, and the same memory as int64 words
        self._fticker = ticker_by_at  # a tickers delta's MARK in one call; tests switch it off
        # the frame's topic -> (what, book or symbol id): one slice and one lookup route a push
        self._routes = self._topics_b
        # delta_by's arrays by address (fastbook.bind), the book topics it routes (the hot one:
        # the last book it read) and the output's first views prebuilt (slicing an array costs
        # ~150 ns, a tenth of a delta)
        book_topics = [name.encode() for name, (what, _) in self._topics.items() if what == _BOOK]
        self._tbooks = [self._topics_b(t)[1] for t in book_topics]
        self._book_index = {t: i for i, t in enumerate(book_topics)}.get
        self._ttable = topic_table(book_topics)
        self._ctx = np.zeros(CTX_LEN, np.int64)
        self._ctx_addr = address(self._ctx)
        self._views = ()
        self._bind(self._out.array)
        self._set_hot(0)

    def _bind(self, array) -> None:
        """``array`` (the output records) is the one the compiled paths write from now on."""
        self._arr, self._words = array, array.view(np.int64)
        self._views = tuple(array[:k] for k in range(min(len(array), _VIEWS) + 1))
        bind(self._ctx, self._dwork, self._words, self._ddiff, self._ttable)

    def _set_hot(self, i: int) -> None:
        """Book topic ``i`` is the one ``delta_by`` reads (with its book's sides and last ``u``)."""
        self._hot = self._tbooks[i]
        self._ctx[CTX_HOT] = i

    def normalize(self, frame: bytes | str, recv_ns: int) -> np.ndarray:
        """Records from one frame. A frame of one of ``TEMPLATES``' shapes is read by the compiled
        matcher; anything else, or a value the general path would refuse or count, goes to
        ``_normalize``, which decides (tests/venues/test_inband_fastpath.py compares the two)."""
        if type(frame) is not bytes:
            return self._normalize(frame, recv_ns)
        tried = False
        if frame[10:11] == b"o":  # an orderbook topic's push: delta_by routes it (the hot book's?)
            book = self._hot
            if book.live:  # a live book's next push in one call, by address (fastbook.delta_by)
                out = self._out
                if out.array is not self._arr:
                    self._bind(out.array)
                w = self._fdelta(frame, book.sides, self._ctx_addr, book.last_id, recv_ns)
                if 0 <= w <= _VIEWS:  # the usual case: its records written, the book changed
                    self.counters.frames += 1
                    book.last_id += 1
                    out.n = w
                    return self._views[w]
                if w <= MISS:  # another book's topic: that book is the hot one now
                    self._set_hot(MISS - w)
                    return self.normalize(frame, recv_ns)
                tried = True
                out = self._book_delta(book, frame, recv_ns, w)
                if out is not None:
                    return out
        topic = frame[10:frame.find(b'"', 10)]  # '{"topic":"' is 10 bytes: the paths below check it
        route = self._routes(topic)
        if route is not None:
            what, target = route
            if what == _BOOK:
                if target.live and not tried:
                    self._set_hot(self._book_index(topic))
                    out = self._book_delta(target, frame, recv_ns)
                    if out is not None:
                        return out
            elif what == _TRADE:
                out = self._out
                if out.array is not self._arr:
                    self._bind(out.array)
                if self._ftrade(frame, self._words, target, recv_ns, md.BUY, md.SELL, md.F_NOT_MARKET) == 1:
                    self.counters.frames += 1
                    out.n = 1
                    return out.one
            else:  # a tickers delta in one call (fastbook.ticker_by)
                out = self._out
                if out.array is not self._arr:
                    self._bind(out.array)
                r = self._fticker(frame, self._kst[target], self._ctx_addr, recv_ns)
                if r >= 0:
                    self.counters.frames += 1
                    if r > 1:  # MARK fields' texts: where they are kept
                        srcs = self._tsrc[target]
                        for i in _FIELD_BITS[r >> 2]:
                            srcs[i] = frame
                    if r & 1:
                        out.n = 1
                        return out.one
                    return out.empty
        if route is None or what != _TICKER:
            t = self._fmatch(frame, self._fprog, self._fwork)
            if t == 0:  # one trade
                (p0, p1, ts, txn, _, _, s0, s1, qty, price, _, _, i0, i1, block,
                 seq) = self._fviews[0].tolist()
                route = self._topics_b(frame[p0:p1])
                side = _SIDES_B.get(frame[s0:s1])
                if (route is not None and route[0] == _TRADE and side is not None and price and qty
                        and 0 < ts <= _MAX_MS and 0 < txn <= _MAX_MS):
                    tid = frame[i0:i1]
                    tid = int(tid) if tid.isdigit() and len(tid) <= 19 else 0
                    if tid > _INT64_MAX:
                        tid = 0
                    self.counters.frames += 1
                    out = self._out
                    _pack_trade(out.mv, 0, md.TRADE, side, md.F_NOT_MARKET if block else 0, route[1], ts * _MS,
                                txn * _MS, recv_ns, tid, seq, price, qty, price / _E8, qty / _E8)
                    out.n = 1
                    return out.one
            elif t == 1:  # a book push
                p0, p1, k0, k1, ts, _, _, b0, bn, _, an, u, seq, _ = self._fviews[1].tolist()
                route = self._topics_b(frame[p0:p1])
                kind = _BOOK_TYPES.get(frame[k0:k1])
                if route is not None and route[0] == _BOOK and kind is not None and 0 < ts <= _MAX_MS:
                    self.counters.frames += 1
                    book = route[1]
                    if kind == "delta" and book.live and u == book.last_id + 1:  # the usual case: one call
                        out = self._out
                        out.n = 0
                        book.apply_at(self._flevels, b0, bn + an, bn, u, seq, ts * _MS, recv_ns, out)
                        if book.wants_snapshot:  # it crossed: reset, resync
                            self._track(book)
                        return out.view()
                    rows, bids, asks = self._fsides(b0, bn, an)
                    return self._book_levels(kind, route[1], ts * _MS, u, seq, bids, asks, rows, recv_ns)
        return self._normalize(frame, recv_ns)

    def _book_delta(self, book, frame: bytes, recv_ns: int, w=None):
        """A live book's next push (``fastbook.delta``: a delta, or a depth-1 snapshot): its
        records, or None (nothing counted or changed) for a frame the other paths decide.
        ``w``: what ``delta_by`` already returned for it (else it is called here)."""
        out = self._out
        if w is None:
            if out.array is not self._arr:
                self._bind(out.array)
            w = self._fdelta(frame, book.sides, self._ctx_addr, book.last_id, recv_ns)
        if w >= 0:
            self.counters.frames += 1
            book.last_id += 1
            if w < A.NEED_QUOTE:
                out.n = w
                return out.view()
            out.n = w - A.NEED_QUOTE
            book._put_top(out, int(self._dwork[1]) * _MS, recv_ns, book.last_id)
            return out.view()
        if w == A.CROSSED:
            self.counters.frames += 1
            out.n = 0
            book._crossed(out, int(self._dwork[1]) * _MS, recv_ns)
            self._track(book)
            return out.view()
        if w == RESENT:  # depth 1: re-sent after 3 s without a change
            self.counters.frames += 1
            self.counters.resends += 1
            return out.empty
        if w == NEED_OUT:
            out.n = 0
            out.reserve(int(self._dwork[0]))
            return self._book_delta(book, frame, recv_ns)
        if w == NEED_DIFF:
            self._ddiff = np.zeros(int(self._dwork[0]), np.int64)
            self._bind(out.array)
            return self._book_delta(book, frame, recv_ns)
        if w == A.NEED_ROOM:
            book._grow()
            return self._book_delta(book, frame, recv_ns)
        return None  # another shape, u or time, or a value past 2**53: the template path decides

    def _normalize(self, frame: bytes | str, recv_ns: int) -> np.ndarray:
        """The general path: orjson, then every field checked."""
        c = self.counters
        c.frames += 1
        try:
            msg = _loads(frame)
        except orjson.JSONDecodeError:
            c.malformed_json += 1
            return self._out.empty
        try:
            topic = msg.get("topic")
            if topic is None:
                return self._reply(msg)
            route = self._topics.get(topic)
            if route is None:
                kind = topic.partition(".")[0]
                if kind in ("orderbook", "publicTrade", "tickers"):
                    c.unknown_symbols += 1
                else:
                    c.unknown_events += 1
                return self._out.empty
            what, target = route
            if what == _TRADE:
                return self._trades(msg, target, recv_ns)
            if what == _BOOK:
                return self._book(msg, target, recv_ns)
            return self._ticker(msg, target, recv_ns)
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

    def _reply(self, d: dict) -> np.ndarray:
        c = self.counters
        op = d.get("op")
        if op == "pong" or d.get("ret_msg") == "pong":
            c.pongs += 1
            c.control_messages += 1
        elif d.get("success") is False:
            c.venue_errors += 1
            if op == "subscribe":
                c.refused_subscriptions += 1
        elif op is not None:
            c.control_messages += 1
        else:
            c.unknown_events += 1
        return self._out.empty

    def _trades(self, msg: dict, sid: int, recv_ns: int) -> np.ndarray:
        exch = _ms(msg["ts"])
        rows = msg["data"]
        if type(rows) is not list:
            raise TypeError("data")
        if len(rows) == 1:  # the usual case: one sparse pack_into, as Binance's trade path
            t = rows[0]
            side = _SIDES[t["S"]]
            get = self._e8
            text = t["p"]
            price = get(text)
            if price is None:
                price = self._e8_parse(text)
            text = t["v"]
            qty = get(text)
            if qty is None:
                qty = self._e8_parse(text)
            if not price or not qty:
                raise ZeroValue("p/v")
            tid = t["i"]
            if type(tid) is not str:
                raise TypeError("i")
            tid = int(tid) if tid.isdigit() and len(tid) <= 19 else 0
            if tid > _INT64_MAX:
                tid = 0
            seq = t.get("seq", 0)
            if type(seq) is not int or seq < 0:
                _id(seq)
            block = t.get("BT", False)
            if block is True:
                flags = md.F_NOT_MARKET
            elif block is False:
                flags = 0
            else:
                raise TypeError("BT")
            out = self._out
            _pack_trade(out.mv, 0, md.TRADE, side, flags, sid, exch, _ms(t["T"]), recv_ns, tid, seq,
                        price, qty, price / _E8, qty / _E8)  # struct.error past int64: bad_fields
            out.n = 1
            return out.one
        parsed = []
        get, parse = self._e8, self._e8_parse
        for t in rows:
            side = _SIDES[t["S"]]
            text = t["p"]
            price = get(text)
            if price is None:
                price = parse(text)
            text = t["v"]
            qty = get(text)
            if qty is None:
                qty = parse(text)
            if not price or not qty:
                raise ZeroValue("p/v")
            tid = t["i"]
            if type(tid) is not str:
                raise TypeError("i")
            tid = int(tid) if tid.isdigit() and len(tid) <= 19 else 0
            if tid > _INT64_MAX:
                tid = 0
            seq = t.get("seq", 0)
            block = t.get("BT", False)
            if block is not True and block is not False:
                raise TypeError("BT")
            parsed.append((side, md.F_NOT_MARKET if block else 0, _ms(t["T"]), tid, _id(seq), price, qty))
        out = self._out
        out.clear()
        for side, flags, txn, tid, seq, price, qty in parsed:  # all validated: none half-published
            out.put(md.TRADE, side, flags, sid, exch, txn, recv_ns, tid, seq, price, qty)
        return out.view()

    def _book(self, msg: dict, book, recv_ns: int) -> np.ndarray:
        kind = msg["type"]
        exch = msg["ts"]
        if type(exch) is not int or not 0 < exch <= _MAX_MS:
            exch = _ms(exch)  # raises
        exch *= _MS
        d = msg["data"]
        u, seq = d["u"], d.get("seq", 0)
        if type(u) is not int or type(seq) is not int or u < 0 or seq < 0 or u > _INT64_MAX or seq > _INT64_MAX:
            _id(u)
            _id(seq)
        bids, asks = self._levels(d["b"]), self._levels(d["a"])
        if kind != "delta" and kind != "snapshot":
            raise ValueError("type")
        return self._book_levels(kind, book, exch, u, seq, bids, asks, None, recv_ns)

    def _book_levels(self, kind: str, book, exch: int, u: int, seq: int, bids, asks, rows, recv_ns: int):
        """A book push, validated and parsed ("delta" or "snapshot"), into the book."""
        c = self.counters
        out = self._out
        out.clear()
        if kind == "delta" and book.live and u == book.last_id + 1:  # the usual case
            book.apply(bids, asks, u, seq, exch, recv_ns, out, rows)
            if book.wants_snapshot:  # it crossed: reset, resync
                self._track(book)
            return out.view()
        if kind == "snapshot":
            if not book.live:
                book.load(bids, asks, u, seq, exch, recv_ns, out, True, rows)
            elif u == 1:  # "u"=1: the book service restarted; overwrite the local book
                c.venue_resets += 1
                book.load(bids, asks, u, seq, exch, recv_ns, out, True, rows)
            elif u == book.last_id:
                if book.same_as(bids, asks, rows):  # depth 1: re-sent after 3 s without a change
                    c.resends += 1
                    return out.empty
                book.load(bids, asks, u, seq, exch, recv_ns, out, True, rows)
            else:
                if u != book.last_id + 1:
                    c.depth_gaps += 1  # messages lost; this snapshot repairs the book
                book.load(bids, asks, u, seq, exch, recv_ns, out, False, rows)
        elif kind == "delta":
            if not book.live:
                c.stale_depth_events += 1
            elif u != book.last_id + 1:
                c.depth_gaps += 1
                book.reset(out, exch, recv_ns)
            else:
                book.apply(bids, asks, u, seq, exch, recv_ns, out, rows)
        self._track(book)
        return out.view()

    def _ticker_texts(self, sid: int):
        """The symbol's merged MARK field texts (None before a snapshot), with those the
        compiled path read since (from the frame that last carried each) taken in."""
        state = self._tickers.get(sid)
        srcs = self._tsrc[sid]
        kst = None
        for i, src in enumerate(srcs):
            if src is not None:
                if kst is None:
                    kst = self._kst[sid].tolist()
                o = KS_OFFSETS + 2 * i
                state[TICKER_FIELDS[i]] = src[kst[o]:kst[o + 1]].decode()
                srcs[i] = None
        return state

    def _ticker(self, msg: dict, sid: int, recv_ns: int) -> np.ndarray:
        exch = _ms(msg["ts"])
        d = msg["data"]
        if type(d) is not dict:
            raise TypeError("data")
        kind = msg["type"]
        state = self._ticker_texts(sid)
        if kind == "snapshot" or state is None:
            if kind != "snapshot":
                self.counters.stale_depth_events += 1  # a delta before any snapshot: nothing to merge into
                return self._out.empty
            state = {}
        elif kind != "delta":
            raise ValueError("type")
        fields = {k: d[k] for k in ("markPrice", "indexPrice", "fundingRate", "nextFundingTime", "openInterest")
                  if k in d}
        merged = {**state, **fields}
        kst = self._kst[sid]
        if "markPrice" not in merged:
            self._tickers[sid] = merged
            kst[KS_FLAGS] = (kst[KS_FLAGS] & KS_KNOWN) | KS_STATE
            return self._out.empty
        mark = self._e8_of(merged["markPrice"])
        if not mark:
            raise ZeroValue("markPrice")
        index = self._e8_of(merged["indexPrice"]) if merged.get("indexPrice") else 0
        rate = merged.get("fundingRate") or "0"
        funding = -self._e8_of(rate[1:]) if type(rate) is str and rate[:1] == "-" else self._e8_of(rate)
        nxt = merged.get("nextFundingTime") or "0"
        if type(nxt) is not str or not nxt.isdigit():
            raise TypeError("nextFundingTime")
        next_ns = _ms(int(nxt)) if nxt != "0" else 0
        oi = self._e8_of(merged["openInterest"]) if merged.get("openInterest") else 0
        cs = msg.get("cs", 0)
        self._tickers[sid] = merged  # only once every field parsed
        kst[KS_FLAGS] |= KS_STATE | KS_MARK_TEXT
        values = (mark, funding, index, next_ns, oi)
        if kst[KS_FLAGS] & KS_KNOWN and tuple(kst[KS_VALUES:KS_VALUES + 5].tolist()) == values:
            return self._out.empty
        kst[KS_VALUES:KS_VALUES + 5] = values
        kst[KS_FLAGS] |= KS_KNOWN
        return self._out.single(md.MARK, 0, 0, sid, exch, next_ns, recv_ns, _id(cs), oi, mark, funding, index, 0)


__all__ = ["BybitNormalizer", "BadTime"]
