"""What Bybit v5 and OKX v5 share: books whose snapshots come in band, on the stream itself.

Both venues open a book topic with a full snapshot and follow it with deltas (absolute
quantities, 0 deletes a level). The venue-specific continuity rules (Bybit's ``u`` + 1, OKX's
``prevSeqId`` == last ``seqId``) live in each venue's normalizer; ``InbandBook`` only keeps the
sides, writes the md records and refuses a crossed book.

Records (into an ``MdScratch``), as the Binance books write them (layouts/md.py):

- ``load(..., reset=True)``: BOOK_RESET, then one LEVEL per snapshot level with F_SNAPSHOT (the
  last also F_LAST_IN_EVENT); a venue restart, a first snapshot, or one after a gap.
- ``load(..., reset=False)``: a snapshot that continues the live book (Bybit depth 1 sends only
  snapshots, one per ``u``): only the differences as LEVELs (removed levels with qty 0), so
  consumers see a diff stream, not a reset every 10 ms.
- ``apply``: one LEVEL per delta level, bids then asks, F_LAST_IN_EVENT on the last.
- after each, a QUOTE with F_FROM_BOOK when the top changed.
A crossed result discards the book: BOOK_RESET (if consumers held the book), counted in
crossed_books, and the book waits for the next snapshot (``wants_snapshot``). The sides are
arrays changed by compiled kernels (``inband_arrays``): a delta is one call.
"""

from __future__ import annotations

import numpy as np

from hftshm.feed.scratch import MdScratch
from hftshm.layouts import md

from . import inband_arrays as A
from .binance_spot.counters import COUNTER_NAMES, FeedCounters
from .binance_spot.normalize import ZeroValue

# Counters these venues keep beyond Binance's set (not in the shared control block, which is
# full: they show in ``normalizer.counters.as_dict()``; the events they count also bump a shared
# one: venue_resets -> book_resets, checksum_errors -> depth_gaps, refused_subscriptions ->
# venue_errors).
EXTRA_NAMES = (
    "venue_resets",  # Bybit u = 1 / OKX seqId < prevSeqId: the venue restarted its sequence
    "resends",  # a snapshot re-sent unchanged (Bybit depth 1 every 3 s); nothing published
    "idle_books",  # OKX: an empty update with seqId == prevSeqId (the book did not change)
    "checksum_errors",  # OKX: the book's CRC32 differs from the venue's; reset, resync
    "refused_subscriptions",  # the venue refused a subscription (also in venue_errors)
    "pongs",  # replies to our application ping
)


class InbandCounters(FeedCounters):
    __slots__ = EXTRA_NAMES

    def __init__(self):
        super().__init__()
        for name in EXTRA_NAMES:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in (*COUNTER_NAMES, *EXTRA_NAMES)}


class _Side:
    """A reader's view of one side of an ``InbandBook`` (tests, re-sent snapshot checks, the
    depth-1 diff): not on the hot path."""

    __slots__ = ("_book", "_s")

    def __init__(self, book: InbandBook, s: int):
        self._book, self._s = book, s

    def __len__(self) -> int:
        return int(self._book.sides[A.STATE, self._s])

    def best(self) -> tuple[int, int]:
        """(price_e8, qty_e8) of the best level, (0, 0) when the side is empty."""
        sides, s = self._book.sides, self._s
        n = int(sides[A.STATE, s])
        if not n:
            return 0, 0
        k = int(sides[s, n - 1])
        return (k if s == 0 else -k), int(sides[2 + s, n - 1])

    @property
    def qty(self) -> dict[int, int]:
        sides, s = self._book.sides, self._s
        n = int(sides[A.STATE, s])
        keys = sides[s, :n].tolist()
        return dict(zip(keys if s == 0 else [-k for k in keys], sides[2 + s, :n].tolist()))

    def as_dict(self) -> dict[int, int]:
        return self.qty


_NO_TEXT = np.zeros(0, np.int64)
_NEED_QUOTE = A.NEED_QUOTE


def _rows(bids, asks) -> np.ndarray:
    """Parsed levels as the kernels take them: flat int64 (price_e8, qty_e8), bids then asks."""
    return np.array([v for level in bids for v in level] + [v for level in asks for v in level], np.int64)


class LevelText(ValueError):
    """A level's text is longer than the book keeps (``inband_arrays.TEXT_WIDTH``)."""


class InbandBook:
    """One symbol's book. ``live``: the sides are the venue's as of ``last_id``. The sides are
    arrays changed by compiled kernels (``inband_arrays``); ``bids``/``asks`` are views of them.
    ``text``: keep each level's text as sent (OKX's checksum)."""

    def __init__(self, symbol: str, symbol_id: int, counters: InbandCounters, text: bool = False,
                 capacity: int = 64):
        self.symbol = symbol
        self.symbol_id = symbol_id
        self.sides = np.zeros((5, max(capacity, 8)), np.int64)
        self.sides[A.STATE, A.SYMBOL] = symbol_id
        self.texts = np.zeros((2, self.sides.shape[1], A.TEXT_WIDTH if text else 0), np.uint8)
        self._text = text
        self.bids = _Side(self, 0)
        self.asks = _Side(self, 1)
        self.live = False
        self.wants_snapshot = False
        self.last_id = 0
        self._c = counters
        self._published = False
        self._array = self._words = None  # the output records, and the same memory as int64 words
        self._diff = np.zeros(0, np.int64)  # a continuing snapshot's differences

    def _grow(self) -> None:
        cap = 2 * self.sides.shape[1]
        sides = np.zeros((5, cap), np.int64)
        sides[:, : self.sides.shape[1]] = self.sides
        texts = np.zeros((2, cap, self.texts.shape[2]), np.uint8)
        texts[:, : self.texts.shape[1]] = self.texts
        self.sides, self.texts = sides, texts

    def _top(self) -> tuple:
        return tuple(self.sides[A.STATE, 2:6].tolist())

    def is_crossed(self) -> bool:
        return bool(self.bids) and bool(self.asks) and self.bids.best()[0] >= self.asks.best()[0]

    def same_as(self, bids, asks, rows=None) -> bool:
        """The book holds exactly these levels (a re-sent snapshot); ``rows``: the same levels
        as flat int64 pairs, if the caller has them."""
        return bool(A.same_levels_at(self.sides, _rows(bids, asks) if rows is None else rows, len(bids)))

    def load(self, bids, asks, update_id: int, id2: int, exch_ns: int, recv_ns: int, out: MdScratch,
             reset: bool, rows=None, src: bytes = b"", toff=_NO_TEXT) -> None:
        """The book becomes exactly ``bids``/``asks`` (a snapshot). ``rows``: the same levels as
        flat int64 pairs; ``src``/``toff``: each level's (price, size) text offsets in ``src``
        (a text book). LevelText (a ValueError) before any change for a text too long."""
        sid = self.symbol_id
        if reset or not self.live:
            if rows is None:
                rows = _rows(bids, asks)
            while True:
                why = A.load_levels_at(self.sides, self.texts, rows, len(bids), src, toff)
                if why != A.NEED_ROOM:
                    break
                self._grow()
            if why == A.LONG_TEXT:
                raise LevelText("level text")
            if why == A.CROSSED:
                self._crossed(out, exch_ns, recv_ns)
                return
            out.put(md.BOOK_RESET, 0, 0, sid, exch_ns, 0, recv_ns, 0, 0, 0, 0)
            self._c.book_resets += 1
            snap, last = md.F_SNAPSHOT, md.F_SNAPSHOT | md.F_LAST_IN_EVENT
            out.put_levels(md.BID, snap, snap if asks else last, sid, exch_ns, recv_ns, update_id, id2, bids)
            out.put_levels(md.ASK, snap, last, sid, exch_ns, recv_ns, update_id, id2, asks)
            self._c.snapshots_applied += 1
            self.sides[A.STATE, 2:6] = 0
            self._publish_top(out, exch_ns, recv_ns, update_id)
        else:  # a snapshot that continues the book (Bybit depth 1): its differences, as a delta
            if self._text:
                raise NotImplementedError("a text book takes whole snapshots only")
            if rows is None:
                rows = _rows(bids, asks)
            need = 2 * (2 * self.sides.shape[1] + len(rows) // 2)
            if len(self._diff) < need:
                self._diff = np.zeros(need, np.int64)
            count, n_bids = A.diff_levels_at(self.sides, rows, len(bids), self._diff)
            self.apply_at(self._diff, 0, count, n_bids, update_id, id2, exch_ns, recv_ns, out)
            if not self.live:  # it crossed: reset
                return  # (apply_at wrote the QUOTE if the top changed)
        self.live = True
        self.wants_snapshot = False
        self.last_id = update_id
        self._published = True

    def apply(self, bids, asks, update_id: int, id2: int, exch_ns: int, recv_ns: int, out: MdScratch,
              rows=None, src: bytes = b"", toff=_NO_TEXT) -> None:
        """A delta that continues the live book (``apply_at`` of its levels; ``rows``: the
        same levels as flat int64 pairs, if the caller has them)."""
        if rows is None:
            rows = _rows(bids, asks)
        self.apply_at(rows, 0, len(bids) + len(asks), len(bids), update_id, id2, exch_ns, recv_ns, out, src, toff)

    def apply_at(self, rows, r0: int, count: int, n_bids: int, update_id: int, id2: int, exch_ns: int, recv_ns: int,
                 out: MdScratch, src: bytes = b"", toff=_NO_TEXT) -> None:
        """A delta that continues the live book, ``count`` levels from row ``r0`` of ``rows``
        (flat int64 (price_e8, qty_e8) pairs, ``n_bids`` bids then asks; ``src``/``toff``: their
        texts, a text book): one compiled call applies it, writes its LEVELs (F_LAST_IN_EVENT on
        the last) and the QUOTE when the top changed. A crossed result resets the book
        (BOOK_RESET if published) and asks for a snapshot. LevelText (a ValueError) before any
        change for a text too long."""
        n = out.n
        array = out.array
        if len(array) - n <= count:
            out.reserve(count + 1)
            array = out.array
        if array is not self._array:
            self._array, self._words = array, array.view(np.int64)
        if self._text:
            w = A.apply_text_at(self.sides, self.texts, rows, r0, count, n_bids, src, toff, self._words, n, exch_ns,
                                recv_ns, update_id, id2)
        else:
            w = A.apply_plain_at(self.sides, rows, r0, count, n_bids, self._words, n, exch_ns, recv_ns, update_id, id2)
        if w >= 0:
            self.last_id = update_id
            if w < _NEED_QUOTE:
                out.n = n + w
                return
            out.n = n + w - _NEED_QUOTE
            self._put_top(out, exch_ns, recv_ns, update_id)
            return
        if w == A.CROSSED:
            self._crossed(out, exch_ns, recv_ns)
            return
        if w == A.LONG_TEXT:
            raise LevelText("level text")
        if w == A.NEED_ROOM:
            self._grow()
            self.apply_at(rows, r0, count, n_bids, update_id, id2, exch_ns, recv_ns, out, src, toff)
            return
        # BIG_VALUE, nothing changed: a value past 2**53, its floats from Python, as put_levels
        flat = rows[2 * r0: 2 * (r0 + count)].tolist()
        nb = 2 * n_bids
        bids, asks = list(zip(flat[0:nb:2], flat[1:nb:2])), list(zip(flat[nb::2], flat[nb + 1::2]))
        if self._change(rows, r0, count, n_bids, src, toff) == A.CROSSED:
            self._crossed(out, exch_ns, recv_ns)
            return
        sid, last = self.symbol_id, md.F_LAST_IN_EVENT
        if bids:
            out.put_levels(md.BID, 0, 0 if asks else last, sid, exch_ns, recv_ns, update_id, id2, bids)
        if asks:
            out.put_levels(md.ASK, 0, last, sid, exch_ns, recv_ns, update_id, id2, asks)
        self.last_id = update_id
        self._publish_top(out, exch_ns, recv_ns, update_id)

    def reset(self, out: MdScratch, exch_ns: int, recv_ns: int) -> None:
        """Discard the book (a gap): BOOK_RESET if consumers hold it; wait for a snapshot."""
        self.sides[A.STATE, 0:6] = 0
        self.live = False
        self.wants_snapshot = True
        if self._published:
            self._published = False
            self._c.book_resets += 1
            out.put(md.BOOK_RESET, 0, 0, self.symbol_id, exch_ns, 0, recv_ns, 0, 0, 0, 0)

    def drop_published(self, out: MdScratch, recv_ns: int) -> None:
        """A predecessor published this book (an ingest restart): tell consumers to drop it."""
        self._published = True
        self.reset(out, 0, recv_ns)

    def join_top(self, depth: int, buf: np.ndarray) -> int:
        """OKX's checksum text of the best ``depth`` levels a side into ``buf``: its length."""
        return A.join_top_at(self.sides, self.texts, depth, buf)

    # -- internals ---------------------------------------------------------------------------

    def _change(self, rows, r0, count, n_bids, src: bytes = b"", toff=_NO_TEXT) -> int:
        """Levels into the sides, no records, the published top left alone: 0 or CROSSED."""
        while True:
            w = A.change_at(self.sides, self.texts, rows, r0, count, n_bids, src, toff)
            if w != A.NEED_ROOM:
                break
            self._grow()
        if w == A.LONG_TEXT:
            raise LevelText("level text")
        return w

    def _crossed(self, out, exch_ns, recv_ns) -> None:
        self._c.crossed_books += 1
        self.reset(out, exch_ns, recv_ns)

    def _put_top(self, out: MdScratch, exch_ns: int, recv_ns: int, update_id: int) -> None:
        bp, bq, ap, aq = self._top()
        out.put(md.QUOTE, 0, md.F_FROM_BOOK, self.symbol_id, exch_ns, 0, recv_ns, update_id, 0, bp, bq, ap, aq)

    def _publish_top(self, out: MdScratch, exch_ns: int, recv_ns: int, update_id: int) -> None:
        top = self.bids.best() + self.asks.best()
        if top != self._top():
            self.sides[A.STATE, 2:6] = top
            self._put_top(out, exch_ns, recv_ns, update_id)


class InbandNormalizer:
    """What Bybit's and OKX's normalizers share: counters, scratch, e8 memo, books, level
    parsing, and the normalizer interface ingest uses (``resume``, ``snapshot_requests``...).
    Subclasses write ``normalize``. Returned views are valid until the next call."""

    TEXT_BOOKS = False  # books keep each level's text as sent (OKX's checksum)

    def __init__(self, symbols, *, memo_limit: int = 4096, **_ignored):
        from hftshm.feed.e8 import E8Memo

        from .binance_spot.symbols import check_symbols

        self._ids = check_symbols(symbols)
        self.counters = InbandCounters()
        self._out = MdScratch()
        self._memo = E8Memo(memo_limit)
        self._e8 = self._memo.get
        self._e8_parse = self._memo.parse
        self._books = {name: InbandBook(name, sid, self.counters, self.TEXT_BOOKS) for name, sid in self._ids.items()}
        self._wanted: set[str] = set()

    def snapshot_requests(self) -> list[str]:
        """Symbols whose book waits for a snapshot: the session resubscribes their book topic
        (``Connection.resync_messages``); the venue answers with a snapshot in band."""
        return sorted(self._wanted)

    def wants_snapshot(self) -> bool:
        return bool(self._wanted)

    def apply_snapshot(self, symbol, snapshot, recv_ns):
        raise NotImplementedError("this venue's snapshots come in band, on the stream; there is no snapshot API")

    def book(self, symbol: str) -> InbandBook:
        return self._books[symbol]

    def resume(self, last_trade=(), last_agg=(), books=(), recv_ns: int = 0):
        """After an ingest restart: books the predecessor published get a BOOK_RESET (returned,
        to publish) and wait for the snapshot the new subscription brings. Trade ids are not
        continued: these venues' trade ids are not contiguous (no gap is counted on them)."""
        known = set(self._ids.values())
        unknown = set(books) - known
        if unknown:
            raise KeyError(f"resume: symbol ids {sorted(unknown)} are not in the symbol table")
        out = self._out
        out.clear()
        for book in self._books.values():
            if book.symbol_id in set(books):
                book.drop_published(out, recv_ns)
                self._wanted.discard(book.symbol)  # the subscription brings a snapshot anyway
                book.wants_snapshot = False
        return out.view()

    def _e8_of(self, text) -> int:
        value = self._e8(text)
        return self._e8_parse(text) if value is None else value

    def _levels(self, raw, width: int = 2) -> list[tuple[int, int]]:
        """``[["price","qty"], ..]`` (OKX: 4 items a level, the first two used) -> e8 pairs; a
        zero price is refused (ZeroValue), a zero quantity deletes the level."""
        if type(raw) is not list:
            raise TypeError("levels")
        get, parse = self._e8, self._e8_parse
        parsed = []
        for level in raw:
            if type(level) is not list or len(level) < width:
                raise ValueError("level")
            price, qty = level[0], level[1]
            p = get(price)
            if p is None:
                p = parse(price)
            if not p:
                raise ZeroValue("level price")
            q = get(qty)
            if q is None:
                q = parse(qty)
            parsed.append((p, q))
        return parsed

    def _track(self, book: InbandBook) -> None:
        if book.wants_snapshot:
            self._wanted.add(book.symbol)
        else:
            self._wanted.discard(book.symbol)
