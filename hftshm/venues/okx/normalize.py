"""OKX v5 public frames -> ``layouts.md`` records. Sans-I/O: bytes and a receive time in.

Shapes from OKX's v5 docs ("Market Data" > "WS / Order book channel", "WS / Trades channel";
the ``bbo-tbt`` push is the order book channel's, one level a side); the examples there are the
test fixtures (tests/venues/test_okx.py). Every push is
``{"arg":{"channel":..,"instId":"BTC-USDT"},("action":..,)"data":[{..}]}``.

``books``: the first push is a snapshot (``"action":"snapshot"``, ``prevSeqId`` -1), then
updates (``"action":"update"``) with ``seqId`` and ``prevSeqId``; levels are
``[price, size, "0", orders]``, size 0 deletes. The docs' sequence rules:

- an update applies only when its ``prevSeqId`` equals the last ``seqId``; anything else is a
  gap (depth_gaps): the book is reset and resynced by subscribing the channel again (the first
  push of a subscription is a snapshot). Updates while no book is live are dropped
  (stale_depth_events).
- an idle book is re-sent as an update with no levels and ``seqId`` == ``prevSeqId`` (the last
  ``seqId``): counted (idle_books), nothing published.
- after maintenance the sequence may restart: an update whose ``seqId`` is smaller than its
  ``prevSeqId`` (which still equals the last ``seqId``) is applied, and counted
  (venue_resets); the next ones follow it as usual.
- ``checksum``: CRC32 (signed 32-bit) of the top 25 levels as sent, ``bid:size:ask:size``
  interleaved; checked after each snapshot and update. A mismatch is a corrupt book
  (checksum_errors and depth_gaps): reset and resync. A checksum of 0 or none is not checked
  (some pushes carry 0).
- LEVEL: venue_id = ``seqId``, venue_id2 = ``prevSeqId`` (-1 on a snapshot is stored as 0);
  exch_ns = ``ts``.

``bbo-tbt`` -> QUOTE (best bid and ask, venue_id = ``seqId``); a crossed or one-sided push is
refused (crossed_quotes, zero_values). ``trades`` -> one TRADE per element: side = ``side`` (the
taker's), venue_id = ``tradeId``, venue_id2 = ``seqId`` (0 if absent), exch_ns = txn_ns = ``ts``.

Replies: the text ``pong`` (pongs), ``{"event":"subscribe",..}`` and other events
(control_messages), ``{"event":"error","code":"60012","msg":..}`` (venue_errors and
refused_subscriptions: subscriptions are the only requests we send).
"""

from __future__ import annotations

import zlib

import numpy as np
import orjson

from hftshm.feed.scratch import sparse_record
from hftshm.layouts import md
from hftshm.ring.pointers import address

from .. import inband_arrays as A
from ..binance_spot.normalize import _BAD_INPUT, BadId, Refused, ZeroValue, _id, _ms
from ..inband import InbandBook, InbandNormalizer, LevelText
from . import fastbook, fastpush
from .fastbook import CHECKSUM_BAD, CK_VALID, IDLE, LAST, MISS, NEED_OUT, VALS, WORK_VALS, name_row, parse_at
from .fastbook import update_by_at
from .fastpush import BIG, CTX_NEED, inst_table, push_by_at
from .fastpush import NEED_OUT as PUSH_NEED_OUT
from .urls import inst_id

_loads = orjson.loads
_E8 = md.E8
_pack_trade = sparse_record("kind", "side", "flags", "symbol_id", "exch_ns", "txn_ns", "recv_ns", "venue_id",
                            "venue_id2", "price_e8", "qty_e8", "price", "qty").pack_into
_SIDES = {"buy": md.BUY, "sell": md.SELL}
CHECKSUM_LEVELS = 25


def _ts(text) -> int:
    """OKX times are ms since the epoch as strings."""
    if type(text) is not str or not text.isdigit():
        raise TypeError("ts")
    return _ms(int(text))


def _seq(value) -> int:
    if type(value) is not int:
        raise TypeError("seqId")
    return value


def checksum(bids_text: list[tuple[str, str]], asks_text: list[tuple[str, str]]) -> int:
    """OKX's book checksum of the best levels (bids best first, asks best first)."""
    parts = []
    for i in range(max(len(bids_text), len(asks_text))):
        if i < len(bids_text):
            parts += bids_text[i]
        if i < len(asks_text):
            parts += asks_text[i]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


_MAX_MS = ((1 << 63) - 1) // 1_000_000
_NO_TEXT = np.zeros(0, np.int64)


def _texts(raw_b: list, raw_a: list) -> tuple[bytes, np.ndarray]:
    """The levels' (price, size) texts, as sent, joined, and each one's offsets (start, end,
    start, end), bids then asks: what a text book keeps (``InbandBook.load``/``apply_at``)."""
    parts, offs, o = [], [], 0
    for level in raw_b + raw_a:
        p, q = level[0].encode(), level[1].encode()
        parts += (p, q)
        offs += (o, o + len(p), o + len(p), o + len(p) + len(q))
        o += len(p) + len(q)
    return b"".join(parts), np.array(offs, np.int64)


class _Book(InbandBook):
    """An OKX book: its last ``seqId`` lives in ``sides[STATE, LAST]``, where the one-call update
    (``fastbook.update``) reads and advances it; ``last_id`` is that word. While it is the hot
    book, ``fastbook.update_by`` reads its arrays by address from ``hot_ctx``: bound again when
    it grows (replaces them)."""

    hot_ctx = None
    inst_row = fastbook.name_row(b"")  # its instId as update_by compares it

    def bind(self, ctx) -> None:
        """This book is update_by's from now on (None: no longer)."""
        self.hot_ctx = ctx
        if ctx is not None:
            fastbook.bind_book(ctx, self.inst_row, self.sides, self.texts)

    def _grow(self) -> None:
        super()._grow()
        self.bind(self.hot_ctx)

    @property
    def last_id(self) -> int:
        return int(self.sides[A.STATE, LAST])

    @last_id.setter
    def last_id(self, value: int) -> None:
        self.sides[A.STATE, LAST] = value


_ONE_CALL = CHECKSUM_BAD  # update's counts below this: applied, QUOTE written, checksum good
_VIEWS = 8  # prebuilt views of the output records' first 0..7 (slicing costs ~100 ns)
_BOOKS_HEAD = b'{"arg":{"channel":"books","instId":"'


class OkxNormalizer(InbandNormalizer):
    TEXT_BOOKS = True  # the checksum is over the levels' texts as sent
    MAX_ROWS = 8192  # levels a books push may carry on the fast path (bids and asks together)

    def __init__(self, symbols, **kw):
        super().__init__(symbols, **kw)
        self._inst: dict[str, tuple[int, str]] = {}
        for name, sid in self._ids.items():
            try:
                self._inst[inst_id(name)] = (sid, name)
            except ValueError:
                pass  # no OKX instrument: its records never come (connections refuses it)
        self._ckbuf = np.zeros(2 * CHECKSUM_LEVELS * A.TEXT_WIDTH, np.uint8)
        self._ckmv = memoryview(self._ckbuf)
        self._fbook = parse_at  # the books fast path (fastbook.py); tests switch it off to compare
        self._fupdate = update_by_at  # a live book's next update in one call; tests switch it off
        self._books = {name: _Book(name, sid, self.counters, True) for name, sid in self._ids.items()}
        # update's work (fastbook.rows_of): parse's vals, rows, text offsets; parse_at's views of it
        self._bwork = np.zeros(WORK_VALS + 6 * self.MAX_ROWS, np.int64)
        self._bvals = self._bwork[:VALS + 1]
        self._brows = self._bwork[WORK_VALS:WORK_VALS + 2 * self.MAX_ROWS]
        self._btoff = self._bwork[WORK_VALS + 2 * self.MAX_ROWS:]
        self._arr = self._words = None  # the output records, and the same memory as int64 words
        self._book_b = {name.encode(): self._books[found[1]] for name, found in self._inst.items()}.get
        # The hot instrument: a books push that starts with its head (instId and its closing quote)
        # is its own (update_by checks it while its book is live, one startswith while not);
        # another instrument's becomes the hot one. None yet: a book never live, whose pushes all
        # go to the other paths.
        hot = {name.encode(): (_BOOKS_HEAD + name.encode() + b'"', self._books[found[1]])
               for name, found in self._inst.items()}
        for name, (_, book) in hot.items():
            book.inst_row = name_row(name)
        self._hot_b = hot.get
        self._views: list = []
        # update_by's and push_by's contexts: their arrays by address (the hot book's instId row,
        # sides and texts; the instruments' table; the output records), bound again whenever the
        # output records move or the hot book changes or grows
        self._bctx = np.zeros(fastbook.CTX_LEN, np.int64)
        self._bctx_addr = address(self._bctx)
        self._hot = None
        self._set_hot(next(iter(hot.values()), (_BOOKS_HEAD + b'"', _Book("", 0, self.counters, True))))
        self._fpush = push_by_at  # trades and bbo-tbt in one call (fastpush.py); tests switch it off
        self._itable = inst_table((name.encode(), found[0]) for name, found in self._inst.items())
        self._ctx = np.zeros(fastpush.CTX_LEN, np.int64)
        self._ctx_addr = address(self._ctx)
        self._new_array(self._out.array)

    def _set_hot(self, found) -> None:
        """The instrument whose books pushes ``update_by`` takes (its books head, its book)."""
        if self._hot is not None:
            self._hot.bind(None)
        self._hot_head, self._hot = found
        self._hot.bind(self._bctx)

    def normalize(self, frame: bytes | str, recv_ns: int) -> np.ndarray:
        """Records from one frame. The channel's second byte routes a push to its compiled call
        (books: ``fastbook.update_by`` for the hot instrument's live book; trades and bbo-tbt:
        ``fastpush.push_by``, which tells them apart), one integer comparison; a frame such a
        call does not take, or any other, goes to the other books paths or ``_normalize``, which
        decide (tests/venues/test_inband_fastpath.py, test_inband_books.py and test_okx_push.py
        compare them)."""
        if type(frame) is bytes:
            try:
                c = frame[20]  # '{"arg":{"channel":"' then books, bbo-tbt, trades: o, b, r
            except IndexError:  # "pong", or anything as short
                return self._normalize(frame, recv_ns)
            out = self._out
            if out.array is not self._arr:
                self._new_array(out.array)
            if c == 111:  # "o": books
                book = self._hot
                if book.live:  # the usual case: the hot instrument's next update, one compiled call
                    w = self._fupdate(frame, self._bctx_addr, recv_ns, CHECKSUM_LEVELS)
                    if 0 <= w < _ONE_CALL:
                        self.counters.frames += 1
                        out.n = w
                        return self._views[w] if w < _VIEWS else out.view()
                    if w != MISS:  # the hot instrument's push
                        out = self._book_update(book, frame, recv_ns, w)
                        return self._books_push(frame, recv_ns) if out is None else out
                elif frame.startswith(self._hot_head):
                    return self._books_push(frame, recv_ns)
                if frame[19:25] == b'books"':  # another instrument's: it becomes the hot one
                    end = frame.find(b'"', 36)
                    found = self._hot_b(frame[36:end]) if end > 0 else None
                    if found is not None and frame.startswith(found[0]):
                        self._set_hot(found)
                        return self.normalize(frame, recv_ns)  # now the hot path's
                    return self._books_push(frame, recv_ns)
            else:  # trades, bbo-tbt: push_by checks which
                w = self._fpush(frame, self._ctx_addr, recv_ns)
                if w > 0:
                    self.counters.frames += 1
                    if w > BIG:
                        w = self._big_floats(w - BIG)
                    out.n = w
                    return self._views[w] if w < _VIEWS else out.view()
                if w == PUSH_NEED_OUT:
                    out.n = 0
                    out.reserve(int(self._ctx[CTX_NEED]))
                    return self.normalize(frame, recv_ns)
        return self._normalize(frame, recv_ns)

    def _big_floats(self, n: int) -> int:
        """``fastpush`` wrote ``n`` records with a value of 2**53 or more: their floats as the
        general path makes them (Python's correctly rounded int / int)."""
        a = self._arr
        for name in ("price", "qty", "price2", "qty2"):
            a[name][:n] = [v / _E8 for v in a[name + "_e8"][:n].tolist()]
        return n

    def _new_array(self, array) -> None:
        """The output records moved (grown): their int64 words, prebuilt views and the compiled
        calls' binding follow."""
        self._arr, self._words = array, array.view(np.int64)
        self._views = [array[:k] for k in range(_VIEWS)]
        fastbook.bind(self._bctx, self._bwork, self._words)
        fastpush.bind(self._ctx, self._words, self._itable)

    def _books_push(self, frame: bytes, recv_ns: int) -> np.ndarray:
        """A books push the one-call update did not take: the docs' shape read by
        ``fastbook.parse`` (snapshots, gaps, restarts...), else the general path."""
        if self._fbook(frame, self._bvals, self._brows, self._btoff):
            _, _, a0, a1, ts, want, prev, seq, nb, na, _ = self._bvals.tolist()
            action = frame[a0:a1]
            book = self._book_b(frame[self._bvals[0]:self._bvals[1]])
            if book is not None and 0 < ts <= _MAX_MS and (action == b"update" or action == b"snapshot"):
                self.counters.frames += 1
                try:
                    return self._book_levels(action == b"snapshot", book.symbol, ts * 1_000_000, seq, prev, want,
                                             None, None, self._brows, nb, na, frame, self._btoff, recv_ns)
                except LevelText:  # as the general path: refused, nothing changed
                    self.counters.bad_fields += 1
                    return self._out.empty
        return self._normalize(frame, recv_ns)

    def _book_update(self, book, frame: bytes, recv_ns: int, w: int):
        """What ``fastbook.update`` answered ``w`` for a live book's push, beyond the usual case
        (``normalize`` takes that): its records; None (nothing counted or changed) for a frame
        the other paths decide."""
        out = self._out
        if w >= 0:  # applied: a QUOTE past 2**53 to write, or a checksum mismatch
            self.counters.frames += 1
            exch = int(self._bwork[4]) * 1_000_000
            out.n = w & (CHECKSUM_BAD - 1)
            if w & A.NEED_QUOTE:
                book._put_top(out, exch, recv_ns, book.last_id)
            if w & CHECKSUM_BAD:
                self._corrupt(book, out, exch, recv_ns)
                self._track(book)
            return out.view()
        if w == IDLE:  # an idle book's heartbeat: counted, nothing published
            self.counters.frames += 1
            self.counters.idle_books += 1
            return out.empty
        if w == A.CROSSED:
            self.counters.frames += 1
            out.n = 0
            book._crossed(out, int(self._bwork[4]) * 1_000_000, recv_ns)
            self._track(book)
            return out.view()
        if w == A.LONG_TEXT:  # as the general path: refused, nothing changed
            self.counters.frames += 1
            self.counters.bad_fields += 1
            return out.empty
        if w == NEED_OUT:
            out.n = 0
            out.reserve(int(self._bwork[10]))
        elif w == A.NEED_ROOM:
            book._grow()
        else:
            return None  # not a chained update, or a value past 2**53: the other paths
        if out.array is not self._arr:
            self._new_array(out.array)
        w = self._fupdate(frame, self._bctx_addr, recv_ns, CHECKSUM_LEVELS)
        if 0 <= w < _ONE_CALL:
            self.counters.frames += 1
            out.n = w
            return out.view()
        return self._book_update(book, frame, recv_ns, w)

    def _normalize(self, frame: bytes | str, recv_ns: int) -> np.ndarray:
        """The general path: orjson, then every field checked."""
        c = self.counters
        c.frames += 1
        if frame == b"pong" or frame == "pong":
            c.pongs += 1
            c.control_messages += 1
            return self._out.empty
        try:
            msg = _loads(frame)
        except orjson.JSONDecodeError:
            c.malformed_json += 1
            return self._out.empty
        try:
            arg = msg.get("arg")
            data = msg.get("data")
            if data is None:
                return self._reply(msg)
            channel = arg["channel"]
            found = self._inst.get(arg["instId"])
            if channel not in ("bbo-tbt", "books", "trades"):
                c.unknown_events += 1
                return self._out.empty
            if found is None:
                c.unknown_symbols += 1
                return self._out.empty
            if type(data) is not list or not data:
                raise TypeError("data")
            sid, name = found
            if channel == "bbo-tbt":
                return self._bbo(data[0], sid, recv_ns)
            if channel == "trades":
                return self._trades(data, sid, recv_ns)
            return self._book(msg.get("action", "update"), data[0], name, recv_ns)
        except Refused as exc:
            setattr(c, exc.counter, getattr(c, exc.counter) + 1)
            return self._out.empty
        except _BAD_INPUT:
            if type(msg) is dict:
                c.bad_fields += 1
            else:
                c.unknown_events += 1
            return self._out.empty

    def _reply(self, d: dict) -> np.ndarray:
        c = self.counters
        event = d.get("event")
        if event == "error":
            c.venue_errors += 1
            c.refused_subscriptions += 1
        elif event is not None:
            c.control_messages += 1
        else:
            c.unknown_events += 1
        return self._out.empty

    def _bbo(self, d: dict, sid: int, recv_ns: int) -> np.ndarray:
        exch = _ts(d["ts"])
        bids, asks = self._levels(d["bids"], 2), self._levels(d["asks"], 2)
        if not bids or not asks:
            raise ZeroValue("bids/asks")
        (bid, bid_qty), (ask, ask_qty) = bids[0], asks[0]
        if not bid_qty or not ask_qty:
            raise ZeroValue("size")
        if bid >= ask:
            self.counters.crossed_quotes += 1
            return self._out.empty
        seq = _seq(d.get("seqId", 0))
        if seq < 0:
            raise BadId("seqId")
        return self._out.single(md.QUOTE, 0, 0, sid, exch, 0, recv_ns, seq, 0, bid, bid_qty, ask, ask_qty)

    def _trades(self, rows: list, sid: int, recv_ns: int) -> np.ndarray:
        if len(rows) == 1:  # the usual case: one sparse pack_into
            t = rows[0]
            side = _SIDES[t["side"]]
            get = self._e8
            text = t["px"]
            price = get(text)
            if price is None:
                price = self._e8_parse(text)
            text = t["sz"]
            qty = get(text)
            if qty is None:
                qty = self._e8_parse(text)
            if not price or not qty:
                raise ZeroValue("px/sz")
            tid = t["tradeId"]
            if type(tid) is not str or not tid.isdigit():
                raise TypeError("tradeId")
            tid = _id(int(tid))
            seq = t.get("seqId", 0)
            if type(seq) is not int or seq < 0:
                _id(seq)
            ts = _ts(t["ts"])
            out = self._out
            _pack_trade(out.mv, 0, md.TRADE, side, 0, sid, ts, ts, recv_ns, tid, seq, price, qty,
                        price / _E8, qty / _E8)  # struct.error past int64: bad_fields
            out.n = 1
            return out.one
        parsed = []
        for t in rows:
            side = _SIDES[t["side"]]
            price, qty = self._e8_of(t["px"]), self._e8_of(t["sz"])
            if not price or not qty:
                raise ZeroValue("px/sz")
            tid = t["tradeId"]
            if type(tid) is not str or not tid.isdigit():
                raise TypeError("tradeId")
            ts = _ts(t["ts"])
            parsed.append((side, ts, _id(int(tid)), _id(t.get("seqId", 0)), price, qty))
        out = self._out
        out.clear()
        for side, ts, tid, seq, price, qty in parsed:
            out.put(md.TRADE, side, 0, sid, ts, ts, recv_ns, tid, seq, price, qty)
        return out.view()

    def _book(self, action: str, d: dict, name: str, recv_ns: int) -> np.ndarray:
        exch = _ts(d["ts"])
        seq, prev = _seq(d["seqId"]), _seq(d.get("prevSeqId", -1))
        raw_b, raw_a = d["bids"], d["asks"]
        bids, asks = self._levels(raw_b, 2), self._levels(raw_a, 2)
        want = d.get("checksum", 0)
        if type(want) is not int:
            raise TypeError("checksum")
        if seq < 0:
            raise BadId("seqId")
        if action != "snapshot" and action != "update":
            raise ValueError("action")
        return self._book_levels(action == "snapshot", name, exch, seq, prev, want, raw_b, raw_a,
                                 bids + asks, len(bids), len(asks), b"", _NO_TEXT, recv_ns)

    def _book_levels(self, snapshot: bool, name: str, exch: int, seq: int, prev: int, want: int, raw_b, raw_a,
                     levels, nb: int, na: int, src: bytes, toff, recv_ns: int) -> np.ndarray:
        """A books push, validated and parsed, into the book. ``levels``: the parsed levels, bids
        then asks, as (price_e8, size_e8) pairs (the general path: ``raw_b``/``raw_a`` hold
        their texts) or flat int64 rows (the fast path: their texts' offsets in ``src`` at
        ``toff``)."""
        c = self.counters
        book = self._books[name]
        book.sides[A.STATE, CK_VALID] = 0  # the compiled checksum's cached states: a change they do not see
        out = self._out
        out.clear()
        if not snapshot:
            if not book.live:
                c.stale_depth_events += 1
                self._track(book)
                return out.view()
            if prev != book.last_id:
                c.depth_gaps += 1
                book.reset(out, exch, recv_ns)
                self._track(book)
                return out.view()
            if seq == prev and not nb and not na:  # an idle book's heartbeat
                c.idle_books += 1
                return out.empty
        if raw_b is not None:  # the general path: rows and texts from the parsed frame
            src, toff = _texts(raw_b, raw_a)
            levels = np.array([v for level in levels for v in level], np.int64)
        if snapshot:
            flat = levels[: 2 * (nb + na)].tolist()
            bids, asks = list(zip(flat[0:2 * nb:2], flat[1:2 * nb:2])), list(zip(flat[2 * nb::2], flat[2 * nb + 1::2]))
            book.load(bids, asks, seq, 0, exch, recv_ns, out, True, levels[: 2 * (nb + na)], src, toff)
        else:
            if seq < prev:  # the sequence restarted (maintenance); the update still applies
                c.venue_resets += 1
            book.apply_at(levels, 0, nb + na, nb, seq, max(prev, 0), exch, recv_ns, out, src, toff)
        if book.live and want and self._checksum(book) != want:
            self._corrupt(book, out, exch, recv_ns)
        self._track(book)
        return out.view()

    def _corrupt(self, book, out, exch: int, recv_ns: int) -> None:
        """The book's checksum differs from the venue's: reset it and resync."""
        c = self.counters
        c.checksum_errors += 1
        c.depth_gaps += 1
        book.reset(out, exch, recv_ns)

    def _checksum(self, book) -> int:
        """OKX's checksum of the book's best CHECKSUM_LEVELS levels a side, from their texts."""
        value = zlib.crc32(self._ckmv[: book.join_top(CHECKSUM_LEVELS, self._ckbuf)])
        return value - (1 << 32) if value >= 1 << 31 else value
