"""Local order book for one Binance Spot symbol: snapshot + diff-depth sync, as a state machine.

Follows "How to manage a local order book correctly" (binance-spot-api-docs,
web-socket-streams.md); the rule numbers below are that list's:

1-2. diff events are buffered until a snapshot is applied. The first buffered event raises
     ``wants_snapshot``; the I/O layer fetches ``GET /api/v3/depth`` (step 3) and hands the reply
     to ``apply_snapshot``. Requesting only after an event is buffered means the snapshot is
     newer than the stream's start, so rule 5 usually holds at the first try.
4.   buffered events with ``u <= lastUpdateId`` are dropped.
5.   the first applied event must straddle: ``U <= lastUpdateId + 1 <= u``. If the oldest
     remaining buffered event starts after that, the snapshot is too old: it is discarded and the
     request stays up (the buffer is kept for the next one).
6.   afterwards each event needs ``U == previous u + 1``; anything else is a gap: the book is
     discarded (BOOK_RESET), the offending event becomes the new buffer, and a snapshot is
     requested again.
7-9. quantities are absolute, 0 removes the level, removing an absent level is normal.

Beyond the documented procedure: a book whose best bid >= best ask is never published. Checked
after a snapshot is loaded (a crossed snapshot is dropped, counted, and still requested) and after
each whole event (levels inside one event may cross for a moment): that event's records are
rolled back, a BOOK_RESET goes out, and the book resyncs from a fresh snapshot with an empty
buffer (the crossing event is not trusted).

Buffering is bounded by ``max_buffered`` events (default 1000: 100 s of ``@depth@100ms``). One
more clears the buffer, counts ``buffer_overflows`` and starts over from the newest event, with
the snapshot request still up: a snapshot that far behind could not be bridged anyway.

Records written (into an ``MdScratch``; ``exch_ns`` is the event's ``E``, 0 for a snapshot):

- snapshot applied: BOOK_RESET, then one LEVEL per snapshot level (F_SNAPSHOT, venue_id =
  lastUpdateId; the last one also F_LAST_IN_EVENT), stamped with the snapshot's ``recv_ns``;
  then any buffered events, each with its own ``recv_ns``.
- diff applied: one LEVEL per level in the event, bids then asks, venue_id = u, venue_id2 = U,
  F_LAST_IN_EVENT on the last.
- after either, if (best bid, bid qty, best ask, ask qty) changed: one QUOTE with F_FROM_BOOK
  (bid in price/qty, ask in price2/qty2, zeros for an empty side, venue_id = u).
- a reset of a book that consumers hold: BOOK_RESET.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hftshm.layouts import md

from hftshm.feed.scratch import MdScratch
from .counters import FeedCounters
from .levels import BookLevels

DEFAULT_MAX_BUFFERED = 1000
_NO_TOP = (0, 0, 0, 0)


class DepthEvent(NamedTuple):
    """One ``depthUpdate``, validated and parsed to e8 integers."""

    first_id: int  # U
    final_id: int  # u
    exch_ns: int  # E * 1e6
    recv_ns: int
    bids: list[tuple[int, int]] | None  # (price_e8, qty_e8); None when ``rows`` holds them
    asks: list[tuple[int, int]] | None
    prev_id: int = -1  # pu: the previous event's u (futures only; Spot sends none)
    # the levels as flat int64 (price_e8, qty_e8) pairs, bids then asks, the first ``n_bids``
    # pairs bids, when the normalizer has them so (its fast path: no Python list per level)
    rows: np.ndarray | None = None
    n_bids: int = -1  # with ``rows``: how many of its pairs are bids (-1: len(bids))


class LocalBook:
    """State: ``live`` (the sides are the venue's book as of ``last_update_id``) or buffering.

    ``last_update_id`` is the snapshot's ``lastUpdateId``, then the ``u`` of each applied event.
    """

    def __init__(self, symbol: str, symbol_id: int, counters: FeedCounters,
                 max_buffered: int = DEFAULT_MAX_BUFFERED):
        if max_buffered < 1:
            raise ValueError(f"max_buffered must be >= 1, got {max_buffered}")
        self.symbol = symbol
        self.symbol_id = symbol_id
        self._levels = BookLevels()
        self.bids = self._levels.bids  # read-only views of the sides
        self.asks = self._levels.asks
        self.max_buffered = max_buffered
        self.live = False
        self.wants_snapshot = False
        self.last_update_id = 0
        self._counters = counters
        self._buffer: list[DepthEvent] = []
        self._bridged = False  # an event has been applied since the snapshot: rule 6, not rule 5
        self._published = False  # consumers hold a book that a reset must tell them to drop
        self._top = _NO_TOP

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def is_crossed(self) -> bool:
        bid, _ = self.bids.best()
        ask, _ = self.asks.best()
        return bool(self.bids) and bool(self.asks) and bid >= ask

    # -- input -------------------------------------------------------------------------------

    def on_diff(self, ev: DepthEvent, out: MdScratch) -> None:
        if not self.live:
            self._buffer_event(ev)
            return
        c = self._counters
        if self._bridged:
            if not self._follows(ev):  # rule 6
                c.depth_gaps += 1
                self._resync(ev, out)
                return
        else:
            if self._stale(ev, self.last_update_id):  # rule 4
                c.stale_depth_events += 1
                return
            if self._misses(ev, self.last_update_id):  # rule 5 (the other half holds: not stale)
                c.straddle_misses += 1
                self._resync(ev, out)
                return
        start = out.n
        if self._apply(ev, out):  # crossed
            out.truncate(start)
            c.crossed_books += 1
            self._reset(out, ev.exch_ns, ev.recv_ns)
            self.wants_snapshot = True
            return
        self.last_update_id = ev.final_id
        self._bridged = True
        self._publish_top(out, ev.exch_ns, ev.recv_ns, ev.final_id)

    def apply_snapshot(self, last_update_id: int, bids: list[tuple[int, int]],
                       asks: list[tuple[int, int]], recv_ns: int, out: MdScratch) -> None:
        c = self._counters
        if not self.wants_snapshot:
            c.unwanted_snapshots += 1
            return
        stale = self._stale
        pending = [ev for ev in self._buffer if not stale(ev, last_update_id)]  # rule 4
        c.stale_depth_events += len(self._buffer) - len(pending)
        self._buffer = pending
        if pending and self._misses(pending[0], last_update_id):  # rule 5: snapshot too old
            c.straddle_misses += 1
            return
        if self._levels.apply(_rows(bids, asks), len(bids)):
            c.crossed_books += 1
            self._levels.clear()
            return

        sid = self.symbol_id
        out.put(md.BOOK_RESET, 0, 0, sid, 0, 0, recv_ns, 0, 0, 0, 0)
        c.book_resets += 1
        snap, last = md.F_SNAPSHOT, md.F_SNAPSHOT | md.F_LAST_IN_EVENT
        out.put_levels(md.BID, snap, snap if asks else last, sid, 0, recv_ns, last_update_id, 0, bids)
        out.put_levels(md.ASK, snap, last, sid, 0, recv_ns, last_update_id, 0, asks)
        c.snapshots_applied += 1
        self.live = True
        self.wants_snapshot = False
        self.last_update_id = last_update_id
        self._bridged = False
        self._published = True
        self._top = _NO_TOP
        self._buffer = []
        self._publish_top(out, 0, recv_ns, last_update_id)
        for ev in pending:  # after a gap or cross mid-way, on_diff buffers the rest again
            self.on_diff(ev, out)

    # -- the venue's sync rules (Spot's here; a futures book overrides them) -----------------

    def _follows(self, ev: DepthEvent) -> bool:
        """Rule 6: the event continues the applied ones (``U == previous u + 1``)."""
        return ev.first_id == self.last_update_id + 1

    @staticmethod
    def _stale(ev: DepthEvent, last_id: int) -> bool:
        """Rule 4: the event is older than the snapshot (``u <= lastUpdateId``)."""
        return ev.final_id <= last_id

    @staticmethod
    def _misses(ev: DepthEvent, last_id: int) -> bool:
        """Rule 5, for an event that is not stale: it starts after the snapshot's next update
        (``U > lastUpdateId + 1``), so updates in between were never seen."""
        return ev.first_id > last_id + 1

    # -- internals ---------------------------------------------------------------------------

    def _buffer_event(self, ev: DepthEvent) -> None:
        if len(self._buffer) >= self.max_buffered:
            self._counters.buffer_overflows += 1
            self._buffer.clear()
        self._buffer.append(ev)
        self.wants_snapshot = True

    def _apply(self, ev: DepthEvent, out: MdScratch) -> bool:
        """The event's levels into the book (one compiled pass) and its LEVELs into ``out``;
        True if the book is now crossed (the caller rolls back and resyncs)."""
        rows, n_bids = ev.rows, ev.n_bids
        if rows is None:
            rows, n_bids = _rows(ev.bids, ev.asks), len(ev.bids)
        elif n_bids < 0:
            n_bids = len(ev.bids)
        if self._levels.apply(rows, n_bids):
            return True
        sid, u, first, e_ns, r_ns = self.symbol_id, ev.final_id, ev.first_id, ev.exch_ns, ev.recv_ns
        if out.put_diff_rows(rows, n_bids, sid, e_ns, r_ns, u, first):
            return False
        # a value of 2**53 or more: the LEVELs one by one (their floats as Python's int / int)
        flat = rows.tolist()
        nb = 2 * n_bids
        bids, asks = list(zip(flat[0:nb:2], flat[1:nb:2])), list(zip(flat[nb::2], flat[nb + 1::2]))
        last = md.F_LAST_IN_EVENT
        out.put_levels(md.BID, 0, 0 if asks else last, sid, e_ns, r_ns, u, first, bids)
        out.put_levels(md.ASK, 0, last, sid, e_ns, r_ns, u, first, asks)
        return False

    def _publish_top(self, out: MdScratch, exch_ns: int, recv_ns: int, update_id: int) -> None:
        top = tuple(self._levels.top.tolist())  # the best levels as of the last apply
        if top != self._top:
            self._top = top
            out.put(md.QUOTE, 0, md.F_FROM_BOOK, self.symbol_id, exch_ns, 0, recv_ns,
                    update_id, 0, *top)

    def _reset(self, out: MdScratch, exch_ns: int, recv_ns: int) -> None:
        self._levels.clear()
        self.live = False
        self._bridged = False
        self._top = _NO_TOP
        self._buffer = []
        if self._published:
            self._published = False
            self._counters.book_resets += 1
            out.put(md.BOOK_RESET, 0, 0, self.symbol_id, exch_ns, 0, recv_ns, 0, 0, 0, 0)

    def drop_published(self, out: MdScratch, recv_ns: int) -> None:
        """Consumers hold a book of this symbol that this process never had (a restart): tell
        them to drop it (BOOK_RESET, counted) and resync from a fresh snapshot."""
        self._published = True
        self._reset(out, 0, recv_ns)

    def _resync(self, ev: DepthEvent, out: MdScratch) -> None:
        """Discard the book; ``ev`` is newer than it and starts the next buffer."""
        self._reset(out, ev.exch_ns, ev.recv_ns)
        self._buffer_event(ev)


def _rows(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> np.ndarray:
    """Levels as flat int64 (price_e8, qty_e8) pairs, bids then asks (parsed e8 values: int64)."""
    rows = np.array(bids + asks, np.int64)
    return rows.reshape(-1) if len(rows) else np.zeros(0, np.int64)
