"""The built-in strategies, configurable per symbol: ``momentum``, ``imbalance``, ``grid`` and
``spread``.

* ``momentum``: exponential moving averages of trade prices over ``short`` and ``long`` trades;
  when the short one crosses the long one upwards it buys ``qty``, downwards it sells ``qty``
  (an IOC limit ``slip_bps`` through the last trade price), at most once per ``cooldown_ms``.
  A numba kernel: a batch of md records never returns to Python per record.
* ``imbalance``: on each top-of-book quote, imbalance = (bid qty - ask qty) / (bid qty + ask
  qty); above ``threshold`` it buys at the ask, below ``-threshold`` it sells at the bid (IOC),
  while the spread is at most ``max_spread_bps``, the worst-case position stays within
  ``max_position`` and ``cooldown_ms`` has passed. A numba kernel too (the Python hook
  ``on_quote`` is kept as its readable reference).

* ``grid``: a grid market maker of post-only orders (see ``Grid``), a Python hook; the backtest
  runs it in its compiled loop too (``hftshm.backtest.fast``), with the arithmetic defined here.
* ``spread``: one instrument on two venues (see ``Spread``), a Python hook. Its symbols are
  qualified ``venue:symbol`` names, grouped by the part after the colon into pairs (exactly two
  legs each: ``config_schema.spread_legs``). When leg B's bid exceeds leg A's ask by more than ``fee_bps +
  threshold_bps`` of the mid, both quotes fresh (``max_quote_age_ms``), it buys ``qty`` on A at
  its ask and sells ``qty`` on B at its bid (IOC), within ``max_position`` per leg and once per
  ``cooldown_ms``; the same the other way. A pair held is taken back when the divergence falls
  below ``exit_bps`` (0: crossed back).

Prices are rounded to the symbol's tick and ``qty`` down onto its step, both from the venue's
instrument rules (its exchangeInfo, fetched at start: hftshm.trading.instruments), given to the
strategy as ``instruments``. Every decision uses the records' own
times (``recv_ns``), so replaying the same records gives the same intents.
"""

from __future__ import annotations

import logging

import numpy as np
from numba import njit

from ..config_schema import KIND_KEYS, spread_legs
from ..feed.e8 import parse_e8
from ..layouts import exec_report as F
from ..layouts.md import format_e8
from ..venues.instruments import InstrumentError, select
from ..layouts import md as M
from ..layouts import order as O
from .strategy import Strategy

log = logging.getLogger("hftshm.strategy")

# defaults of the kinds' keys (types and ranges beside them: hftshm.config_schema.KIND_KEYS)
MOMENTUM = KIND_KEYS["momentum"].defaults()
IMBALANCE = KIND_KEYS["imbalance"].defaults()
GRID = KIND_KEYS["grid"].defaults()
SPREAD = KIND_KEYS["spread"].defaults()
PARAMS = {"momentum": MOMENTUM, "imbalance": IMBALANCE, "grid": GRID, "spread": SPREAD}
COMMON = {"name", "kind", "id", "symbols", "path", "class"}


def check_params(kind: str, table: dict) -> None:
    """ValueError naming the key unless ``table`` suits strategy ``kind`` (defaults filled in);
    the keys, their types, ranges and defaults are hftshm.config_schema.KIND_KEYS[kind]."""
    if kind == "file":
        return  # a file strategy reads its own keys
    checked = KIND_KEYS[kind].check({k: v for k, v in table.items() if k not in COMMON}, where="")
    table.update(checked)


def _e8(value, key: str) -> int:
    try:
        e8 = parse_e8(str(value))
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None
    if e8 <= 0:
        raise ValueError(f"{key} must be > 0")
    return e8


def rules(strategy: Strategy) -> tuple[np.ndarray, np.ndarray]:
    """(tick_e8, step_e8) per symbol id, from the venue's instrument rules the strategy was given
    (``strategy.instruments``; hftshm.trading.instruments). InstrumentError without them."""
    table = strategy.instruments
    if table is None:
        raise InstrumentError("this strategy was given no instrument rules (the venue's exchangeInfo, "
                              "fetched at start): it cannot round prices and quantities")
    got = select(table, strategy.symbols)
    return (np.array([r.tick_e8 for r in got], np.int64), np.array([r.step_e8 for r in got], np.int64))


def order_qty(strategy: Strategy, value, ids=None) -> int:
    """The ``qty`` key as e8, rounded down onto the step of every symbol the strategy trades (or
    of the symbol ids ``ids``); InstrumentError naming the symbol when it rounds to nothing or
    below that symbol's minQty."""
    want = q = _e8(value, "qty")
    table = strategy.instruments
    if table is None:
        raise InstrumentError("this strategy was given no instrument rules: cannot round qty onto the venue's step")
    traded = [select(table, [strategy.symbols[i]])[0] for i in (strategy.trading if ids is None else ids)]
    for _ in range(8):  # steps are powers of ten in practice: one pass; a few cover any divisor chain
        before = q
        for r in traded:
            q = r.qty_down(q)
        if q == before:
            break
    for r in traded:
        if q <= 0 or q < r.min_qty_e8 or q % r.step_e8:
            raise InstrumentError(f"qty {value}: {r.symbol} trades in steps of {format_e8(r.step_e8)} from "
                                  f"{format_e8(r.min_qty_e8)} (the venue's LOT_SIZE); rounded down it is "
                                  f"{format_e8(q)}")
    if q != want:
        log.info("qty %s rounded down to %s onto the venue's step", value, format_e8(q))
    return q


@njit(cache=True, inline="always")
def through(px_e8, side, slip_bps, tick_e8):
    """A limit price ``slip_bps`` through ``px_e8`` on ``side``, on the tick grid, rounded away
    from the market side (so the order still crosses)."""
    slip = int(px_e8 * slip_bps / 10_000.0)
    if side == O.BUY:
        p = px_e8 + slip
        return (p + tick_e8 - 1) // tick_e8 * tick_e8
    p = px_e8 - slip
    return p // tick_e8 * tick_e8


@njit(cache=True, inline="always")
def ioc_intent(o, r, symbol_id, side, qty_e8, price_e8):
    """Fill intent ``o``: an IOC limit order triggered by md record ``r``."""
    o.symbol_id = symbol_id
    o.side = side
    o.type = O.LIMIT
    o.tif = O.IOC
    o.action = O.NEW
    o.qty_e8 = qty_e8
    o.price_e8 = price_e8
    o.trigger_seq = r.seq
    o.trigger_recv_ns = r.recv_ns


MOMENTUM_STATE = np.dtype([
    ("enabled", "<i8"), ("n", "<i8"), ("sign", "<i8"), ("next_ns", "<i8"), ("warmup", "<i8"),
    ("qty_e8", "<i8"), ("tick_e8", "<i8"), ("cooldown_ns", "<i8"),
    ("short", "<f8"), ("long", "<f8"), ("a_short", "<f8"), ("a_long", "<f8"), ("slip_bps", "<f8"),
])


@njit(cache=True)
def momentum_kernel(records, state, out):
    """EMA crossover over TRADE records; one intent per cross (see the module doc)."""
    n_out = 0
    for i in range(records.shape[0]):
        r = records[i]
        if r.kind != M.TRADE:
            continue
        s = r.symbol_id
        if s >= state.shape[0]:
            continue
        st = state[s]
        if st.enabled == 0:
            continue
        px = r.price
        if st.n == 0:
            st.short = px
            st.long = px
        else:
            st.short += st.a_short * (px - st.short)
            st.long += st.a_long * (px - st.long)
        st.n += 1
        if st.n < st.warmup:
            continue
        diff = st.short - st.long
        sign = 1 if diff > 0 else (-1 if diff < 0 else 0)
        if sign == 0 or sign == st.sign:
            continue
        first = st.sign == 0
        st.sign = sign
        if first or r.recv_ns < st.next_ns or n_out >= out.shape[0]:
            continue
        side = O.BUY if sign > 0 else O.SELL
        ioc_intent(out[n_out], r, s, side, st.qty_e8, through(r.price_e8, side, st.slip_bps, st.tick_e8))
        st.next_ns = r.recv_ns + st.cooldown_ns
        n_out += 1
    return n_out


class Momentum(Strategy):
    kernel = staticmethod(momentum_kernel)

    def make_state(self) -> np.ndarray:
        p = {**MOMENTUM, **self.params}
        tick, _ = rules(self)
        st = np.zeros(len(self.symbols), MOMENTUM_STATE)
        st["enabled"][self.trading] = 1
        st["warmup"] = p["long"]
        st["qty_e8"] = order_qty(self, p["qty"])
        st["tick_e8"] = tick
        st["cooldown_ns"] = int(p["cooldown_ms"]) * 1_000_000
        st["a_short"] = 2.0 / (p["short"] + 1)
        st["a_long"] = 2.0 / (p["long"] + 1)
        st["slip_bps"] = float(p["slip_bps"])
        return st


IMBALANCE_STATE = np.dtype([
    ("enabled", "<i8"), ("next_ns", "<i8"), ("qty_e8", "<i8"), ("max_pos_e8", "<i8"), ("cooldown_ns", "<i8"),
    ("position", "<i8"), ("open_e8", "<i8"), ("pending_e8", "<i8"), ("threshold", "<f8"), ("max_spread", "<f8"),
])


@njit(cache=True)
def imbalance_kernel(records, state, out):
    """Top-of-book imbalance over QUOTE records (see the module doc). ``position``/``open_e8``
    are the strategy's own arrays (views of ``state``, kept by the engine from fills and
    intents); ``pending_e8`` adds this call's intents, which the engine counts only after."""
    for s in range(state.shape[0]):
        state[s].pending_e8 = 0
    n_out = 0
    for i in range(records.shape[0]):
        r = records[i]
        if r.kind != M.QUOTE:
            continue
        s = r.symbol_id
        if s >= state.shape[0]:
            continue
        st = state[s]
        bid = r.price_e8
        ask = r.price2_e8
        bq = r.qty_e8
        aq = r.qty2_e8
        now = r.recv_ns
        if st.enabled == 0 or bid <= 0 or ask < bid or bq + aq <= 0 or now < st.next_ns:
            continue
        if (ask - bid) * 20_000 > st.max_spread * (ask + bid):  # spread in bps of the mid
            continue
        if n_out >= out.shape[0]:
            break
        imb = (bq - aq) / (bq + aq)
        worst = st.position + st.open_e8 + st.pending_e8
        if imb > st.threshold and worst + st.qty_e8 <= st.max_pos_e8:
            side = O.BUY
            px = ask
            st.pending_e8 += st.qty_e8
        elif imb < -st.threshold and worst - st.qty_e8 >= -st.max_pos_e8:
            side = O.SELL
            px = bid
            st.pending_e8 -= st.qty_e8
        else:
            continue
        ioc_intent(out[n_out], r, s, side, st.qty_e8, px)
        st.next_ns = now + st.cooldown_ns
        n_out += 1
    return n_out


class Imbalance(Strategy):
    """A numba kernel (``imbalance_kernel``); ``on_quote`` is the same rule as a Python hook,
    kept as the readable reference (tests check that both give the same intents)."""

    kernel = staticmethod(imbalance_kernel)

    def make_state(self) -> np.ndarray:
        p = {**IMBALANCE, **self.params}
        st = np.zeros(len(self.symbols), IMBALANCE_STATE)
        st["enabled"][self.trading] = 1
        st["qty_e8"] = order_qty(self, p["qty"])
        st["max_pos_e8"] = _e8(p["max_position"], "max_position")
        st["cooldown_ns"] = int(p["cooldown_ms"]) * 1_000_000
        st["threshold"] = float(p["threshold"])
        st["max_spread"] = float(p["max_spread_bps"])
        # the engine updates position/open_e8 in place: let the kernel see them
        st["position"], st["open_e8"] = self.position, self.open_e8
        self.position, self.open_e8 = st["position"], st["open_e8"]
        return st

    def on_start(self) -> None:
        p = {**IMBALANCE, **self.params}
        self.tick, _ = rules(self)
        self.qty = order_qty(self, p["qty"])
        self.max_pos = _e8(p["max_position"], "max_position")
        self.threshold = float(p["threshold"])
        self.max_spread = float(p["max_spread_bps"])
        self.cooldown = int(p["cooldown_ms"]) * 1_000_000
        self.next_ns = np.zeros(len(self.symbols), np.int64)

    def on_quote(self, r) -> None:
        s = int(r["symbol_id"])
        bid, ask = int(r["price_e8"]), int(r["price2_e8"])
        bq, aq = int(r["qty_e8"]), int(r["qty2_e8"])
        now = int(r["recv_ns"])
        if bid <= 0 or ask < bid or bq + aq <= 0 or now < self.next_ns[s]:
            return
        if (ask - bid) * 20_000 > self.max_spread * (ask + bid):  # spread in bps of the mid
            return
        imb = (bq - aq) / (bq + aq)
        worst = int(self.position[s]) + int(self.open_e8[s])
        if imb > self.threshold and worst + self.qty <= self.max_pos:
            self.buy(s, self.qty, ask)
        elif imb < -self.threshold and worst - self.qty >= -self.max_pos:
            self.sell(s, self.qty, bid)
        else:
            return
        self.next_ns[s] = now + self.cooldown


@njit(cache=True)
def grid_firsts(bid, ask, tick, spacing, step):
    """(first bid, first ask) of the grid around a quote: multiples of ``step`` ticks, at least
    ``spacing`` ticks from the mid, bids rounded down, asks up (twice the mid: exact). One
    definition: the Python ``Grid`` runs it as Python (``py_func``), the backtest's compiled loop
    (``hftshm.backtest.fast``) compiled."""
    unit = tick * step
    gap = tick * spacing
    mid2 = bid + ask
    return (mid2 - 2 * gap) // (2 * unit) * unit, -((-(mid2 + 2 * gap)) // (2 * unit)) * unit


@njit(cache=True)
def may_buy(pos, open_buy, qty, max_pos):
    """A bid may be placed while its fill keeps position + open bids within ``max_pos``."""
    return pos + open_buy + qty <= max_pos


@njit(cache=True)
def may_sell(pos, open_sell, qty, max_pos):
    """An ask may be placed while its fill keeps -(position - open asks) within ``max_pos``."""
    return -(pos - open_sell - qty) <= max_pos


_firsts, _may_buy, _may_sell = grid_firsts.py_func, may_buy.py_func, may_sell.py_func


class Grid(Strategy):
    """A grid market maker, a Python hook: on each quote of a traded symbol, ``levels`` post-only
    (LIMIT_MAKER) bids and asks at multiples of ``step_ticks`` ticks, the first at least
    ``spacing_ticks`` ticks from the mid (bids rounded down, asks up, onto the step grid); orders
    that fall off the grid are cancelled, missing levels placed. A side stops quoting where its
    fill would take |position| (with that side's open orders) past ``max_position``. After a
    reject the symbol waits ``cooldown_ms`` before placing again. ``tick`` overrides the
    symbol's tick size from the venue's rules (e.g. "0.1" for USD-M BTCUSDT); "" uses the venue's.

    The grid is recomputed only when its first levels move or a report arrives, so a quote that
    changes nothing costs a few integer operations."""

    def on_start(self) -> None:
        p = {**GRID, **self.params}
        ticks, _ = rules(self)
        if p["tick"] != "":
            ticks[:] = _e8(p["tick"], "tick")
        self.tick = ticks.tolist()
        self.levels = int(p["levels"])
        self.spacing = int(p["spacing_ticks"])
        self.step = int(p["step_ticks"])
        self.qty = order_qty(self, p["qty"])
        self.max_pos = _e8(p["max_position"], "max_position")
        self.cooldown = int(p["cooldown_ms"]) * 1_000_000
        n = len(self.symbols)
        self.last = [(0, 0)] * n  # (first bid, first ask) last placed
        self.dirty = [True] * n
        self.next_ns = [0] * n
        self.bids: list[dict] = [{} for _ in range(n)]  # price -> order id
        self.asks: list[dict] = [{} for _ in range(n)]
        self.where: dict[int, tuple] = {}  # order id -> (symbol, side, price)
        self.cancelling: set[int] = set()

    def on_quote(self, r) -> None:
        s = int(r["symbol_id"])
        bid, ask = int(r["price_e8"]), int(r["price2_e8"])
        if bid <= 0 or ask < bid:
            return
        unit = self.tick[s] * self.step
        key = first_bid, first_ask = _firsts(bid, ask, self.tick[s], self.spacing, self.step)
        if key == self.last[s] and not self.dirty[s]:
            return
        self.last[s] = key
        self.dirty[s] = False
        want_bids = {first_bid - i * unit for i in range(self.levels) if first_bid - i * unit > 0}
        want_asks = {first_ask + i * unit for i in range(self.levels)}
        for book, want in ((self.bids[s], want_bids), (self.asks[s], want_asks)):
            for px, oid in list(book.items()):
                if px not in want and oid not in self.cancelling:
                    if self.cancel(oid):
                        self.cancelling.add(oid)
        if int(r["recv_ns"]) < self.next_ns[s]:
            self.dirty[s] = True  # try again after the cool-down
            return
        pos = int(self.position[s])
        open_buy = sum(self.qty for px in self.bids[s])
        open_sell = sum(self.qty for px in self.asks[s])
        for px in sorted(want_bids, reverse=True):
            if px in self.bids[s] or not _may_buy(pos, open_buy, self.qty, self.max_pos):
                continue
            oid = self.buy(s, self.qty, px, O.LIMIT_MAKER, O.GTC)
            if oid:
                self.bids[s][px] = oid
                self.where[oid] = (s, O.BUY, px)
                open_buy += self.qty
        for px in sorted(want_asks):
            if px in self.asks[s] or not _may_sell(pos, open_sell, self.qty, self.max_pos):
                continue
            oid = self.sell(s, self.qty, px, O.LIMIT_MAKER, O.GTC)
            if oid:
                self.asks[s][px] = oid
                self.where[oid] = (s, O.SELL, px)
                open_sell += self.qty

    def on_fill(self, r) -> None:
        oid = int(r["order_id"])
        place = self.where.get(oid)
        if place is None:
            return
        s, side, px = place
        self.dirty[s] = True
        if int(r["state"]) in F.TERMINAL_STATES:
            book = self.bids[s] if side == O.BUY else self.asks[s]
            if book.get(px) == oid:
                del book[px]
            del self.where[oid]
            self.cancelling.discard(oid)
            if int(r["state"]) == F.ST_REJECTED:
                self.next_ns[s] = int(r["recv_ns"]) + self.cooldown


class Spread(Strategy):
    """The same instrument on two venues, a Python hook. ``symbols`` are qualified names
    (``usdm:btcusdt``, ``bybit:btcusdt``), one table over every venue: a record's ``symbol_id``
    is its index in ``self.symbols``, and so are the intents' (the worker routes each to its
    venue). Legs are grouped by the part after the colon, two per instrument (``config_schema.spread_legs``).

    Per group the latest quote of each leg is kept; on each quote of a leg, when both are valid
    and fresh (the older at most ``max_quote_age_ms`` older than the newer, by the records'
    ``recv_ns``) and ``cooldown_ms`` has passed for the group since its last orders:

    * exit: while the group holds a pair (leg A long and/or leg B short: direction d = +1; the
      reverse: -1; both legs long or both short: no direction, no exit) and no order of the
      group is live, once the divergence of the mids in that direction, d * (B mid - A mid),
      has fallen below ``exit_bps`` of the mid (the mean of both legs' mids; 0: it crossed
      back), each leg is taken back with an IOC at its touch (a long sold at its bid, a short
      bought at its ask), min(abs(position), qty) rounded down onto its step (below its minQty:
      not sent);
    * else (no exit order sent) entry: when B's bid (rounded down onto B's tick) exceeds A's ask
      (rounded up onto A's) by more than ``fee_bps + threshold_bps`` of the mid, buy ``qty`` on
      A at that ask and sell ``qty`` on B at that bid (IOC limits), provided each leg's worst
      case (position + open orders, this call's included) stays within +/- ``max_position``;
      the same the other way. ``fee_bps`` is both legs' taker fees together. The sell is sent
      only when the buy was (a full orders ring); a lone leg is taken back by the exit rule.

    ``qty`` is rounded down onto both legs' steps (one size, so the legs hedge each other)."""

    def on_start(self) -> None:
        p = {**SPREAD, **self.params}
        ids = list(self.trading)
        self.legs = [(ids[a], ids[b]) for a, b in spread_legs([self.symbols[i] for i in ids])]
        table = self.instruments
        if table is None:
            raise InstrumentError("this strategy was given no instrument rules (each venue's, fetched at start): "
                                  "it cannot round prices and quantities")
        self.rules = {i: r for i, r in zip(ids, select(table, [self.symbols[i] for i in ids]))}
        self.group = {leg: g for g, pair in enumerate(self.legs) for leg in pair}
        self.qty = [order_qty(self, p["qty"], pair) for pair in self.legs]
        self.max_pos = _e8(p["max_position"], "max_position")
        self.enter_bps = float(p["fee_bps"]) + float(p["threshold_bps"])
        self.exit_bps = float(p["exit_bps"])
        self.max_age = int(p["max_quote_age_ms"]) * 1_000_000
        self.cooldown = int(p["cooldown_ms"]) * 1_000_000
        self.quote: dict[int, tuple[int, int, int]] = {}  # symbol id -> (bid, ask, recv_ns), the latest
        self.next_ns = [0] * len(self.legs)

    def on_quote(self, r) -> None:
        s = int(r["symbol_id"])
        g = self.group.get(s)
        if g is None:
            return
        self.quote[s] = (int(r["price_e8"]), int(r["price2_e8"]), int(r["recv_ns"]))
        a, b = self.legs[g]
        qa, qb = self.quote.get(a), self.quote.get(b)
        if qa is None or qb is None:
            return
        a_bid, a_ask, a_ns = qa
        b_bid, b_ask, b_ns = qb
        if not (0 < a_bid <= a_ask and 0 < b_bid <= b_ask):
            return  # an empty or crossed book: no price to trust
        now = max(a_ns, b_ns)
        if now - min(a_ns, b_ns) > self.max_age or now < self.next_ns[g]:
            return
        mid4 = a_bid + a_ask + b_bid + b_ask  # 4 x the mid
        if self._exit(g, a, b, qa, qb, mid4) or self._enter(g, a, b, qa, qb, mid4):
            self.next_ns[g] = now + self.cooldown

    def _exit(self, g, a, b, qa, qb, mid4) -> bool:
        pa, pb = int(self.position[a]), int(self.position[b])
        d = (pa > 0) - (pa < 0) - (pb > 0) + (pb < 0)
        if d == 0 or self.open_e8[a] or self.open_e8[b]:
            return False
        d = 1 if d > 0 else -1
        # d * (B mid - A mid) < exit_bps of the mid, in integers but for exit_bps
        if d * (qb[0] + qb[1] - qa[0] - qa[1]) * 20_000 >= self.exit_bps * mid4:
            return False
        sent = False
        for leg, pos, (bid, ask, _) in ((a, pa, qa), (b, pb, qb)):
            rules = self.rules[leg]
            q = rules.qty_down(min(abs(pos), self.qty[g]))
            if q <= 0 or q < rules.min_qty_e8:
                continue
            if pos > 0:
                sent |= bool(self.sell(leg, q, rules.price_down(bid)))
            else:
                sent |= bool(self.buy(leg, q, rules.price_up(ask)))
        return sent

    def _enter(self, g, a, b, qa, qb, mid4) -> bool:
        q = self.qty[g]
        for buy_leg, ask, sell_leg, bid in ((a, qa[1], b, qb[0]), (b, qb[1], a, qa[0])):
            buy_px = self.rules[buy_leg].price_up(ask)
            sell_px = self.rules[sell_leg].price_down(bid)
            if (sell_px - buy_px) * 40_000 <= self.enter_bps * mid4:  # edge in bps of the mid
                continue
            if (int(self.position[buy_leg]) + int(self.open_e8[buy_leg]) + q > self.max_pos
                    or int(self.position[sell_leg]) + int(self.open_e8[sell_leg]) - q < -self.max_pos):
                return False
            if self.buy(buy_leg, q, buy_px):
                self.sell(sell_leg, q, sell_px)
                return True
            return False
        return False


BUILTINS = {"momentum": Momentum, "imbalance": Imbalance, "grid": Grid, "spread": Spread}
