"""Trading on a replayed capture (``--replay FILE --replay-orders``): the recorded book is the
market, and orders match against it.

Without ``--replay-orders`` a replay refuses orders (the book is the recording's). With it:

* **One schedule, one clock.** Frame k of the capture is due at ``D_k``: the replay's start plus
  its recorded offset from the first frame (divided by ``speed``), rounded up to a whole
  millisecond. The venue applies it at the first moment ``A_k >= D_k`` it gets to (its replay pump
  waking, or an order arriving), and that is the frame's venue time: its ``E`` and ``T`` fields say
  ``A_k`` (in ms), and every market connection gets it as soon as it is applied (a connection that
  joins late first gets what it missed). The simulator is the venue, and its events happen when
  it makes them, as a live venue's do: a frame is not stamped with a time the venue had not
  reached yet, nor sent a timer's wake-up later than its stamp (that lag, up to a few ms on a busy
  machine, would read as feed latency the venue never had).
* **The matching model is the backtest's** (``hftshm.matching.venue``, which both use; its defaults: takers at
  the touch capped at the displayed quantity, the conservative queue model for resting orders),
  fed with the capture's records (through the live normalizer) at their ``A_k``. An order is
  matched at its arrival against every frame due by then (it applies them first). Filters, balances, commissions,
  responses and ``executionReport`` events are the simulator's own (``MatchingEngine``).
* **No market impact**: our fills are not printed on the public streams and do not change the
  recorded book, as in the backtest.

This is what ``hftshm bench parity`` trades against: a live run through the whole pipeline, whose
md journal and recorded latency a backtest then replays. Matching both with one model means the
parity measures the clocks, latencies and the pipeline, not two different queue models.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.matching.queue import QueueModel
from hftshm.matching.recorded_venue import Filters
from hftshm.matching.recorded_venue import RecordedVenue

from . import errors
from .config import SymbolSpec
from .filters import check_notional, check_open_orders, check_price, check_qty, notional_e8
from .matching import MatchingEngine, Outcome
from .orders import Order
from .loaded_capture import Capture

_TYPES = {"LIMIT": O.LIMIT, "LIMIT_MAKER": O.LIMIT_MAKER, "MARKET": O.MARKET}
_TIFS = {"GTC": O.GTC, "IOC": O.IOC, "FOK": O.FOK}


def normalized(cap: Capture) -> list[np.ndarray]:
    """Each frame's md records, through the live Binance normalizer; a recorded depth snapshot is
    applied when the normalizer first asks for one (as the live ingest fetches it)."""
    from hftshm.venues.binance_spot import BinanceSpotNormalizer

    upper = [s.upper() for s in cap.symbols]
    norm = BinanceSpotNormalizer({s: i for i, s in enumerate(upper)})
    out = []
    for f in cap.frames:
        recs = norm.normalize(f.combined, f.recv_ns).copy()
        for sym in norm.snapshot_requests():
            snap = cap.snapshots.get(sym.lower())
            if snap is not None:
                more = norm.apply_snapshot(sym, snap, f.recv_ns).copy()
                recs = np.concatenate([recs, more]) if len(recs) else more
        out.append(recs)
    return out


def schedule(cap: Capture, start_ns: int, speed: float) -> list[int]:
    """``D_k`` of every frame (ns, whole milliseconds), from ``start_ns``."""
    if not (speed > 0 and math.isfinite(speed)):
        raise ValueError(f"replay with orders needs a finite speed, got {speed!r}")
    t0 = cap.frames[0].recv_ns
    base_ms = -(-start_ns // 1_000_000)
    return [(base_ms + math.ceil((f.recv_ns - t0) / speed / 1e6)) * 1_000_000 for f in cap.frames]


class ReplayEngine(MatchingEngine):
    """``MatchingEngine`` whose books are a recorded capture's (see the module doc)."""

    def __init__(self, markets, account, maker_fee_e8: int, taker_fee_e8: int, specs: dict[str, SymbolSpec],
                 cap: Capture):
        super().__init__(markets, account, maker_fee_e8, taker_fee_e8, closed=False)
        self.symbols = list(cap.symbols)  # md symbol ids, in the capture's order
        self.specs = specs
        self.model = RecordedVenue([Filters(specs[s].tick_e8, specs[s].step_e8, specs[s].min_notional_e8)
                                 for s in self.symbols], QueueModel("conservative"), "touch", 0.0, 0.0)
        self.records = normalized(cap)
        self.due: list[int] = []  # set by ``start``
        self.next = 0
        self.by_model_id: dict[int, Order] = {}
        self._model_ids = 0
        self.sink = None  # callable(events): maker fills found while catching up
        self.applied_ms: list[int] = []  # A_k (ms) of each frame applied so far
        self.on_applied = None  # callable(): frames were applied (the connections send them)

    def start(self, due: list[int]) -> None:
        self.due = due

    @property
    def done(self) -> bool:
        return bool(self.due) and self.next >= len(self.due)

    def next_due(self) -> int | None:
        return self.due[self.next] if self.due and self.next < len(self.due) else None

    # --- the recorded market -------------------------------------------------------------------
    def advance(self, now_ns: int) -> None:
        """Apply every frame due by ``now_ns``; fills of resting orders go to ``sink``."""
        if not self.due:
            return
        stop = bisect_right(self.due, now_ns, self.next)
        if stop == self.next:
            return
        events: list[dict] = []
        model = self.model
        t = now_ns  # A_k: applied now (its stamp never goes back, should the wall clock step back)
        stamp = max(now_ns // 1_000_000, self.applied_ms[-1] if self.applied_ms else 0)
        first = self.next
        while self.next < stop:
            recs = self.records[self.next]
            self.next += 1
            for r in recs:
                out: list = []
                model.on_md(int(r["kind"]), int(r["symbol_id"]), int(r["side"]), int(r["flags"]), int(r["price_e8"]),
                            int(r["qty_e8"]), int(r["price2_e8"]), int(r["qty2_e8"]), t, out)
                for rep in out:
                    events += self._maker(rep[0], t)
        self.applied_ms.extend([stamp] * (stop - first))
        if events:
            events.append(self._position(now_ns // 1_000_000))
            if self.sink is not None:
                self.sink(events)
        if self.on_applied is not None:
            self.on_applied()

    def _maker(self, rep, t_ns: int) -> list[dict]:
        if int(rep["exec_type"]) != F.EX_TRADE:
            return []
        order = self.by_model_id[int(rep["order_id"])]
        spec = order.spec
        ev = self._fill(order, int(rep["last_px_e8"]) // spec.tick_e8, int(rep["last_qty_e8"]) // spec.step_e8,
                        int(rep["trade_id"]), True, t_ns // 1_000_000)
        if not order.open:
            self.by_model_id.pop(int(rep["order_id"]), None)
            self._finish(order)
        return [ev]

    # --- orders --------------------------------------------------------------------------------
    def place(self, req, now_ns: int) -> Outcome:
        self.advance(now_ns)
        sym = req.symbol
        spec = self.specs[sym]
        idx = self.symbols.index(sym)
        book = self.model.books[idx]
        now_ms = now_ns // 1_000_000
        buy = req.side == "BUY"
        if req.client_id is not None and (sym, req.client_id) in self._open_cid:
            raise errors.rejected(errors.DUPLICATE_ORDER)
        check_open_orders(len(self._resting[sym]))
        k = spec.quote_per_tick_lot
        touch = book.ask if buy else book.bid
        if req.type == "MARKET":
            if req.quote_e8 or not req.qty_e8:
                raise errors.ApiError(-1106, "Parameter 'quoteOrderQty' sent when not required.")  # not modelled
            check_qty(spec, req.qty_e8)
            mid = (book.bid + book.ask) // 2 if book.bid > 0 and book.ask > 0 else 0
            check_notional(spec, notional_e8(mid, req.qty_e8), market=True)
            px = 0
        else:
            check_price(spec, req.price_e8)
            check_qty(spec, req.qty_e8)
            check_notional(spec, notional_e8(req.price_e8, req.qty_e8), market=False)
            px = req.price_e8 // spec.tick_e8
            if req.type == "LIMIT_MAKER" and touch > 0 and (req.price_e8 >= touch if buy else req.price_e8 <= touch):
                raise errors.rejected(errors.WOULD_TAKE)
        lots = req.qty_e8 // spec.step_e8
        if buy:
            asset = spec.quote
            need = (px if req.type != "MARKET" else touch // spec.tick_e8) * lots * k
        else:
            asset, need = spec.base, lots * spec.step_e8
        if not self.account.lock(asset, need):
            raise errors.rejected(errors.INSUFFICIENT_BALANCE)
        oid = self._next_order_id[sym]
        self._next_order_id[sym] = oid + 1
        order = Order(spec=spec, order_id=oid, client_id=req.client_id or self._new_client_id(), side=req.side,
                      type=req.type, tif=req.tif, price_px=px, orig_lots=lots, orig_quote_e8=0, time_ms=now_ms,
                      update_ms=now_ms, working_ms=now_ms, locked_asset=asset, locked_e8=need)
        self._orders[(sym, oid)] = order
        self._open_cid[(sym, order.client_id)] = order
        self._last_cid[(sym, order.client_id)] = order
        out = Outcome(result={})
        out.events.append(self._report(order, "NEW", now_ms))
        self._model_ids += 1
        mid_ = self._model_ids
        rec = np.zeros(1, O.DTYPE)[0]
        rec["order_id"], rec["symbol_id"], rec["side"] = mid_, idx, O.BUY if buy else O.SELL
        rec["type"], rec["tif"], rec["action"] = _TYPES[req.type], _TIFS[req.tif], O.NEW
        rec["price_e8"], rec["qty_e8"] = req.price_e8 if req.type != "MARKET" else 0, req.qty_e8
        for rep in self.model.on_order(rec, now_ns):
            r = rep[0]
            if int(r["exec_type"]) == F.EX_TRADE:
                out.events.append(self._fill(order, int(r["last_px_e8"]) // spec.tick_e8,
                                             int(r["last_qty_e8"]) // spec.step_e8, int(r["trade_id"]), False, now_ms))
        if mid_ in self.model.resting[idx]:
            order.resting = True
            self._resting[sym].append(order)
            self.by_model_id[mid_] = order
        else:
            self._expire_rest(order, now_ms, out)
        return self._placed(order, req, now_ms, out)

    def cancel(self, symbol: str, order_id, client_id, new_client_id, now_ns: int) -> Outcome:
        self.advance(now_ns)
        order = self.find(symbol, order_id, client_id)
        out = super().cancel(symbol, order_id, client_id, new_client_id, now_ns)  # raises if not open
        for mid_, o in list(self.by_model_id.items()):
            if o is order:
                rec = np.zeros(1, O.DTYPE)[0]
                rec["action"], rec["cancel_id"], rec["symbol_id"] = O.CANCEL, mid_, self.symbols.index(symbol)
                self.model.on_order(rec, now_ns)
                del self.by_model_id[mid_]
        return out

