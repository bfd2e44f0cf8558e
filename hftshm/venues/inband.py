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
A crossed result is rolled back: BOOK_RESET (if consumers held the book), counted in
crossed_books, and the book waits for the next snapshot (``wants_snapshot``).
"""

from __future__ import annotations

from bisect import bisect_left

from hftshm.feed.scratch import MdScratch
from hftshm.layouts import md

from .binance_spot.counters import COUNTER_NAMES, FeedCounters
from .binance_spot.normalize import ZeroValue
from .binance_spot.levels import BookSide

_NO_TOP = (0, 0, 0, 0)

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


class InbandBook:
    """One symbol's book. ``live``: the sides are the venue's as of ``last_id``."""

    def __init__(self, symbol: str, symbol_id: int, counters: InbandCounters):
        self.symbol = symbol
        self.symbol_id = symbol_id
        self.bids = BookSide(bid=True)
        self.asks = BookSide(bid=False)
        self.live = False
        self.wants_snapshot = False
        self.last_id = 0
        self._c = counters
        self._published = False
        self._top = _NO_TOP

    def is_crossed(self) -> bool:
        return bool(self.bids) and bool(self.asks) and self.bids.best()[0] >= self.asks.best()[0]

    def same_as(self, bids, asks) -> bool:
        """The book holds exactly these levels (a re-sent snapshot)."""
        return (len(bids) == len(self.bids) and len(asks) == len(self.asks)
                and dict(bids) == self.bids.qty and dict(asks) == self.asks.qty)

    def load(self, bids, asks, update_id: int, id2: int, exch_ns: int, recv_ns: int, out: MdScratch,
             reset: bool) -> None:
        """The book becomes exactly ``bids``/``asks`` (a snapshot)."""
        sid = self.symbol_id
        if reset or not self.live:
            self.bids.clear()
            self.asks.clear()
            for p, q in bids:
                if q:
                    self.bids.set(p, q)
            for p, q in asks:
                if q:
                    self.asks.set(p, q)
            if self.is_crossed():
                self._crossed(out, exch_ns, recv_ns)
                return
            out.put(md.BOOK_RESET, 0, 0, sid, exch_ns, 0, recv_ns, 0, 0, 0, 0)
            self._c.book_resets += 1
            snap, last = md.F_SNAPSHOT, md.F_SNAPSHOT | md.F_LAST_IN_EVENT
            out.put_levels(md.BID, snap, snap if asks else last, sid, exch_ns, recv_ns, update_id, id2, bids)
            out.put_levels(md.ASK, snap, last, sid, exch_ns, recv_ns, update_id, id2, asks)
            self._c.snapshots_applied += 1
            self._top = _NO_TOP
        else:
            start = out.n
            new_b, new_a = dict(bids), dict(asks)
            db = [(p, 0) for p in self.bids.qty if p not in new_b]
            db += [(p, q) for p, q in new_b.items() if self.bids.qty.get(p) != q]
            da = [(p, 0) for p in self.asks.qty if p not in new_a]
            da += [(p, q) for p, q in new_a.items() if self.asks.qty.get(p) != q]
            if not self._set(db, da, update_id, id2, exch_ns, recv_ns, out, start):
                return
        self.live = True
        self.wants_snapshot = False
        self.last_id = update_id
        self._published = True
        self._publish_top(out, exch_ns, recv_ns, update_id)

    def apply(self, bids, asks, update_id: int, id2: int, exch_ns: int, recv_ns: int, out: MdScratch,
              rows=None) -> None:
        """A delta that continues the live book. The hot path: ``_set``, ``BookSide.set`` and
        ``_publish_top`` inlined (a Python call is a tenth of a delta's time). ``rows``: the same
        levels as flat int64 pairs, bids then asks (the normalizer's fast path), to write the
        LEVELs in one compiled pass."""
        bq, aq = self.bids.qty, self.asks.qty
        old_b = [(p, bq.get(p, 0)) for p, _ in bids]
        old_a = [(p, aq.get(p, 0)) for p, _ in asks]
        bp, ap = self.bids._prices, self.asks._prices
        for book, prices, levels in ((bq, bp, bids), (aq, ap, asks)):
            for p, q in levels:
                if q:
                    if p not in book:
                        prices.insert(bisect_left(prices, p), p)
                    book[p] = q
                elif p in book:
                    del book[p]
                    del prices[bisect_left(prices, p)]
        if bp and ap and bp[-1] >= ap[0]:  # crossed: roll back, reset, resync
            set_b, set_a = self.bids.set, self.asks.set
            for p, q in reversed(old_b):
                set_b(p, q)
            for p, q in reversed(old_a):
                set_a(p, q)
            self._crossed(out, exch_ns, recv_ns)
            return
        sid, last = self.symbol_id, md.F_LAST_IN_EVENT
        if rows is None or not out.put_diff_rows(rows, len(bids), sid, exch_ns, recv_ns, update_id, id2):
            if bids:
                out.put_levels(md.BID, 0, 0 if asks else last, sid, exch_ns, recv_ns, update_id, id2, bids)
            if asks:
                out.put_levels(md.ASK, 0, last, sid, exch_ns, recv_ns, update_id, id2, asks)
        self.last_id = update_id
        top = (bp[-1], bq[bp[-1]]) if bp else (0, 0)
        top += (ap[0], aq[ap[0]]) if ap else (0, 0)
        if top != self._top:
            self._top = top
            out.put(md.QUOTE, 0, md.F_FROM_BOOK, sid, exch_ns, 0, recv_ns, update_id, 0, *top)

    def reset(self, out: MdScratch, exch_ns: int, recv_ns: int) -> None:
        """Discard the book (a gap): BOOK_RESET if consumers hold it; wait for a snapshot."""
        self.bids.clear()
        self.asks.clear()
        self.live = False
        self.wants_snapshot = True
        self._top = _NO_TOP
        if self._published:
            self._published = False
            self._c.book_resets += 1
            out.put(md.BOOK_RESET, 0, 0, self.symbol_id, exch_ns, 0, recv_ns, 0, 0, 0, 0)

    def drop_published(self, out: MdScratch, recv_ns: int) -> None:
        """A predecessor published this book (an ingest restart): tell consumers to drop it."""
        self._published = True
        self.reset(out, 0, recv_ns)

    # -- internals ---------------------------------------------------------------------------

    def _set(self, bids, asks, update_id, id2, exch_ns, recv_ns, out, start) -> bool:
        old_b = [(p, self.bids.qty.get(p, 0)) for p, _ in bids]
        old_a = [(p, self.asks.qty.get(p, 0)) for p, _ in asks]
        for p, q in bids:
            self.bids.set(p, q)
        for p, q in asks:
            self.asks.set(p, q)
        if self.is_crossed():
            for p, q in reversed(old_b):
                self.bids.set(p, q)
            for p, q in reversed(old_a):
                self.asks.set(p, q)
            out.truncate(start)
            self._crossed(out, exch_ns, recv_ns)
            return False
        if bids or asks:
            sid, last = self.symbol_id, md.F_LAST_IN_EVENT
            out.put_levels(md.BID, 0, 0 if asks else last, sid, exch_ns, recv_ns, update_id, id2, bids)
            out.put_levels(md.ASK, 0, last, sid, exch_ns, recv_ns, update_id, id2, asks)
        return True

    def _crossed(self, out, exch_ns, recv_ns) -> None:
        self._c.crossed_books += 1
        self.reset(out, exch_ns, recv_ns)

    def _publish_top(self, out: MdScratch, exch_ns: int, recv_ns: int, update_id: int) -> None:
        top = self.bids.best() + self.asks.best()
        if top != self._top:
            self._top = top
            out.put(md.QUOTE, 0, md.F_FROM_BOOK, self.symbol_id, exch_ns, 0, recv_ns, update_id, 0, *top)


class InbandNormalizer:
    """What Bybit's and OKX's normalizers share: counters, scratch, e8 memo, books, level
    parsing, and the normalizer interface ingest uses (``resume``, ``snapshot_requests``...).
    Subclasses write ``normalize``. Returned views are valid until the next call."""

    def __init__(self, symbols, *, memo_limit: int = 4096, **_ignored):
        from hftshm.feed.e8 import E8Memo

        from .binance_spot.symbols import check_symbols

        self._ids = check_symbols(symbols)
        self.counters = InbandCounters()
        self._out = MdScratch()
        self._memo = E8Memo(memo_limit)
        self._e8 = self._memo.get
        self._e8_parse = self._memo.parse
        self._books = {name: InbandBook(name, sid, self.counters) for name, sid in self._ids.items()}
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
