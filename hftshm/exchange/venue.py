"""The exchange without I/O: markets, matching engine, account and what they publish.

The server calls ``advance(now_ns)`` on a timer and the request methods when a WebSocket API
request arrives, always passing the time in; everything the venue publishes is queued in
``outbox`` in order and taken by ``drain()``:

* ``MarketRows`` - trade / aggTrade / bookTicker messages of one symbol (``rows.py``),
* ``DepthDiff`` - one diff-depth event (``depth.py``),
* ``UserEvents`` - executionReport / outboundAccountPosition events for user-data subscribers,
* ``StreamMessage`` - a rendered message of a stream with no rows (USD-M mark price, liquidations).

Before a request touches a book the markets are advanced to the request's time, so a user
order meets exactly the book that the published stream shows up to then.

Published counts: ``count`` (``ExchangeConfig.count``) counts messages of streams somebody is
subscribed to (``wanted``); when it is reached the synthetic flow stops and market streams go
quiet. The gap fault drops every Nth trade and diff-depth message (their ids are used anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hftshm.feed.e8 import parse_e8
from hftshm.layouts.md import format_e8

from . import errors
from . import rows as R
from .account import Account
from .order_book import G_UID, available, snapshot, sweep_cost
from .config import ExchangeConfig, fee_e8
from .depth import DepthWindow
from .filters import filter_list, usdm_filter_list
from .market import Market
from .market import warm_up as market_warm_up
from .matching import MatchingEngine, OrderRequest, Outcome, lots_for_quote

DEPTH_STREAMS = (("depth@100ms", 100), ("depth", 1000))
# USD-M (usdm_streams.py): "@depth@0ms" sends changes as they happen; here at every step of the
# market (period 0: each advance, about every millisecond), at a cost that does not grow with a lag
USDM_DEPTH_STREAMS = (("depth@100ms", 100), ("depth@0ms", 0))


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel before the first client comes:
    compiling mid-stream would stall the flow while events pile up."""
    market_warm_up()
    px = np.array([[2, 1], [3, 4]], np.int64)
    qty = np.ones((2, 2), np.int64)
    available(px, qty, 1, -1)
    sweep_cost(px, qty, 1, 1, -1, 1)
    lots_for_quote(px, qty, 1, 10, 1)
MAX_ROWS_PER_ADVANCE = 1 << 20


@dataclass(frozen=True)
class MarketRows:
    symbol: str
    rows: np.ndarray


@dataclass(frozen=True)
class UserEvents:
    events: list


class Venue:
    def __init__(self, cfg: ExchangeConfig, snapshots: dict[str, dict] | None = None):
        """``snapshots`` (replay): recorded REST depth snapshots by stream symbol; the books
        are then the recording's, so orders are refused and ``depth`` serves the snapshot."""
        self.cfg = cfg
        self.specs = cfg.specs
        seeds = np.random.SeedSequence(cfg.seed).spawn(len(self.specs))
        per_symbol = cfg.rate / len(self.specs)
        self.markets = {
            s: Market(spec, cfg.levels, per_symbol, np.random.default_rng(seq))
            for (s, spec), seq in zip(self.specs.items(), seeds)
        }
        self.snapshots = snapshots
        self.account = Account({a: parse_e8(v) for a, v in cfg.balances})
        self.engine = MatchingEngine(self.markets, self.account, fee_e8(cfg.maker_fee),
                                     fee_e8(cfg.taker_fee), closed=snapshots is not None)
        self.usdm = cfg.venue == "binance_usdm"
        depth_streams = USDM_DEPTH_STREAMS if self.usdm else DEPTH_STREAMS  # the shortest timed first
        self.windows = {s: [DepthWindow(s, name, ms) for name, ms in depth_streams] for s in self.specs}
        self._last_changes: dict[str, np.ndarray] = {}  # per symbol, the latest change log (ends with its latest id)
        self.wanted: set[str] = set()
        self.outbox: list = []
        self.started = False
        self.halted = False
        self.delivered = 0
        self._t: dict[str, int] = {}
        self._gap_seen: dict[tuple[str, str], int] = {}
        self._burst_next = 0

    # ----- the synthetic flow

    def start(self, now_ns: int) -> None:
        if self.started or self.snapshots is not None:
            return
        self.started = True
        for s, m in self.markets.items():
            m.start(now_ns)
            self._t[s] = now_ns

    def advance(self, now_ns: int) -> None:
        """Run every market up to ``now_ns``, closing diff-depth windows on the way."""
        if not self.started or self.halted:
            return
        for s, market in self.markets.items():
            period = self.windows[s][0].period_ns
            while not self.halted and self._t[s] <= now_ns:
                t0 = self._t[s]
                close = (t0 // period + 1) * period
                t_stop = min(now_ns, close - 1)
                shadow, orders = self.engine.shadow(s)
                rows, chg = market.advance(t_stop, MAX_ROWS_PER_ADVANCE, shadow)
                self._take_rows(s, rows, chg, orders, t_stop)
                self._t[s] = t_stop + 1
                if t_stop == close - 1:
                    self._close_windows(s, close)
                if self.usdm:
                    self._close_windows(s, t_stop + 1, untimed=True)

    def burst(self, now_ns: int, size: int) -> None:
        """``size`` extra messages at ``now_ns`` on one symbol (symbols take turns)."""
        if not self.started or self.halted:
            return
        self.advance(now_ns)
        symbols = list(self.markets)
        s = symbols[self._burst_next % len(symbols)]
        self._burst_next += 1
        shadow, orders = self.engine.shadow(s)
        rows, chg = self.markets[s].burst(now_ns, size, shadow)
        self._take_rows(s, rows, chg, orders, now_ns)

    def _take_rows(self, s: str, rows: np.ndarray, chg: np.ndarray, orders: list, t_ns: int) -> None:
        if orders and rows.shape[0]:
            events = self.engine.on_maker_fills(s, rows, orders, t_ns)
            if events:
                self.outbox.append(UserEvents(events))
        self._add_changes(s, chg)
        self._publish_rows(s, rows)

    def _add_changes(self, s: str, chg: np.ndarray) -> None:
        if not chg.shape[0]:
            return
        for w in self.windows[s]:
            w.add(chg)
        if self.usdm:  # for _straddle
            self._last_changes[s] = chg

    def _close_windows(self, s: str, close_ns: int, untimed: bool = False) -> None:
        """Close the windows ending at ``close_ns``: the timed ones whose period divides it, or
        (``untimed``) those of period 0, which close at every step."""
        for w in self.windows[s]:
            if untimed and w.period_ns == 0 and f"{s}@{w.stream}" not in self.wanted:
                w.skip()  # nobody listens: no event to build (its ids still advance for pu)
                continue
            if (w.period_ns == 0) if untimed else (w.period_ns and close_ns % w.period_ns == 0):
                diff = w.close(close_ns)
                if diff is not None and not self._gaps(s, w.stream, 1)[0] and self._count(f"{s}@{w.stream}"):
                    self.outbox.append(diff)

    def _gaps(self, s: str, stream: str, n: int) -> np.ndarray:
        """The gap fault: which of the next ``n`` messages of ``stream`` to drop (every Nth)."""
        every = self.cfg.faults.gap_every
        if not every:
            return np.zeros(n, bool)
        seen = self._gap_seen.get((s, stream), 0)
        self._gap_seen[(s, stream)] = seen + n
        return (seen + 1 + np.arange(n)) % every == 0

    def _count(self, stream: str) -> bool:
        """May one more message of ``stream`` go out? Counts it against ``count`` if wanted."""
        if self.halted:
            return False
        if self.cfg.count is not None and stream in self.wanted:
            self.delivered += 1
            self.halted = self.delivered >= self.cfg.count
        return True

    def _publish_rows(self, s: str, rows: np.ndarray) -> None:
        if rows.shape[0] == 0 or self.halted:
            return
        kind = rows[:, R.C_KIND]
        keep = np.ones(rows.shape[0], bool)
        trades = np.flatnonzero(kind == R.TRADE)
        keep[trades[self._gaps(s, "trade", trades.shape[0])]] = False
        if self.cfg.count is not None:
            wanted = np.zeros(rows.shape[0], bool)
            for k, name in R.KIND_STREAM.items():
                if f"{s}@{name}" in self.wanted:
                    wanted |= kind == k
            wanted &= keep
            budget = self.cfg.count - self.delivered
            cum = np.cumsum(wanted)
            if cum.shape[0] and cum[-1] >= budget:
                cut = int(np.searchsorted(cum, budget))  # the row that uses the last of it
                keep[cut + 1:] = False
                self.halted = True
            self.delivered += int(min(cum[-1], budget)) if cum.shape[0] else 0
        rows = rows[keep]
        if rows.shape[0]:
            self.outbox.append(MarketRows(s, rows))

    def publish_message(self, msg) -> None:
        """A ready message of a stream with no rows (USD-M markPrice, forceOrder), counted
        against ``count`` as the others."""
        if self.started and self._count(msg.stream):
            self.outbox.append(msg)

    def drain(self) -> list:
        out, self.outbox = self.outbox, []
        return out

    # ----- WebSocket API views (web-socket-api.md)

    def stream_symbol(self, symbol) -> str:
        """A request's ``symbol`` ("BTCUSDT") as a stream symbol ("btcusdt"), or -1121."""
        if not isinstance(symbol, str) or symbol.lower() not in self.specs or symbol != symbol.upper():
            raise errors.error(errors.BAD_SYMBOL)
        return symbol.lower()

    def exchange_info(self, symbols: list[str] | None, rate_limits: list[dict], now_ms: int) -> dict:
        names = list(self.specs) if symbols is None else [self.stream_symbol(x) for x in symbols]
        return {
            "timezone": "UTC",
            "serverTime": now_ms,
            "rateLimits": rate_limits,
            "exchangeFilters": [],
            "symbols": [self._symbol_info(s) for s in names],
        }

    def usdm_exchange_info(self, now_ms: int) -> dict:
        """``GET /fapi/v1/exchangeInfo``: every symbol in USD-M's shape (perpetuals)."""
        symbols = []
        for s, spec in self.specs.items():
            symbols.append({
                "symbol": spec.symbol, "pair": spec.symbol, "contractType": "PERPETUAL",
                "status": "TRADING", "baseAsset": spec.base, "quoteAsset": spec.quote, "marginAsset": spec.quote,
                "pricePrecision": 8, "quantityPrecision": 8, "baseAssetPrecision": 8, "quotePrecision": 8,
                "underlyingType": "COIN", "filters": usdm_filter_list(spec),
                "orderTypes": ["LIMIT", "MARKET"], "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            })
        return {"timezone": "UTC", "serverTime": now_ms, "futuresType": "U_MARGINED", "rateLimits": [],
                "exchangeFilters": [], "assets": [], "symbols": symbols}

    def _symbol_info(self, s: str) -> dict:
        spec = self.specs[s]
        return {
            "symbol": spec.symbol,
            "status": "TRADING" if self.snapshots is None else "BREAK",
            "baseAsset": spec.base,
            "baseAssetPrecision": 8,
            "quoteAsset": spec.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "allowAmend": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": filter_list(spec),
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
        }

    def depth(self, symbol: str, limit: int, now_ns: int) -> dict:
        s = self.stream_symbol(symbol)
        if self.snapshots is not None:
            snap = self.snapshots.get(s)
            if snap is None:
                raise errors.error(errors.BAD_SYMBOL)
            answer = {"lastUpdateId": snap["lastUpdateId"]}
            for key in ("E", "T"):  # a futures snapshot's message and transaction times
                if key in snap:
                    answer[key] = snap[key]
            answer["bids"], answer["asks"] = snap["bids"][:limit], snap["asks"][:limit]
            return answer
        self.advance(now_ns)
        m = self.markets[s]
        bids, asks = snapshot(m.px, m.qty, limit)
        tick, step = m.spec.tick_e8, m.spec.step_e8
        answer = {"lastUpdateId": m.update_id}
        if self.usdm:
            answer["E"] = answer["T"] = now_ns // 1_000_000  # the futures snapshot's message and transaction times
            self._straddle(s, m.update_id)
        answer["bids"] = [[format_e8(p * tick), format_e8(q * step)] for p, q in bids]
        answer["asks"] = [[format_e8(p * tick), format_e8(q * step)] for p, q in asks]
        return answer

    def _straddle(self, s: str, last_id: int) -> None:
        """USD-M: the first event applied after a snapshot must have ``U <= lastUpdateId <= u``
        ("How to manage a local order book correctly"). Binance's next event includes the
        snapshot's last update; here a window still empty at the snapshot has its next event
        start with that update's levels again (absolute quantities: re-applying them is a no-op)."""
        chg = self._last_changes.get(s)
        if chg is None or int(chg[-1, G_UID]) != last_id:
            return
        chg = chg[chg[:, G_UID] == last_id]
        for w in self.windows[s]:
            if w.empty:
                w.add(chg)

    def place(self, req: OrderRequest, now_ns: int) -> dict:
        """``req.symbol`` is a stream symbol (see ``stream_symbol``)."""
        self.advance(now_ns)
        return self._publish(self.engine.place(req, now_ns))

    def cancel(self, symbol: str, order_id, client_id, new_client_id, now_ns: int) -> dict:
        s = self.stream_symbol(symbol)
        self.advance(now_ns)
        return self._publish(self.engine.cancel(s, order_id, client_id, new_client_id, now_ns))

    def order_status(self, symbol: str, order_id, client_id, now_ns: int) -> dict:
        s = self.stream_symbol(symbol)
        self.advance(now_ns)
        order = self.engine.find(s, order_id, client_id)
        if order is None:
            raise errors.error(errors.NO_SUCH_ORDER)
        return order.status_view()

    def open_orders(self, symbol: str | None, now_ns: int) -> list[dict]:
        s = None if symbol is None else self.stream_symbol(symbol)
        self.advance(now_ns)
        return [o.status_view() for o in self.engine.open_orders(s)]

    def account_status(self, now_ns: int, omit_zero: bool = False) -> dict:
        self.advance(now_ns)
        maker, taker = fee_e8(self.cfg.maker_fee), fee_e8(self.cfg.taker_fee)
        balances = self.account.balances()
        if omit_zero:
            balances = [b for b in balances if b["free"] != "0.00000000" or b["locked"] != "0.00000000"]
        return {
            "makerCommission": maker // 10_000,  # basis points
            "takerCommission": taker // 10_000,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "commissionRates": {"maker": format_e8(maker), "taker": format_e8(taker),
                                "buyer": "0.00000000", "seller": "0.00000000"},
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.account.update_ms,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 1,
        }

    def all_orders(self, symbol: str, order_id: int | None, start_ms: int | None, end_ms: int | None,
                   limit: int, now_ns: int) -> list[dict]:
        """``allOrders``: the account's orders of ``symbol`` in order id order, filtered by the time
        of their last update (``startTime``/``endTime``), else from ``orderId`` on, else the most
        recent ``limit`` (web-socket-api.md "Account order history")."""
        s = self.stream_symbol(symbol)
        self.advance(now_ns)
        orders = self.engine.orders_of(s)
        if start_ms is not None or end_ms is not None:
            lo, hi = start_ms or 0, end_ms if end_ms is not None else 1 << 62
            orders = [o for o in orders if lo <= o.update_ms <= hi][:limit]
        elif order_id is not None:
            orders = [o for o in orders if o.order_id >= order_id][:limit]
        else:
            orders = orders[-limit:]
        return [o.status_view() for o in orders]

    def my_trades(self, symbol: str, order_id: int | None, now_ns: int) -> list[dict]:
        """``myTrades``: the simulator's own fill record (web-socket-api.md "Account trade history")."""
        s = self.stream_symbol(symbol)
        self.advance(now_ns)
        spec = self.specs[s]
        out = []
        for e in self.engine.executions:
            if e.symbol != spec.symbol or (order_id is not None and e.order_id != order_id):
                continue
            out.append({
                "symbol": e.symbol, "id": e.trade_id, "orderId": e.order_id, "orderListId": -1,
                "price": format_e8(e.price_e8), "qty": format_e8(e.qty_e8),
                "quoteQty": format_e8(e.quote_e8), "commission": format_e8(e.commission_e8),
                "commissionAsset": e.commission_asset, "time": e.time_ms,
                "isBuyer": e.side == "BUY", "isMaker": e.maker, "isBestMatch": True,
            })
        return out

    def _publish(self, outcome: Outcome) -> dict:
        for s, rows, chg in outcome.public:
            self._add_changes(s, chg)
            self._publish_rows(s, rows)
        if outcome.events:
            self.outbox.append(UserEvents(outcome.events))
        return outcome.result
