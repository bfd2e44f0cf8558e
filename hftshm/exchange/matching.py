"""The matching engine: user orders against the simulator's books, balances and the fill record.

* MARKET, crossing LIMIT, IOC and FOK orders take the shown liquidity level by level
  (``Market.take``); what a taker order cannot fill expires (MARKET, IOC, FOK) or rests (GTC).
* FOK first checks the shown liquidity within its price covers it all, else expires unfilled.
* LIMIT_MAKER that would cross is rejected (-2010 "Order would immediately match and take.").
* Resting orders are not shown in the book; they fill, as makers at their own price, when a
  synthetic taker trades through them (``market.simulate``), reported by ``on_maker_fills``.
* Commission is charged on the received asset (base for a buy, quote for a sell), at the maker
  or taker rate, rounded half up to 1e-8.

Every fill is appended to ``executions``, the simulator's own record, which a test compares
with what a client computed from its executionReports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from hftshm.layouts.md import E8

from . import errors
from . import rows as R
from .account import Account
from .order_book import ASK, BID, available, crosses, sweep_cost
from .filters import check_notional, check_open_orders, check_price, check_qty, notional_e8
from .market import Market
from .orders import Fill, Order


@dataclass(frozen=True)
class Execution:
    symbol: str
    order_id: int
    client_id: str
    trade_id: int
    side: str
    price_e8: int
    qty_e8: int
    quote_e8: int
    commission_e8: int
    commission_asset: str
    maker: bool
    time_ms: int


@dataclass(frozen=True)
class OrderRequest:
    symbol: str  # stream symbol, "btcusdt"
    side: str
    type: str
    tif: str
    price_e8: int  # 0 for MARKET
    qty_e8: int  # 0 when quote_e8 is given
    quote_e8: int  # quoteOrderQty, MARKET only
    client_id: str | None
    resp_type: str


@dataclass
class Outcome:
    result: dict
    events: list[dict] = field(default_factory=list)  # user-data events, in order
    public: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)  # (symbol, rows, changes)


@njit(cache=True)
def lots_for_quote(px, qty, book_side, quote, quote_k):
    """Lots a taker gets for ``quote`` (1e-8 quote units) from the shown levels."""
    lots = 0
    for i in range(px.shape[1]):
        p = px[book_side, i]
        q = min(qty[book_side, i], quote // (p * quote_k))
        if q <= 0:
            break
        lots += q
        quote -= q * p * quote_k
    return lots


class MatchingEngine:
    def __init__(self, markets: dict[str, Market], account: Account, maker_fee_e8: int,
                 taker_fee_e8: int, closed: bool = False):
        self.markets = markets
        self.account = account
        self.maker_fee_e8 = maker_fee_e8
        self.taker_fee_e8 = taker_fee_e8
        self.closed = closed  # replay: the books are recorded, orders are refused
        self.executions: list[Execution] = []
        self._orders: dict[tuple[str, int], Order] = {}
        self._open_cid: dict[tuple[str, str], Order] = {}
        self._last_cid: dict[tuple[str, str], Order] = {}
        self._resting: dict[str, list[Order]] = {s: [] for s in markets}
        self._next_order_id = {s: 1 for s in markets}
        self._next_exec_id = 1
        self._next_cid = 1

    # ----- queries

    def find(self, symbol: str, order_id: int | None, client_id: str | None) -> Order | None:
        if order_id is not None:
            o = self._orders.get((symbol, order_id))
            if o is not None and client_id is not None and o.client_id != client_id:
                return None
            return o
        return self._last_cid.get((symbol, client_id))

    def orders_of(self, symbol: str) -> list[Order]:
        """Every order of ``symbol`` the account placed, open or ended, by order id."""
        return sorted((o for (s, _), o in self._orders.items() if s == symbol), key=lambda o: o.order_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        orders = [o for (s, _), o in self._orders.items() if o.open and (symbol is None or s == symbol)]
        return sorted(orders, key=lambda o: (o.time_ms, o.symbol, o.order_id))

    def shadow(self, symbol: str) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], list[Order]]:
        """Resting orders of ``symbol`` in fill priority (best price, then oldest), as the
        (side, price, remaining lots) arrays ``Market.advance`` takes."""
        resting = self._resting[symbol]
        buys = sorted((o for o in resting if o.is_buy), key=lambda o: (-o.price_px, o.order_id))
        sells = sorted((o for o in resting if not o.is_buy), key=lambda o: (o.price_px, o.order_id))
        ordered = buys + sells
        side = np.array([BID if o.is_buy else ASK for o in ordered], np.int64)
        price = np.array([o.price_px for o in ordered], np.int64)
        left = np.array([o.left_lots for o in ordered], np.int64)
        return (side, price, left), ordered

    # ----- order entry

    def place(self, req: OrderRequest, now_ns: int) -> Outcome:
        if self.closed:
            raise errors.rejected(errors.MARKET_CLOSED)
        market = self.markets[req.symbol]
        spec = market.spec
        now_ms = now_ns // 1_000_000
        buy = req.side == "BUY"
        book = ASK if buy else BID
        if req.client_id is not None and (req.symbol, req.client_id) in self._open_cid:
            raise errors.rejected(errors.DUPLICATE_ORDER)
        check_open_orders(len(self._resting[req.symbol]))
        k = spec.quote_per_tick_lot
        px = req.price_e8 // spec.tick_e8
        lots = req.qty_e8 // spec.step_e8
        if req.type == "MARKET":
            if req.qty_e8:
                check_qty(spec, req.qty_e8)
                mid_e8 = int(market.px[BID, 0] + market.px[ASK, 0]) * spec.tick_e8 // 2
                check_notional(spec, notional_e8(mid_e8, req.qty_e8), market=True)
            else:
                check_notional(spec, req.quote_e8, market=True)
        else:
            check_price(spec, req.price_e8)
            check_qty(spec, req.qty_e8)
            check_notional(spec, notional_e8(req.price_e8, req.qty_e8), market=False)
            if req.type == "LIMIT_MAKER" and crosses(BID if buy else ASK, px, market.px[book, 0]):
                raise errors.rejected(errors.WOULD_TAKE)

        # What the order may spend is locked up front.
        if buy:
            asset = spec.quote
            if req.type != "MARKET":
                need = px * lots * k
            elif req.quote_e8:
                need = req.quote_e8
            else:
                need = int(sweep_cost(market.px, market.qty, book, lots, -1, k)[1])
        else:
            asset = spec.base
            if req.type == "MARKET" and req.quote_e8:
                lots = int(lots_for_quote(market.px, market.qty, book, req.quote_e8, k))
            need = lots * spec.step_e8
        if not self.account.lock(asset, need):
            raise errors.rejected(errors.INSUFFICIENT_BALANCE)

        oid = self._next_order_id[req.symbol]
        self._next_order_id[req.symbol] = oid + 1
        order = Order(
            spec=spec, order_id=oid, client_id=req.client_id or self._new_client_id(),
            side=req.side, type=req.type, tif=req.tif, price_px=px, orig_lots=lots,
            orig_quote_e8=req.quote_e8, time_ms=now_ms, update_ms=now_ms, working_ms=now_ms,
            locked_asset=asset, locked_e8=need,
        )
        self._orders[(req.symbol, oid)] = order
        self._open_cid[(req.symbol, order.client_id)] = order
        self._last_cid[(req.symbol, order.client_id)] = order
        out = Outcome(result={})
        out.events.append(self._report(order, "NEW", now_ms))

        limit = px if req.type != "MARKET" else -1
        if req.tif == "FOK" and available(market.px, market.qty, book, limit) < lots:
            pass  # cannot fill entirely: expires below without trading
        elif req.type == "MARKET" or crosses(BID if buy else ASK, px, market.px[book, 0]):
            max_quote = req.quote_e8 if (req.type == "MARKET" and req.quote_e8 and buy) else -1
            max_lots = lots if not (req.quote_e8 and buy) else 1 << 62
            rows, chg = market.take(now_ns, BID if buy else ASK, max_lots, limit, max_quote)
            trades = rows[rows[:, R.C_KIND] == R.TRADE].tolist()
            last_status = None
            if req.quote_e8 and trades:
                # A quoteOrderQty order's quantity is what it bought or sold; it is FILLED
                # unless the shown book ran out while another lot was still affordable.
                order.orig_lots = sum(r[R.C_QTY] for r in trades)
                spent = sum(r[R.C_PX] * r[R.C_QTY] for r in trades) * k
                short = req.quote_e8 - spent >= int(market.px[book, 0]) * k
                last_status = "PARTIALLY_FILLED" if short else "FILLED"
            for i, row in enumerate(trades):
                status = last_status if i == len(trades) - 1 else None
                out.events.append(self._fill(order, row[R.C_PX], row[R.C_QTY], row[R.C_ID], False,
                                             now_ms, status))
            out.public.append((req.symbol, rows, chg))

        if order.open and order.left_lots > 0 and req.type != "MARKET" and req.tif == "GTC":
            order.resting = True
            self._resting[req.symbol].append(order)
        else:
            self._expire_rest(order, now_ms, out)
        return self._placed(order, req, now_ms, out)

    def _expire_rest(self, order: Order, now_ms: int, out: Outcome) -> None:
        """What did not fill and does not rest expires (IOC, FOK, MARKET)."""
        if order.status != "FILLED":
            order.status = "EXPIRED"
            out.events.append(self._report(order, "EXPIRED", now_ms))

    def _placed(self, order: Order, req, now_ms: int, out: Outcome) -> Outcome:
        """The end of every placement: a finished order leaves the book, the account report,
        and the answer in the type the request asked for."""
        if not order.open:
            self._finish(order)
        out.events.append(self._position(now_ms))
        resp_type = req.resp_type or ("FULL" if req.type in ("MARKET", "LIMIT") else "ACK")
        out.result = order.place_view(resp_type, now_ms)
        return out

    def cancel(self, symbol: str, order_id: int | None, client_id: str | None,
               new_client_id: str | None, now_ns: int) -> Outcome:
        order = self.find(symbol, order_id, client_id)
        if order is None or not order.open:
            raise errors.cancel_rejected(errors.UNKNOWN_ORDER)
        now_ms = now_ns // 1_000_000
        orig = order.client_id
        del self._open_cid[(symbol, orig)]
        order.client_id = new_client_id or self._new_client_id()
        self._last_cid[(symbol, order.client_id)] = order
        order.status = "CANCELED"
        order.update_ms = now_ms
        self._finish(order)
        out = Outcome(result=order.cancel_view(orig, now_ms))
        out.events.append(self._report(order, "CANCELED", now_ms, orig_client_id=orig))
        out.events.append(self._position(now_ms))
        return out

    def on_maker_fills(self, symbol: str, rows: np.ndarray, shadow_orders: list[Order],
                       now_ns: int) -> list[dict]:
        """Synthetic takers traded through resting orders: rows whose ``user`` column is the
        index of the order in ``shadow_orders``."""
        mine = rows[(rows[:, R.C_KIND] == R.TRADE) & (rows[:, R.C_USER] >= 0)]
        if mine.shape[0] == 0:
            return []
        now_ms = now_ns // 1_000_000
        events = []
        for row in mine.tolist():
            order = shadow_orders[row[R.C_USER]]
            events.append(self._fill(order, row[R.C_PX], row[R.C_QTY], row[R.C_ID], True,
                                     row[R.C_T] // 1_000_000))
            if not order.open:
                self._finish(order)
        events.append(self._position(now_ms))
        return events

    # ----- bookkeeping

    def _fill(self, order: Order, px: int, lots: int, trade_id: int, maker: bool, now_ms: int,
              status: str | None = None) -> dict:
        """Apply one fill to the order, the account and the record; ``status`` overrides the
        order status that follows from the quantities (quoteOrderQty orders)."""
        spec = order.spec
        quote = px * lots * spec.quote_per_tick_lot
        base = lots * spec.step_e8
        rate = self.maker_fee_e8 if maker else self.taker_fee_e8
        if order.is_buy:
            release = order.price_px * lots * spec.quote_per_tick_lot if order.type != "MARKET" else quote
            self.account.spend_locked(spec.quote, quote)
            self.account.unlock(spec.quote, release - quote)
            order.locked_e8 -= release
            fee, fee_asset = _fee(base, rate), spec.base
            self.account.credit(spec.base, base - fee)
        else:
            self.account.spend_locked(spec.base, base)
            order.locked_e8 -= base
            fee, fee_asset = _fee(quote, rate), spec.quote
            self.account.credit(spec.quote, quote - fee)
        order.exec_lots += lots
        order.cum_quote_e8 += quote
        order.update_ms = now_ms
        if status is not None:
            order.status = status
        elif order.orig_quote_e8 == 0 and order.exec_lots == order.orig_lots:
            order.status = "FILLED"
        else:
            order.status = "PARTIALLY_FILLED"
        fill = Fill(px, lots, quote, fee, fee_asset, trade_id, maker)
        order.fills.append(fill)
        self.executions.append(Execution(
            symbol=spec.symbol, order_id=order.order_id, client_id=order.client_id,
            trade_id=trade_id, side=order.side, price_e8=px * spec.tick_e8, qty_e8=base,
            quote_e8=quote, commission_e8=fee, commission_asset=fee_asset, maker=maker,
            time_ms=now_ms,
        ))
        self.account.update_ms = now_ms
        return self._report(order, "TRADE", now_ms, fill)

    def _finish(self, order: Order) -> None:
        """The order left the book for good: release what is still locked for it."""
        order.resting = False
        if order.locked_e8:
            self.account.unlock(order.locked_asset, order.locked_e8)
            order.locked_e8 = 0
        self._open_cid.pop((order.spec.stream_symbol, order.client_id), None)
        resting = self._resting[order.spec.stream_symbol]
        if order in resting:
            resting.remove(order)

    def _report(self, order: Order, exec_type: str, now_ms: int, fill: Fill | None = None,
                orig_client_id: str = "") -> dict:
        exec_id = self._next_exec_id
        self._next_exec_id += 1
        return order.report(exec_type, now_ms, exec_id, fill, orig_client_id)

    def _position(self, now_ms: int) -> dict:
        """outboundAccountPosition (user-data-stream.md "Account Update")."""
        self.account.update_ms = now_ms
        return {"e": "outboundAccountPosition", "E": now_ms, "u": now_ms,
                "B": self.account.take_changed()}

    def _new_client_id(self) -> str:
        n = self._next_cid
        self._next_cid += 1
        return f"hftshm{n:016d}"  # 22 characters, like Binance's generated ids


def _fee(amount_e8: int, rate_e8: int) -> int:
    return (amount_e8 * rate_e8 + E8 // 2) // E8
