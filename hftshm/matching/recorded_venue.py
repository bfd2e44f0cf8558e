"""The recorded venue (``RecordedVenue``): the recorded book, the strategy's orders, and the execution reports.

What it knows of the market is the recorded md records, applied at their venue time: the top of
book from QUOTE records, the depth from LEVEL records (where the journal has them), the trades.
Our own orders never change that book: no market impact (a fill does not take the displayed
quantity away, a resting order is not seen by others).

New orders, at the time they reach the venue:

* filters, as Binance Spot (filters.md): price a positive multiple of the tick, quantity a
  positive multiple of the step, notional (price, or the mid for MARKET, x qty) at least the
  minimum: else REJECTED with VENUE_FILTER and venue code -1013;
* LIMIT_MAKER (post-only) that would cross the opposite touch: REJECTED, VENUE_WOULD_TAKE, -2010;
* marketable (MARKET, or a LIMIT at or through the opposite touch): one taker fill at the touch
  price, of at most the displayed quantity there (``taker = "touch"``) or of all of it
  (``"unlimited"``), or, with ``taker = "depth"``, one fill a level from the touch outwards
  through the recorded depth up to the limit price (see ``_levels``); the rest expires (a crossing GTC limit's rest too: it is not left resting
  through the touch). FOK that cannot fill whole expires unfilled. IOC that does not cross
  expires unfilled;
* otherwise (GTC LIMIT, LIMIT_MAKER) it rests at its price, behind the quantity displayed there
  (see ``queue``); it fills as maker, at its own price, when a trade at its price reaches it in
  the queue, when a trade goes through its price, or when the opposite touch reaches its price.

Cancels end a resting order (CANCELED), or get CANCEL_REJECTED with CANCEL_UNKNOWN (-2011).
Fees: ``maker_fee_bps`` / ``taker_fee_bps`` of the fill's notional, in the quote currency.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layouts import exec_report as F
from ..layouts import md as M
from ..layouts import order as O
from ..risk import reasons as R
from .queue import QueueModel, on_trade


@dataclass(frozen=True)
class Filters:
    """A symbol's venue filters, 1e-8 units."""

    tick_e8: int
    step_e8: int
    min_notional_e8: int


E8 = M.E8


class Resting:
    """A live order at the venue."""

    __slots__ = ("order_id", "strategy_id", "symbol_id", "side", "price", "qty", "filled", "ahead", "level",
                 "traded", "venue_order_id", "sent_ns", "trigger_recv_ns", "state")

    def __init__(self, o, venue_order_id: int):
        self.order_id = int(o["order_id"])
        self.strategy_id = int(o["strategy_id"])
        self.symbol_id = int(o["symbol_id"])
        self.side = int(o["side"])
        self.price = int(o["price_e8"])
        self.qty = int(o["qty_e8"])
        self.filled = 0
        self.ahead = -1  # unknown until the level at its price is seen
        self.level = -1
        self.traded = 0
        self.venue_order_id = venue_order_id
        self.sent_ns = int(o["sent_ns"])
        self.trigger_recv_ns = int(o["trigger_recv_ns"])
        self.state = F.ST_ACKED


class Book:
    """The recorded book of one symbol as the venue sees it."""

    __slots__ = ("bid", "bid_qty", "ask", "ask_qty", "bids", "asks", "has_depth")

    def __init__(self):
        self.bid = self.bid_qty = self.ask = self.ask_qty = 0
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.has_depth = False

    def level_qty(self, side: int, price: int) -> int | None:
        """Displayed quantity at ``price`` on the side of an order of ``side``; None if unknown."""
        if side == O.BUY:
            if self.bid > 0 and price == self.bid:
                return self.bid_qty
            if self.bid > 0 and price > self.bid:
                return 0
            return self.bids.get(price, 0) if self.has_depth else None
        if self.ask > 0 and price == self.ask:
            return self.ask_qty
        if self.ask > 0 and price < self.ask:
            return 0
        return self.asks.get(price, 0) if self.has_depth else None


class RecordedVenue:
    def __init__(self, filters: list[Filters], queue: QueueModel, taker: str, maker_fee_bps: float,
                 taker_fee_bps: float):
        self.filters = filters
        self.books = [Book() for _ in filters]
        self.queue = queue
        self.unlimited = taker == "unlimited"
        self.walk = taker == "depth"
        self.maker_bps = float(maker_fee_bps)
        self.taker_bps = float(taker_fee_bps)
        self.resting: list[dict[int, Resting]] = [{} for _ in filters]  # per symbol: order_id -> order
        # per symbol and side: price -> its resting orders (a LEVEL record touches only those)
        self.at_price: list[dict[int, dict[int, list]]] = [{O.BUY: {}, O.SELL: {}} for _ in filters]
        self.n_resting = 0
        self.ended: dict[int, int] = {}  # order_id -> final state (for cancel rejects)
        self._venue_ids = 0
        self._trade_ids = 0
        self.maker_trades: set[int] = set()  # trade ids of maker fills

    # --- reports -----------------------------------------------------------------------------
    def _report(self, out: list, o: Resting, exec_type: int, state: int, venue_ns: int, reason: int = 0,
                venue_code: int = 0, px: int = 0, qty: int = 0, fee: int = 0, trade_id: int = 0) -> None:
        out.append(F.record(o.order_id, o.venue_order_id, o.symbol_id, o.strategy_id, o.side, exec_type, state,
                            reason=reason, venue_code=venue_code, last_px_e8=px, last_qty_e8=qty,
                            cum_qty_e8=o.filled, price_e8=o.price, fee_e8=fee, venue_ns=venue_ns,
                            sent_ns=o.sent_ns, trigger_recv_ns=o.trigger_recv_ns, trade_id=trade_id))

    def _fill(self, out: list, o: Resting, px: int, qty: int, maker: bool, venue_ns: int) -> None:
        o.filled += qty
        o.state = F.ST_FILLED if o.filled >= o.qty else F.ST_PARTIAL
        bps = self.maker_bps if maker else self.taker_bps
        fee = int(round(px * qty / E8 * bps / 10_000.0))
        self._trade_ids += 1
        if maker:
            self.maker_trades.add(self._trade_ids)
        self._report(out, o, F.EX_TRADE, o.state, venue_ns, px=px, qty=qty, fee=fee, trade_id=self._trade_ids)

    def _end(self, o: Resting) -> None:
        self.ended[o.order_id] = o.state
        if self.resting[o.symbol_id].pop(o.order_id, None) is not None:
            self.n_resting -= 1
            level = self.at_price[o.symbol_id][o.side]
            same = level[o.price]
            same.remove(o)
            if not same:
                del level[o.price]

    # --- orders --------------------------------------------------------------------------------
    def on_order(self, order, venue_ns: int) -> list:
        """An order record (NEW or CANCEL) reaches the venue at ``venue_ns``: its reports."""
        out: list = []
        if int(order["action"]) == O.CANCEL:
            self._cancel(order, venue_ns, out)
            return out
        self._venue_ids += 1
        o = Resting(order, self._venue_ids)
        s = o.symbol_id
        if s >= len(self.books):
            o.state = F.ST_REJECTED
            self._report(out, o, F.EX_REJECTED, F.ST_REJECTED, venue_ns, R.VENUE_REJECT, -1121)  # invalid symbol
            self.ended[o.order_id] = o.state
            return out
        book, flt = self.books[s], self.filters[s]
        kind, tif = int(order["type"]), int(order["tif"])
        buy = o.side == O.BUY
        touch, touch_qty = (book.ask, book.ask_qty) if buy else (book.bid, book.bid_qty)
        mid = (book.bid + book.ask) // 2 if book.bid > 0 and book.ask > 0 else 0
        ref = mid if kind == O.MARKET else o.price
        if (kind != O.MARKET and (o.price <= 0 or o.price % flt.tick_e8)) or o.qty <= 0 or o.qty % flt.step_e8 \
                or ref * o.qty // E8 < flt.min_notional_e8:
            o.state = F.ST_REJECTED
            self._report(out, o, F.EX_REJECTED, F.ST_REJECTED, venue_ns, R.VENUE_FILTER, -1013)
            self.ended[o.order_id] = o.state
            return out
        crosses = touch > 0 and (kind == O.MARKET or (o.price >= touch if buy else o.price <= touch))
        if kind == O.LIMIT_MAKER and crosses:
            o.state = F.ST_REJECTED
            self._report(out, o, F.EX_REJECTED, F.ST_REJECTED, venue_ns, R.VENUE_WOULD_TAKE, -2010)
            self.ended[o.order_id] = o.state
            return out
        self._report(out, o, F.EX_NEW, F.ST_ACKED, venue_ns)
        if crosses:
            if self.walk:
                levels = self._levels(book, buy, touch, touch_qty, 0 if kind == O.MARKET else o.price)
            else:
                levels = [(touch, o.qty if self.unlimited else touch_qty)]
            if tif == O.FOK and sum(q for _, q in levels) < o.qty:
                levels = []
            for px, q in levels:
                take = min(q, o.qty - o.filled)
                if take > 0:
                    self._fill(out, o, px, take, False, venue_ns)
            if o.filled < o.qty:
                o.state = F.ST_EXPIRED
                self._report(out, o, F.EX_EXPIRED, F.ST_EXPIRED, venue_ns)
            self.ended[o.order_id] = o.state
            return out
        if kind == O.MARKET or tif != O.GTC:  # nothing to take, and it may not rest
            o.state = F.ST_EXPIRED
            self._report(out, o, F.EX_EXPIRED, F.ST_EXPIRED, venue_ns)
            self.ended[o.order_id] = o.state
            return out
        level = book.level_qty(o.side, o.price)
        if level is not None:
            o.ahead = o.level = level
        self.resting[s][o.order_id] = o
        self.at_price[s][o.side].setdefault(o.price, []).append(o)
        self.n_resting += 1
        return out

    @staticmethod
    def _levels(book: Book, buy: bool, touch: int, touch_qty: int, limit: int) -> list[tuple[int, int]]:
        """``taker = "depth"``: the levels a marketable order takes, best first: the touch (price
        and quantity of the last quote), then the recorded depth beyond it up to ``limit`` (0:
        none, a MARKET order). Depth levels at or inside the touch are stale and skipped; with no
        depth in the journal, only the touch."""
        out = [(touch, touch_qty)]
        if not book.has_depth:
            return out
        if buy:
            deeper = sorted(p for p in book.asks if p > touch and (limit == 0 or p <= limit))
            return out + [(p, book.asks[p]) for p in deeper]
        deeper = sorted((p for p in book.bids if p < touch and (limit == 0 or p >= limit)), reverse=True)
        return out + [(p, book.bids[p]) for p in deeper]

    def _cancel(self, order, venue_ns: int, out: list) -> None:
        target = int(order["cancel_id"])
        s = int(order["symbol_id"])
        o = self.resting[s].get(target) if s < len(self.resting) else None
        if o is None:
            ghost = Resting(order, 0)
            ghost.order_id = target
            ghost.state = self.ended.get(target, 0)
            self._report(out, ghost, F.EX_CANCEL_REJECTED, ghost.state, venue_ns, R.CANCEL_UNKNOWN, -2011)
            return
        o.state = F.ST_CANCELED
        self._end(o)
        self._report(out, o, F.EX_CANCELED, F.ST_CANCELED, venue_ns)

    # --- market data ---------------------------------------------------------------------------
    def on_md(self, kind: int, s: int, side: int, flags: int, px: int, qty: int, px2: int, qty2: int,
              venue_ns: int, out: list) -> None:
        """Apply one md record (its fields as ints) at ``venue_ns``; reports go to ``out``."""
        if s >= len(self.books):
            return
        book = self.books[s]
        if kind == M.LEVEL:
            book.has_depth = True
            levels = book.bids if side == M.BID else book.asks
            if qty > 0:
                levels[px] = qty
            else:
                levels.pop(px, None)
        elif kind == M.BOOK_RESET:
            book.bids.clear()
            book.asks.clear()
        orders = self.resting[s]
        if not orders:
            if kind == M.QUOTE:
                book.bid, book.bid_qty, book.ask, book.ask_qty = px, qty, px2, qty2
            return
        if kind == M.TRADE or kind == M.AGG_TRADE:
            self._on_trade(orders, side, px, qty, venue_ns, out)
        elif kind == M.QUOTE:
            # only orders at or inside the old or the new touch can see a change
            low_bid = min(book.bid, px) if book.bid > 0 else 0
            high_ask = max(book.ask, px2)
            book.bid, book.bid_qty, book.ask, book.ask_qty = px, qty, px2, qty2
            near = [o for o in orders.values() if (o.price >= low_bid if o.side == O.BUY else o.price <= high_ask)]
            if near:
                self._on_book(book, near, kind, side, px, venue_ns, out)
        elif kind == M.LEVEL:
            near = self.at_price[s][O.BUY if side == M.BID else O.SELL].get(px)
            if near:
                self._on_book(book, list(near), kind, side, px, venue_ns, out)

    def run_md(self, cols: list, lo: int, hi: int, venue_list: list, out: list, observe=None) -> int:
        """Apply md records ``lo:hi`` (``cols``: the Window's per-field lists) at their venue
        times; stops after the first record that made reports (into ``out``); returns the
        position after the last record applied. Symbols without resting orders take a fast
        path: the book is updated, nothing else can happen."""
        kinds, syms, sides, flags, pxs, qtys, px2s, qty2s, recvs, exchs = cols[:10]
        books, resting, at_price = self.books, self.resting, self.at_price
        n_books = len(books)
        QUOTE, LEVEL, TRADE, AGG_TRADE, BID = M.QUOTE, M.LEVEL, M.TRADE, M.AGG_TRADE, M.BID
        for i in range(lo, hi):
            if observe is not None:
                observe(recvs[i], exchs[i])
            s = syms[i]
            if s >= n_books:
                continue
            kind = kinds[i]
            if kind == LEVEL:  # inline: the most frequent kind where the journal has depth
                book = books[s]
                book.has_depth = True
                side, px, qty = sides[i], pxs[i], qtys[i]
                levels = book.bids if side == BID else book.asks
                if qty > 0:
                    levels[px] = qty
                else:
                    levels.pop(px, None)
                if not resting[s]:
                    continue
                near = at_price[s][O.BUY if side == BID else O.SELL].get(px)
                if near:
                    self._on_book(book, list(near), kind, side, px, venue_list[i], out)
                    if out:
                        return i + 1
                continue
            if not resting[s]:
                if kind == QUOTE:
                    book = books[s]
                    book.bid, book.bid_qty, book.ask, book.ask_qty = pxs[i], qtys[i], px2s[i], qty2s[i]
                    continue
                if kind == TRADE or kind == AGG_TRADE:
                    continue
            self.on_md(kind, s, sides[i], flags[i], pxs[i], qtys[i], px2s[i], qty2s[i], venue_list[i], out)
            if out:
                return i + 1
        return hi

    def _on_trade(self, orders, aggressor: int, px: int, qty: int, venue_ns: int, out: list) -> None:
        for o in list(orders.values()):
            # a SELL aggressor trades against bids: our buys; a BUY aggressor against our sells
            if (o.side == O.BUY) != (aggressor == M.SELL):
                continue
            through = px < o.price if o.side == O.BUY else px > o.price
            if through:
                self._fill(out, o, o.price, o.qty - o.filled, True, venue_ns)
            elif px == o.price:
                if o.ahead < 0:
                    continue  # unknown place in the queue: conservatively, not reached
                o.ahead, reached = on_trade(o.ahead, qty)
                o.traded += qty
                if reached <= 0:
                    continue
                self._fill(out, o, o.price, min(reached, o.qty - o.filled), True, venue_ns)
            else:
                continue
            if o.state == F.ST_FILLED:
                self._end(o)

    def _on_book(self, book: Book, orders: list, kind: int, side: int, px: int, venue_ns: int, out: list) -> None:
        for o in orders:
            buy = o.side == O.BUY
            if kind == M.QUOTE:
                opposite = book.ask if buy else book.bid
                if opposite > 0 and (opposite <= o.price if buy else opposite >= o.price):
                    self._fill(out, o, o.price, o.qty - o.filled, True, venue_ns)  # the market came through us
                    self._end(o)
                    continue
                seen = book.level_qty(o.side, o.price)
            else:
                if px != o.price or side != (M.BID if buy else M.ASK):
                    continue
                seen = book.level_qty(o.side, o.price)
            if seen is None:
                continue
            if o.ahead < 0:
                o.ahead = seen
            else:
                o.ahead = self.queue.on_level(o.ahead, o.level, seen, o.traded)
            o.level = seen
            o.traded = 0

    def open_orders(self) -> int:
        return self.n_resting
