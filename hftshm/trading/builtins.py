"""The built-in strategies, configurable per symbol: ``momentum`` and ``imbalance``.

* ``momentum``: exponential moving averages of trade prices over ``short`` and ``long`` trades;
  when the short one crosses the long one upwards it buys ``qty``, downwards it sells ``qty``
  (an IOC limit ``slip_bps`` through the last trade price), at most once per ``cooldown_ms``.
  A numba kernel: a batch of md records never returns to Python per record.
* ``imbalance``: on each top-of-book quote, imbalance = (bid qty - ask qty) / (bid qty + ask
  qty); above ``threshold`` it buys at the ask, below ``-threshold`` it sells at the bid (IOC),
  while the spread is at most ``max_spread_bps``, the worst-case position stays within
  ``max_position`` and ``cooldown_ms`` has passed. A numba kernel too (the Python hook
  ``on_quote`` is kept as its readable reference).

Prices are rounded to the symbol's tick and quantities checked against its step (the
simulator's rules for btcusdt/ethusdt are Binance's). Every decision uses the records' own
times (``recv_ns``), so replaying the same records gives the same intents.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config_schema import KIND_KEYS
from ..exchange.config import symbol_spec
from ..feed.e8 import parse_e8
from ..layouts import md as M
from ..layouts import order as O
from .strategy import Strategy

# defaults of the kinds' keys (types and ranges beside them: hftshm.config_schema.KIND_KEYS)
MOMENTUM = KIND_KEYS["momentum"].defaults()
IMBALANCE = KIND_KEYS["imbalance"].defaults()
PARAMS = {"momentum": MOMENTUM, "imbalance": IMBALANCE}
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


def rules(symbols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(tick_e8, step_e8) per symbol id."""
    specs = [symbol_spec(s.lower()) for s in symbols]
    return (np.array([s.tick_e8 for s in specs], np.int64), np.array([s.step_e8 for s in specs], np.int64))


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
        tick, _ = rules(self.symbols)
        st = np.zeros(len(self.symbols), MOMENTUM_STATE)
        st["enabled"][self.trading] = 1
        st["warmup"] = p["long"]
        st["qty_e8"] = _e8(p["qty"], "qty")
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
        st["qty_e8"] = _e8(p["qty"], "qty")
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
        self.tick, _ = rules(self.symbols)
        self.qty = _e8(p["qty"], "qty")
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


BUILTINS = {"momentum": Momentum, "imbalance": Imbalance}
