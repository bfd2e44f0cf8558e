"""Binance Spot market-data frames -> ``layouts.md`` records. Sans-I/O: bytes and a receive time in,
records out; the WebSocket client and the REST snapshot fetch live elsewhere.

Frames are a combined-stream envelope ``{"stream":"btcusdt@trade","data":{...}}`` or the raw
payload alone (binance-spot-api-docs, web-socket-streams.md, "General WSS information"). Payloads:

Trade Streams (``<symbol>@trade``) -> one TRADE::

    {"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000",
     "q":"0.02000000","T":1723161255342,"m":true,"M":true}

Aggregate Trade Streams (``<symbol>@aggTrade``) -> one AGG_TRADE::

    {"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100",
     "f":100,"l":105,"T":1672515782136,"m":true,"M":true}

Individual Symbol Book Ticker Streams (``<symbol>@bookTicker``; Spot sends no "e" and no "E")
-> one QUOTE (exch_ns 0)::

    {"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000",
     "a":"61837.64000000","A":"1.54698000"}

Diff. Depth Stream (``<symbol>@depth@100ms``) -> the symbol's ``LocalBook`` (see book.py)::

    {"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,
     "b":[["61737.63000000","0.00000000"]],"a":[["61837.64000000","1.54698000"]]}

Also seen and counted, never raised: subscription replies ``{"result":null,"id":1}``
(control_messages), ``{"code":2,"msg":"..."}`` (venue_errors), other event types
(unknown_events), bad JSON (malformed_json), missing or mistyped fields (bad_fields) and symbols
missing from the table (unknown_symbols).

Well-typed but implausible values are refused (nothing published, the id state untouched) and
counted: an event or trade time ``E``/``T`` not in 1 ms .. int64 ns (bad_times); a venue id
``t``, ``a``, ``f``, ``u`` or ``U`` negative or past int64 (bad_ids); a zero trade price or
quantity, a zero bookTicker price or quantity, a zero depth-level price (zero_values; a zero
*quantity* on a depth level is the venue deleting it); a bookTicker with bid >= ask
(crossed_quotes, as the local book refuses a crossed book). A depth event refused this way leaves
a hole in the book's update ids: the next event is a gap and the book resyncs.

Field mapping follows layouts/md.py: exch_ns = E * 1e6, txn_ns = T * 1e6; side BUY when the buyer
was the taker ("m" false), SELL when "m" is true; F_BEST_MATCH when "M" is true ("M" is optional:
the docs call it "Ignore"); seq and publish_ns stay 0 for the ring to stamp.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping

import numpy as np
import orjson

from hftshm.layouts import md

from hftshm.feed.e8 import INT64_MAX, E8Memo
from hftshm.feed.fastjson import Templates
from hftshm.feed.scratch import MdScratch, sparse_record
from . import fastrecord
from .book import DEFAULT_MAX_BUFFERED, DepthEvent, LocalBook
from .counters import FeedCounters
from .symbols import check_symbols

_MS = 1_000_000  # Binance times are ms since the epoch; records carry ns
_MAX_MS = INT64_MAX // _MS
# What malformed venue input can raise inside a handler; anything else is a bug and propagates.
_BAD_INPUT = (KeyError, TypeError, ValueError, AttributeError, IndexError, struct.error)
_loads = orjson.loads
_pack_trade = sparse_record("kind", "side", "flags", "symbol_id", "exch_ns", "txn_ns", "recv_ns",
                            "venue_id", "price_e8", "qty_e8", "price", "qty").pack_into
_pack_quote = sparse_record("kind", "symbol_id", "recv_ns", "venue_id", "price_e8", "qty_e8",
                            "price2_e8", "qty2_e8", "price", "qty", "price2", "qty2").pack_into
_E8 = md.E8  # floats are e8 / E8: int / int true division is correctly rounded
_TRADE, _QUOTE, _BUY, _SELL, _F_BEST_MATCH = md.TRADE, md.QUOTE, md.BUY, md.SELL, md.F_BEST_MATCH
_TRADE_GAP = fastrecord.TRADE_GAP


class Refused(ValueError):
    """Well-typed input with an implausible value; ``counter`` names the FeedCounters field."""

    counter = ""


class BadTime(Refused):
    counter = "bad_times"


class BadId(Refused):
    counter = "bad_ids"


class ZeroValue(Refused):
    counter = "zero_values"


def _ms(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"expected ms since the epoch, got {value!r}")
    if not 0 < value <= _MAX_MS:
        raise BadTime(f"expected ms since the epoch, got {value!r}")
    return value * _MS


def _id(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an int64 id, got {value!r}")
    if not 0 <= value <= INT64_MAX:
        raise BadId(f"expected an int64 id, got {value!r}")
    return value


def _update_id(value: object) -> int:
    """A snapshot's lastUpdateId: any fault is a bad snapshot (ValueError)."""
    if type(value) is not int or not 0 <= value <= INT64_MAX:
        raise ValueError(f"expected an int64 id, got {value!r}")
    return value


class BinanceSpotNormalizer:
    """Turns Binance Spot frames into ``md.DTYPE`` records and keeps one ``LocalBook`` per symbol.

    ``normalize`` and ``apply_snapshot`` return a view into one reusable scratch buffer: valid
    until the next call of either; copy it (or publish it) before calling again.
    """

    book_class = LocalBook  # the venue's book-sync rules (binance_usdm: FuturesBook)
    # A bookTicker or trade of TEMPLATES [0] / [1] read and written in one compiled call
    # (fastrecord.py; binance_usdm: its own shapes' kernel)
    ONE_CALL = staticmethod(fastrecord.spot_at)
    # The wire's shapes of a combined-stream frame (the vendored capture), for the fast path:
    # bookTicker, trade, depthUpdate, in that order (normalize reads the holes by position).
    TEMPLATES = (
        '{"stream":"<STR>","data":{"u":<INT>,"s":"<STR>","b":"<DEC>","B":"<DEC>","a":"<DEC>","A":"<DEC>"}}',
        '{"stream":"<STR>","data":{"e":"trade","E":<INT>,"s":"<STR>","t":<INT>,"p":"<DEC>","q":"<DEC>",'
        '"T":<INT>,"m":<BOOL>,"M":<BOOL>}}',
        '{"stream":"<STR>","data":{"e":"depthUpdate","E":<INT>,"s":"<STR>","U":<INT>,"u":<INT>,'
        '"b":<LEVELS>,"a":<LEVELS>}}',
    )

    def __init__(self, symbols: Mapping[str, int], *, max_buffered: int = DEFAULT_MAX_BUFFERED,
                 memo_limit: int = 4096):
        """``symbols``: Binance symbol -> symbol_id. ``max_buffered``: diff events each book holds
        while waiting for a snapshot. ``memo_limit``: entries in the text -> e8 cache."""
        self._ids = check_symbols(symbols)
        self.counters = FeedCounters()
        self._out = MdScratch()
        self._memo = E8Memo(memo_limit)
        self._e8 = self._memo.get  # bound dict.get: the hot paths' e8 lookup
        self._e8_parse = self._memo.parse  # and its fallback on a miss
        self._sym = self._ids.get
        # the fast path (normalize): the compiled matcher, and the tables keyed by the bytes it
        # returns (a <STR> hole's bytes are its text: printable ASCII, no escapes)
        fast = Templates(self.TEMPLATES)
        self._fmatch, self._fprog, self._fwork = fast.entry, fast.prog, fast.work
        self._fviews, self._fsides, self._frows = fast.views, fast.sides, fast.rows
        self._sym_b = {name.encode(): sid for name, sid in self._ids.items()}.get
        self._books = {name: self.book_class(name, sid, self.counters, max_buffered)
                       for name, sid in self._ids.items()}
        self._books_b = {name.encode(): book for name, book in self._books.items()}
        self._wanted: set[str] = set()  # symbols whose book asks for a snapshot
        # the one-call path's symbol table and trade-id state, and the record it writes
        self._fstate = fastrecord.FastState(self._ids)
        self._farray, self._frecord = self._fstate.array, self._fstate.record
        self._fone = self.ONE_CALL  # tests switch it off (the reference is the code before it)
        # symbol_id -> last "t", in the one-call path's state: every path keeps the same one
        self._last_trade = fastrecord.TradeIds(self._fstate)
        self._last_agg: dict[int, int] = {}  # symbol_id -> last "a"

    # -- public API --------------------------------------------------------------------------

    def normalize(self, frame: bytes | str, recv_ns: int) -> np.ndarray:
        """Records from one text frame (possibly none). Never raises on bad input: counts it.

        A bookTicker or trade of ``TEMPLATES``' exact shapes (the wire's) that the general path
        would publish is read and its record written in one compiled call (``fastrecord``); any
        other frame of those shapes is read by the compiled matcher (``feed.fastjson``) and
        packed here (``_templated``); anything else, or a value the general path would refuse or
        count, goes to ``_normalize``, which decides. Same records either way
        (tests/feed/test_fastpath.py and test_fastrecord.py compare them over the captures)."""
        if type(frame) is bytes:
            code = self._fone(frame, self._farray, recv_ns)
            if code > 0:
                c = self.counters
                c.frames += 1
                if code == _TRADE_GAP:
                    c.trade_id_gaps += 1
                    c.trade_ids_missed += self._fstate.missed
                return self._frecord
            return self._templated(frame, recv_ns)
        return self._normalize(frame, recv_ns)

    def _templated(self, frame: bytes, recv_ns: int) -> np.ndarray:
        """The template path: a frame of one of ``TEMPLATES``' shapes read by the compiled
        matcher and packed here, if the general path would take it; else ``_normalize``."""
        t = self._fmatch(frame, self._fprog, self._fwork)
        if t == 0:  # bookTicker
            _, _, u, s0, s1, bid, bid_qty, ask, ask_qty = self._fviews[0].tolist()
            sid = self._sym_b(frame[s0:s1])
            if sid is not None and 0 < bid < ask and bid_qty and ask_qty:
                self.counters.frames += 1
                out = self._out
                _pack_quote(out.mv, 0, _QUOTE, sid, recv_ns, u, bid, bid_qty, ask, ask_qty,
                            bid / _E8, bid_qty / _E8, ask / _E8, ask_qty / _E8)
                out.n = 1
                return out.one
        elif t == 1:  # trade
            _, _, exch_ms, s0, s1, tid, price, qty, txn_ms, m, best = self._fviews[1].tolist()
            sid = self._sym_b(frame[s0:s1])
            if sid is not None and price and qty and 0 < exch_ms <= _MAX_MS and 0 < txn_ms <= _MAX_MS:
                c = self.counters
                c.frames += 1
                out = self._out
                _pack_trade(out.mv, 0, _TRADE, _SELL if m else _BUY, _F_BEST_MATCH if best else 0, sid,
                            exch_ms * _MS, txn_ms * _MS, recv_ns, tid, price, qty, price / _E8, qty / _E8)
                out.n = 1
                self._last_trade.see(sid, tid, c)
                return out.one
        elif t == 2:  # depthUpdate
            _, _, exch_ms, s0, s1, first, final, b0, bn, a0, an = self._fviews[2].tolist()
            book = self._books_b.get(frame[s0:s1])
            if book is not None and first <= final and 0 < exch_ms <= _MAX_MS:
                self.counters.frames += 1
                rows = self._frows(b0, bn + an)  # a0 == b0 + bn
                ev = DepthEvent(first, final, exch_ms * _MS, recv_ns, None, None, -1, rows, bn)
                return self._on_diff(book, ev)
        return self._normalize(frame, recv_ns)

    def _normalize(self, frame: bytes | str, recv_ns: int) -> np.ndarray:
        """The general path: orjson, then every field checked; trade and bookTicker inline, with
        one sparse ``pack_into`` each (every Python call here is ~50-100 ns of ~1.5 us)."""
        c = self.counters
        c.frames += 1
        try:
            msg = _loads(frame)
        except orjson.JSONDecodeError:
            c.malformed_json += 1
            return self._out.empty
        try:
            data = msg.get("data")  # AttributeError: not an object (classified below)
            if data is not None:  # combined-stream envelope
                msg = data
            e = msg.get("e")
            if e == "trade":
                sid = self._sym(msg["s"])
                if sid is None:
                    c.unknown_symbols += 1
                    return self._out.empty
                t, exch_ms, txn_ms, m = msg["t"], msg["E"], msg["T"], msg["m"]
                if type(t) is not int or type(exch_ms) is not int or type(txn_ms) is not int:
                    raise TypeError("t/E/T")
                if t < 0 or exch_ms <= 0 or txn_ms <= 0:  # the upper bounds: struct.error below
                    _id(t)
                    raise BadTime("E/T")
                if m is True:  # the buyer is the maker: the seller took liquidity
                    side = _SELL
                elif m is False:
                    side = _BUY
                else:
                    raise TypeError("m")
                best = msg.get("M", False)
                if best is not True and best is not False:
                    raise TypeError("M")
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
                try:  # free unless it raises: cheaper than bounds checks on every trade
                    _pack_trade(out.mv, 0, _TRADE, side, _F_BEST_MATCH if best else 0, sid,
                                exch_ms * _MS, txn_ms * _MS, recv_ns, t, price, qty, price / _E8, qty / _E8)
                except struct.error:  # past int64: t, or E or T once in ns (parsed p and q fit)
                    _id(t)
                    raise BadTime("E/T") from None
                out.n = 1
                self._last_trade.see(sid, t, c)
                return out.one
            if e is None:
                if "u" not in msg:
                    return self._reply(msg)
                # bookTicker: Spot's has no "e" and no "E" (Individual Symbol Book Ticker Streams)
                sid = self._sym(msg["s"])
                if sid is None:
                    c.unknown_symbols += 1
                    return self._out.empty
                u = msg["u"]
                if type(u) is not int:
                    raise TypeError("u")
                if u < 0:  # past int64: struct.error below
                    raise BadId("u")
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
                    c.crossed_quotes += 1  # bid >= ask: never a venue's top of book
                    return self._out.empty
                out = self._out
                try:
                    _pack_quote(out.mv, 0, _QUOTE, sid, recv_ns, u, bid, bid_qty, ask, ask_qty,
                                bid / _E8, bid_qty / _E8, ask / _E8, ask_qty / _E8)
                except struct.error:  # u past int64 (the e8 values fit by parsing)
                    raise BadId("u") from None
                out.n = 1
                return out.one
            if e == "depthUpdate":
                records = self._depth(msg, recv_ns)
            elif e == "aggTrade":
                records = self._agg_trade(msg, recv_ns)
            else:
                c.unknown_events += 1
                return self._out.empty
        except Refused as exc:  # before _BAD_INPUT: a Refused is a ValueError
            name = exc.counter
            setattr(c, name, getattr(c, name) + 1)
            return self._out.empty
        except _BAD_INPUT:
            if type(msg) is dict:
                c.bad_fields += 1
            else:  # a JSON array, string or number, or an envelope around one
                c.unknown_events += 1
            return self._out.empty
        return records

    def resume(self, last_trade: Mapping[int, int], last_agg: Mapping[int, int],
               books: Iterable[int] = (), recv_ns: int = 0) -> np.ndarray:
        """Continue where a predecessor stopped (its last records, read back from the md ring by
        ``hftshm.feed.resume``): ``last_trade`` / ``last_agg`` map symbol_id -> the last published
        trade / aggTrade id, so the first id after a restart that does not follow is a gap, with
        its size in trade_ids_missed / agg_trade_ids_missed. ``books``: symbol_ids whose book the
        predecessor published and did not reset; each gets a BOOK_RESET now (returned, to
        publish), so no consumer keeps a book nobody updates until the next snapshot."""
        known = set(self._ids.values())
        for table in (last_trade, last_agg, books):
            unknown = set(table) - known
            if unknown:
                raise KeyError(f"resume: symbol ids {sorted(unknown)} are not in the symbol table")
        # A negative id was never published by this normalizer: nothing to continue from.
        self._last_trade.update({int(k): int(v) for k, v in last_trade.items() if v >= 0})
        self._last_agg.update({int(k): int(v) for k, v in last_agg.items() if v >= 0})
        out = self._out
        out.clear()
        reset = set(books)
        for book in self._books.values():
            if book.symbol_id in reset:
                book.drop_published(out, recv_ns)
        return out.view()

    def snapshot_requests(self) -> list[str]:
        """Symbols whose book waits for a depth snapshot (``GET /api/v3/depth?symbol=..``).

        Level-triggered: a symbol stays listed until a snapshot is accepted, so the I/O layer
        keeps its own in-flight set and fetches again if a symbol is still listed after it
        handed one in (a snapshot too old to bridge is discarded)."""
        return sorted(self._wanted)

    def wants_snapshot(self) -> bool:
        """Whether any book waits for a snapshot (cheap: for a check after every read)."""
        return bool(self._wanted)

    def apply_snapshot(self, symbol: str, snapshot: Mapping | bytes | str, recv_ns: int) -> np.ndarray:
        """Hand in a depth snapshot ``{"lastUpdateId":..,"bids":[[p,q],..],"asks":[..]}`` (the REST
        reply, or the WebSocket-API reply whose ``result`` holds it), as a dict or raw JSON.

        Returns the records it produced (BOOK_RESET, snapshot LEVELs, QUOTE, then buffered diffs).
        A snapshot that does not parse, or holds a zero price, is counted (bad_snapshots) and
        leaves the request up.
        ``symbol`` must be in the symbol table (misuse raises ``KeyError``)."""
        book = self._books.get(symbol)
        if book is None:
            raise KeyError(f"apply_snapshot: {symbol!r} is not in the symbol table")
        out = self._out
        out.clear()
        try:
            if not isinstance(snapshot, Mapping):
                snapshot = _loads(snapshot)
            if "result" in snapshot:  # WebSocket API: {"id":..,"status":200,"result":{...}}
                snapshot = snapshot["result"]
            last_update_id = _update_id(snapshot["lastUpdateId"])
            bids = self._levels(snapshot["bids"])
            asks = self._levels(snapshot["asks"])
        except _BAD_INPUT:
            self.counters.bad_snapshots += 1
            return out.empty
        book.apply_snapshot(last_update_id, bids, asks, recv_ns, out)
        self._track_wants(book)
        return out.view()

    def book(self, symbol: str) -> LocalBook:
        """The symbol's local book, for inspection; do not mutate it."""
        return self._books[symbol]

    # -- handlers: raise one of _BAD_INPUT on malformed input --------------------------------

    def _price_qty(self, p: str, q: str) -> tuple[int, int]:
        memo = self._memo
        pe = memo.get(p)
        if pe is None:
            pe = memo.parse(p)
        qe = memo.get(q)
        if qe is None:
            qe = memo.parse(q)
        return pe, qe

    def _agg_trade(self, d: dict, recv_ns: int) -> np.ndarray:
        """``{"e":"aggTrade","E":..,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,
        "T":..,"m":true,"M":true}`` -> AGG_TRADE, venue_id = a, venue_id2 = f."""
        sid = self._ids.get(d["s"])
        if sid is None:
            self.counters.unknown_symbols += 1
            return self._out.empty
        a, f = _id(d["a"]), _id(d["f"])
        m = d["m"]
        if m is True:
            side = md.SELL
        elif m is False:
            side = md.BUY
        else:
            raise TypeError("m")
        best = d.get("M", False)
        if best is not True and best is not False:
            raise TypeError("M")
        flags = md.F_BEST_MATCH if best else 0
        pe, qe = self._price_qty(d["p"], d["q"])
        if not pe or not qe:
            raise ZeroValue("p/q")
        rec = self._out.single(md.AGG_TRADE, side, flags, sid, _ms(d["E"]), _ms(d["T"]), recv_ns,
                               a, f, pe, qe, 0, 0)
        last = self._last_agg.get(sid)
        if last is not None and a != last + 1:
            self.counters.agg_trade_id_gaps += 1
            if a > last:
                self.counters.agg_trade_ids_missed += a - last - 1
        self._last_agg[sid] = a
        return rec

    def _reply(self, d: dict) -> np.ndarray:
        """Payloads with neither "e" nor "u": the venue's replies to our requests."""
        c = self.counters
        if "code" in d:
            c.venue_errors += 1
        elif "result" in d or "id" in d:
            c.control_messages += 1
        else:
            c.unknown_events += 1
        return self._out.empty

    def _depth(self, d: dict, recv_ns: int) -> np.ndarray:
        """``{"e":"depthUpdate","E":..,"s":"BTCUSDT","U":157,"u":160,"b":[["0.0024","10"]],
        "a":[["0.0026","100"]]}`` -> the symbol's book, which writes what it publishes."""
        book = self._books.get(d["s"])
        if book is None:
            self.counters.unknown_symbols += 1
            return self._out.empty
        first, final = _id(d["U"]), _id(d["u"])
        if first > final:
            raise BadId("U > u")
        # Validate everything before the book sees it: a half-applied event would corrupt it.
        ev = DepthEvent(first, final, _ms(d["E"]), recv_ns, self._levels(d["b"]), self._levels(d["a"]))
        return self._on_diff(book, ev)

    def _on_diff(self, book: LocalBook, ev: DepthEvent) -> np.ndarray:
        out = self._out
        out.clear()
        book.on_diff(ev, out)
        self._track_wants(book)
        return out.view()

    def _levels(self, raw: list) -> list[tuple[int, int]]:
        if type(raw) is not list:
            raise TypeError("levels")
        get, parse = self._e8, self._e8_parse
        parsed = []
        for level in raw:
            if type(level) is not list or len(level) != 2:
                raise ValueError("level")
            price, qty = level
            price_e8 = get(price)
            if price_e8 is None:
                price_e8 = parse(price)
            if not price_e8:  # a zero quantity deletes a level; a zero price is no level
                raise ZeroValue("level price")
            qty_e8 = get(qty)
            if qty_e8 is None:
                qty_e8 = parse(qty)
            parsed.append((price_e8, qty_e8))
        return parsed

    def _track_wants(self, book: LocalBook) -> None:
        if book.wants_snapshot:
            self._wanted.add(book.symbol)
        else:
            self._wanted.discard(book.symbol)
