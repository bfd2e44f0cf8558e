"""The synthetic market of one symbol: a price process and order flow that drive its book.

Model (all in one numba kernel, ``simulate``, which runs event by event and writes rows):

* A latent fair price follows a random walk whose step size depends on a volatility regime
  (calm / normal / volatile, Markov switching in time).
* Event times follow a Hawkes process: a regime-scaled base rate plus self-excitation that jumps
  at every event and decays exponentially (20 ms), so events come in bursts. The base rate is
  set from a running mean of messages per event, so the long-run rate of trade + aggTrade +
  bookTicker messages is the configured rate.
* Each event is a taker order (sweeps the opposite side, one or two maker fills per level, an
  aggregate trade per level; buys are likelier when the fair price is above the mid) or a quote
  change (a new best level inside the spread on the side toward the fair price, the best level
  on the far side cancelled, or the best quantity changed). Some events also change a deeper
  level. The book is always N levels a side (see ``order_book.py``).
* Resting user orders are not shown in the book. A synthetic taker fills one when it trades
  through the order's price: before taking a level, the taker first fills resting user orders
  priced strictly better than that level.

Randomness comes from a pool of uniforms drawn from a seeded numpy Generator and consumed in
order, so the messages (contents and relative times) depend only on the seed and the calls made.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import rows as R
from .order_book import ASK, BID, CHG_WIDTH, behind_last, drop_level, log_change, push_front
from .config import SymbolSpec

# int64 state
I_T_NEXT, I_UID, I_POOL, I_REGIME, I_T_LAST = range(5)
# float64 state: fair price (ticks), excitation (events/s), mean messages per event
F_FAIR, F_EXCITE, F_MSGS = range(3)
# float64 parameters
(P_RATE, P_ETA, P_BETA, P_G_MEAN, P_TRADE_P, P_LEVEL_MEAN, P_TOP_MEAN, P_TRADE_MEAN, P_GAP_MAX,
 P_DEEP_P, P_SPLIT_P, P_NOISE_P, P_SWEEP_MAX, P_FAIR_FLOOR, P_TIME_SCALE,
 P_G0, P_G1, P_G2, P_VOL0, P_VOL1, P_VOL2, P_HOLD0, P_HOLD1, P_HOLD2,
 P_HALF0, P_HALF1, P_HALF2) = range(27)
N_PARAMS = 27

REGIME_RATE = (0.5, 1.0, 2.5)  # intensity multiplier per regime
REGIME_VOL = (0.4, 1.0, 3.0)  # fair-price step (ticks per event, 1 sigma)
REGIME_HOLD = (4.0, 3.0, 1.0)  # mean seconds spent in each regime
REGIME_HALF_SPREAD = (1.0, 2.0, 5.0)  # market makers' extra half-spread (ticks, up to)
BRANCHING = 0.6  # Hawkes: events triggered per event
DECAY_PER_S = 50.0  # Hawkes: excitation decays with a 20 ms time constant
GAP_MAX = 3  # ticks between neighbouring levels: 1..GAP_MAX
SWEEP_MAX = 5  # a synthetic taker takes at most this many levels

POOL_SIZE = 1 << 16
DRAWS_PER_EVENT = 96  # an upper bound on uniforms one event can consume
ROWS_PER_LEVEL = 3  # two maker trades and an aggregate trade


@njit(cache=True)
def _u(pool, ist):
    i = ist[I_POOL]
    ist[I_POOL] = i + 1
    return pool[i]


@njit(cache=True)
def _expo(pool, ist):
    return -np.log(1.0 - _u(pool, ist))


@njit(cache=True)
def _normal(pool, ist):
    r = np.sqrt(-2.0 * np.log(1.0 - _u(pool, ist)))
    return r * np.cos(2.0 * np.pi * _u(pool, ist))


@njit(cache=True)
def _lots(mean, pool, ist):
    return 1 + np.int64(_expo(pool, ist) * mean)


@njit(cache=True)
def _trade(out, n, t, p, q, buyer_maker, user):
    out[n, R.C_KIND] = R.TRADE
    out[n, R.C_T] = t
    out[n, R.C_PX] = p
    out[n, R.C_QTY] = q
    out[n, R.C_BUYER_MAKER] = buyer_maker
    out[n, R.C_USER] = user
    return n + 1


@njit(cache=True)
def _agg(out, n, t, p, q, buyer_maker, n_trades):
    out[n, R.C_KIND] = R.AGG
    out[n, R.C_T] = t
    out[n, R.C_PX] = p
    out[n, R.C_QTY] = q
    out[n, R.C_BUYER_MAKER] = buyer_maker
    out[n, R.C_N] = n_trades
    return n + 1


@njit(cache=True)
def _book(out, n, t, px, qty, uid):
    out[n, R.C_KIND] = R.BOOK
    out[n, R.C_T] = t
    out[n, R.C_BID_PX] = px[BID, 0]
    out[n, R.C_BID_QTY] = qty[BID, 0]
    out[n, R.C_ASK_PX] = px[ASK, 0]
    out[n, R.C_ASK_QTY] = qty[ASK, 0]
    out[n, R.C_ID] = uid
    return n + 1


@njit(cache=True)
def _remove(px, qty, side, i, prm, pool, ist, chg, nc, t, uid):
    """Level ``i`` of ``side`` is gone: log it, close the hole and log the new back level."""
    gap = 1 + np.int64(_u(pool, ist) * prm[P_GAP_MAX])
    back = behind_last(px, side, gap)
    back_q = _lots(prm[P_LEVEL_MEAN], pool, ist)
    nc = log_change(chg, nc, t, uid, side, px[side, i], 0)
    drop_level(px, qty, side, i, back, back_q)
    return log_change(chg, nc, t, uid, side, back, back_q)


@njit(cache=True)
def _change_qty(px, qty, side, i, delta, prm, pool, ist, chg, nc, t, uid):
    q = qty[side, i] + delta
    if q <= 0:
        return _remove(px, qty, side, i, prm, pool, ist, chg, nc, t, uid)
    qty[side, i] = q
    return log_change(chg, nc, t, uid, side, px[side, i], q)


@njit(cache=True)
def _taker(px, qty, ist, fst, prm, pool, sh_side, sh_px, sh_rem, t, uid, out, no, chg, nc):
    """One synthetic taker order; returns (rows, changes, book touched)."""
    b, a = px[BID, 0], px[ASK, 0]
    gap = fst[F_FAIR] - 0.5 * (a + b)
    p_buy = 1.0 / (1.0 + np.exp(-gap / max(1.0, 0.5 * (a - b))))
    taker = BID if _u(pool, ist) < p_buy else ASK
    book = 1 - taker
    buyer_maker = 1 if taker == ASK else 0
    left = _lots(prm[P_TRADE_MEAN], pool, ist)
    if _u(pool, ist) < 0.05:  # a heavy tail: the occasional large order that sweeps
        left *= 2 + np.int64(_u(pool, ist) * 8)
    sweep = np.int64(prm[P_SWEEP_MAX])
    cap = 0
    for i in range(sweep):
        cap += qty[book, i]
    left = min(left, cap)
    touched = False
    for _ in range(sweep):
        lp = px[book, 0]
        # Resting user orders priced better than this level trade first (trade-through).
        for k in range(sh_px.shape[0]):
            if left == 0:
                break
            if sh_side[k] != book or sh_rem[k] == 0:
                continue
            if (book == ASK and sh_px[k] < lp) or (book == BID and sh_px[k] > lp):
                f = min(sh_rem[k], left)
                sh_rem[k] -= f
                left -= f
                no = _trade(out, no, t, sh_px[k], f, buyer_maker, k)
                no = _agg(out, no, t, sh_px[k], f, buyer_maker, 1)
        if left == 0:
            break
        take = min(left, qty[book, 0])
        first = take
        if take >= 2 and _u(pool, ist) < prm[P_SPLIT_P]:  # two maker orders at this level
            first = 1 + np.int64(_u(pool, ist) * (take - 1))
        no = _trade(out, no, t, lp, first, buyer_maker, R.SYNTHETIC)
        n_trades = 1
        if first < take:
            no = _trade(out, no, t, lp, take - first, buyer_maker, R.SYNTHETIC)
            n_trades = 2
        no = _agg(out, no, t, lp, take, buyer_maker, n_trades)
        left -= take
        touched = True
        nc = _change_qty(px, qty, book, 0, -take, prm, pool, ist, chg, nc, t, uid)
        if left == 0:
            break
    return no, nc, touched


@njit(cache=True)
def _quote(px, qty, ist, fst, prm, pool, r, t, uid, chg, nc):
    """One quote change at the top of the book; returns the change count.

    Market makers aim at a bid and an ask a random half-spread around the fair price: a side
    short of its target gets a new best level inside the spread, a side past it (stale) loses
    its best level, and otherwise a best quantity changes."""
    b, a = px[BID, 0], px[ASK, 0]
    spread = a - b
    fair = fst[F_FAIR]
    half = 0.5 + _u(pool, ist) * prm[P_HALF0 + r]
    bid_off = np.int64(np.floor(fair - half)) - b  # > 0: the bid should move up
    ask_off = a - np.int64(np.ceil(fair + half))  # > 0: the ask should move down
    if _u(pool, ist) < (abs(bid_off) + 1.0) / (abs(bid_off) + abs(ask_off) + 2.0):
        side, off = BID, bid_off
    else:
        side, off = ASK, ask_off
    if _u(pool, ist) < prm[P_NOISE_P]:
        off = 0
    if off > 0 and spread > 1:  # a new best level inside the spread
        k = min(off, spread - 1)
        p = b + k if side == BID else a - k
        q = _lots(prm[P_TOP_MEAN], pool, ist)
        nc = log_change(chg, nc, t, uid, side, px[side, px.shape[1] - 1], 0)
        push_front(px, qty, side, p, q)
        nc = log_change(chg, nc, t, uid, side, p, q)
    elif off < 0:  # the stale best level is cancelled
        nc = _remove(px, qty, side, 0, prm, pool, ist, chg, nc, t, uid)
    else:  # the best quantity changes
        delta = _lots(prm[P_TOP_MEAN] * 0.5, pool, ist)
        if _u(pool, ist) < 0.5 and delta < qty[side, 0]:
            delta = -delta
        nc = _change_qty(px, qty, side, 0, delta, prm, pool, ist, chg, nc, t, uid)
    return nc


@njit(cache=True)
def rows_per_event(sweep_max, n_shadow):
    """At most this many rows come out of one event: a book ticker, up to three rows per level
    swept, and a trade plus an aggregate trade for each resting user order filled."""
    return 1 + ROWS_PER_LEVEL * sweep_max + 2 * n_shadow


@njit(cache=True)
def simulate(px, qty, ist, fst, prm, pool, sh_side, sh_px, sh_rem, t_end, max_rows, out, chg):
    """Run events while the next one is due at or before ``t_end`` (ns) and fewer than
    ``max_rows`` rows were written. Stops early (returns) when ``out``/``chg`` or the uniform
    pool might not hold one more event, so the caller drains and calls again.
    Returns (rows written, changes written)."""
    n_levels = px.shape[1]
    row_room = rows_per_event(np.int64(prm[P_SWEEP_MAX]), sh_px.shape[0])
    chg_room = 4 * np.int64(prm[P_SWEEP_MAX]) + 8
    no = 0
    nc = 0
    while True:
        t = ist[I_T_NEXT]
        if t > t_end or no >= max_rows:
            break
        if no + row_room > out.shape[0] or nc + chg_room > chg.shape[0]:
            break
        if ist[I_POOL] + DRAWS_PER_EVENT > pool.shape[0]:
            break
        # Regime switching in continuous time.
        r = ist[I_REGIME]
        dt_last = (t - ist[I_T_LAST]) * 1e-9
        ist[I_T_LAST] = t
        if _u(pool, ist) < 1.0 - np.exp(-dt_last / prm[P_HOLD0 + r]):
            r = (r + 1 + np.int64(_u(pool, ist) * 2.0)) % 3
            ist[I_REGIME] = r
        fst[F_FAIR] = max(prm[P_FAIR_FLOOR], fst[F_FAIR] + prm[P_VOL0 + r] * _normal(pool, ist))

        uid = ist[I_UID] + 1
        n0 = no
        nc0 = nc
        top_changed = True
        if _u(pool, ist) < prm[P_TRADE_P]:
            no, nc, top_changed = _taker(px, qty, ist, fst, prm, pool, sh_side, sh_px, sh_rem,
                                         t, uid, out, no, chg, nc)
        else:
            nc = _quote(px, qty, ist, fst, prm, pool, r, t, uid, chg, nc)
        if _u(pool, ist) < prm[P_DEEP_P]:  # a deeper level changes too
            side = BID if _u(pool, ist) < 0.5 else ASK
            i = 1 + np.int64(_u(pool, ist) * (n_levels - 1))
            delta = _lots(prm[P_LEVEL_MEAN] * 0.3, pool, ist)
            if _u(pool, ist) < 0.5:
                delta = -delta
            nc = _change_qty(px, qty, side, i, delta, prm, pool, ist, chg, nc, t, uid)
        if nc > nc0:
            ist[I_UID] = uid
        if top_changed:
            no = _book(out, no, t, px, qty, uid)

        # Schedule the next event (exact Hawkes step for an exponential kernel, Dassios & Zhao
        # 2013): base rate nu plus excitation that jumped at this event and decays.
        fst[F_MSGS] += 0.001 * ((no - n0) - fst[F_MSGS])
        nu = prm[P_G0 + r] * prm[P_RATE] * (1.0 - prm[P_ETA]) / (prm[P_G_MEAN] * fst[F_MSGS])
        excite = fst[F_EXCITE] + prm[P_ETA] * prm[P_BETA]
        dt = _expo(pool, ist) / nu
        d = 1.0 + prm[P_BETA] * np.log(1.0 - _u(pool, ist)) / excite
        if d > 0.0:
            dt = min(dt, -np.log(d) / prm[P_BETA])
        fst[F_EXCITE] = excite * np.exp(-prm[P_BETA] * dt)
        ist[I_T_NEXT] = t + np.int64(dt * 1e9 * prm[P_TIME_SCALE])
    return no, nc


@njit(cache=True)
def take(px, qty, ist, prm, pool, taker, max_lots, limit_px, max_quote, quote_k, t, out, chg):
    """A user's taker order sweeps the shown levels, best first, while they are within
    ``limit_px`` (-1: any price), lots remain (``max_lots``) and, when ``max_quote`` >= 0, while
    a whole lot is still affordable. At most the N levels shown when it arrived are taken.
    Returns (rows written, changes written)."""
    book = 1 - taker
    buyer_maker = 1 if taker == ASK else 0
    uid = ist[I_UID] + 1
    no = 0
    nc = 0
    left = max_lots
    quote_left = max_quote
    for _ in range(px.shape[1]):
        lp = px[book, 0]
        if limit_px >= 0 and ((taker == BID and lp > limit_px) or (taker == ASK and lp < limit_px)):
            break
        q = min(left, qty[book, 0])
        if quote_left >= 0:
            q = min(q, quote_left // (lp * quote_k))
        if q <= 0:
            break
        no = _trade(out, no, t, lp, q, buyer_maker, R.USER_TAKER)
        no = _agg(out, no, t, lp, q, buyer_maker, 1)
        left -= q
        if quote_left >= 0:
            quote_left -= q * lp * quote_k
        nc = _change_qty(px, qty, book, 0, -q, prm, pool, ist, chg, nc, t, uid)
        if left == 0:
            break
    if no > 0:
        ist[I_UID] = uid
        no = _book(out, no, t, px, qty, uid)
    return no, nc


_NO_SHADOW = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


class Market:
    """One symbol's book, flow state and id counters. Sans-I/O: time is always passed in."""

    BUF_ROWS = 1 << 14

    def __init__(self, spec: SymbolSpec, levels: int, rate: float, rng: np.random.Generator):
        self.spec = spec
        self.levels = levels
        self.rng = rng
        mid = spec.price_e8 // spec.tick_e8
        if mid < 20 * levels * GAP_MAX:
            raise ValueError(f"{spec.symbol}: starting price is too close to zero for {levels} levels")
        self.px = np.zeros((2, levels), np.int64)
        self.qty = np.zeros((2, levels), np.int64)
        gaps = rng.integers(1, GAP_MAX + 1, size=(2, levels))
        gaps[:, 0] = 0
        self.px[BID] = mid - np.cumsum(gaps[BID])
        self.px[ASK] = mid + 1 + np.cumsum(gaps[ASK])
        level_mean = spec.level_qty_e8 / spec.step_e8
        self.qty[:] = 1 + (rng.exponential(level_mean, size=(2, levels))).astype(np.int64)
        self.ist = np.zeros(5, np.int64)
        self.ist[I_UID] = 1
        self.ist[I_REGIME] = 1  # start in the normal regime
        self.fst = np.array([mid + 0.5, 0.0, 1.8])
        self.prm = self._params(spec, levels, rate)
        self.pool = rng.random(POOL_SIZE)
        self.next_trade_id = 1
        self.next_agg_id = 1
        self._out = np.zeros((self.BUF_ROWS, R.WIDTH), np.int64)
        self._chg = np.zeros((self.BUF_ROWS, CHG_WIDTH), np.int64)

    @staticmethod
    def _params(spec: SymbolSpec, levels: int, rate: float) -> np.ndarray:
        prm = np.zeros(N_PARAMS)
        hold = np.array(REGIME_HOLD)
        mean_mult = float(np.dot(hold, REGIME_RATE) / hold.sum())  # time-weighted
        prm[P_RATE] = rate
        prm[P_ETA] = BRANCHING
        prm[P_BETA] = DECAY_PER_S
        prm[P_G_MEAN] = mean_mult
        prm[P_TRADE_P] = 0.3
        prm[P_LEVEL_MEAN] = spec.level_qty_e8 / spec.step_e8
        prm[P_TOP_MEAN] = 0.5 * spec.level_qty_e8 / spec.step_e8
        prm[P_TRADE_MEAN] = spec.trade_qty_e8 / spec.step_e8
        prm[P_GAP_MAX] = GAP_MAX
        prm[P_DEEP_P] = 0.5
        prm[P_SPLIT_P] = 0.4
        prm[P_NOISE_P] = 0.3
        prm[P_SWEEP_MAX] = SWEEP_MAX
        prm[P_FAIR_FLOOR] = 4.0 * levels * GAP_MAX  # keeps every level price positive
        prm[P_TIME_SCALE] = 1.0
        prm[P_G0:P_G0 + 3] = REGIME_RATE
        prm[P_VOL0:P_VOL0 + 3] = REGIME_VOL
        prm[P_HOLD0:P_HOLD0 + 3] = REGIME_HOLD
        prm[P_HALF0:P_HALF0 + 3] = REGIME_HALF_SPREAD
        return prm

    @property
    def update_id(self) -> int:
        return int(self.ist[I_UID])

    def start(self, t_ns: int) -> None:
        """The flow starts at ``t_ns``: the first event is due then."""
        self.ist[I_T_NEXT] = t_ns
        self.ist[I_T_LAST] = t_ns

    def _ensure_pool(self, draws: int) -> None:
        i = int(self.ist[I_POOL])
        if self.pool.shape[0] - i < draws:
            self.pool = np.concatenate([self.pool[i:], self.rng.random(POOL_SIZE)])
            self.ist[I_POOL] = 0

    def advance(self, t_end: int, max_rows: int, shadow=_NO_SHADOW) -> tuple[np.ndarray, np.ndarray]:
        """All events due at or before ``t_end`` (at most about ``max_rows`` rows), as
        (stamped rows, changes). ``shadow`` = (side, price, remaining lots) arrays of resting
        user orders in fill priority; their remaining lots are decremented in place."""
        need = 4 * int(rows_per_event(SWEEP_MAX, shadow[0].shape[0]))
        if self._out.shape[0] < need:
            self._out = np.zeros((need, R.WIDTH), np.int64)
        parts, chgs = [], []
        total = 0
        while total < max_rows:
            self._ensure_pool(DRAWS_PER_EVENT * 4)
            no, nc = simulate(self.px, self.qty, self.ist, self.fst, self.prm, self.pool,
                              shadow[0], shadow[1], shadow[2], t_end, max_rows - total,
                              self._out, self._chg)
            if no == 0:
                if self.ist[I_T_NEXT] > t_end:
                    break
                raise AssertionError("simulate() made no progress with an event due")
            parts.append(self._out[:no].copy())
            chgs.append(self._chg[:nc].copy())
            total += no
            if self.ist[I_T_NEXT] > t_end:
                break
        return self._stamp(parts), _cat(chgs, CHG_WIDTH)

    def burst(self, t_ns: int, n_rows: int, shadow=_NO_SHADOW) -> tuple[np.ndarray, np.ndarray]:
        """About ``n_rows`` extra rows of flow, all stamped ``t_ns``; the schedule is unchanged."""
        saved_next, saved_last = int(self.ist[I_T_NEXT]), int(self.ist[I_T_LAST])
        self.ist[I_T_NEXT] = t_ns
        self.prm[P_TIME_SCALE] = 0.0
        try:
            rows, chg = self.advance(t_ns, n_rows, shadow)
        finally:
            self.prm[P_TIME_SCALE] = 1.0
            self.ist[I_T_NEXT] = max(saved_next, t_ns)
            self.ist[I_T_LAST] = max(saved_last, t_ns)
        return rows, chg

    def take(self, t_ns: int, side: int, max_lots: int, limit_px: int = -1,
             max_quote: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """A user's taker order (``side`` BID=buy / ASK=sell) against the shown book."""
        self._ensure_pool(DRAWS_PER_EVENT * (self.levels + 1))
        out = np.zeros((2 * self.levels + 2, R.WIDTH), np.int64)
        chg = np.zeros((3 * self.levels + 2, CHG_WIDTH), np.int64)
        no, nc = take(self.px, self.qty, self.ist, self.prm, self.pool, side, max_lots, limit_px,
                      max_quote, self.spec.quote_per_tick_lot, t_ns, out, chg)
        return self._stamp([out[:no]]), chg[:nc].copy()

    def _stamp(self, parts: list[np.ndarray]) -> np.ndarray:
        """Give trades and aggregate trades their ids, in row order."""
        rows = _cat(parts, R.WIDTH)
        if rows.shape[0] == 0:
            return rows
        kind = rows[:, R.C_KIND]
        is_trade = kind == R.TRADE
        n_trades = int(is_trade.sum())
        rows[is_trade, R.C_ID] = self.next_trade_id + np.arange(n_trades)
        is_agg = kind == R.AGG
        n_aggs = int(is_agg.sum())
        rows[is_agg, R.C_ID] = self.next_agg_id + np.arange(n_aggs)
        last = self.next_trade_id + np.cumsum(is_trade)[is_agg] - 1
        rows[is_agg, R.C_L] = last
        rows[is_agg, R.C_F] = last - rows[is_agg, R.C_N] + 1
        self.next_trade_id += n_trades
        self.next_agg_id += n_aggs
        return rows


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernels, so the first second of a run is not
    spent compiling while events pile up."""
    from .config import symbol_spec

    m = Market(symbol_spec("btcusdt"), 2, 1000.0, np.random.default_rng(0))
    m.start(0)
    m.advance(10_000_000, 100, (np.zeros(1, np.int64), np.ones(1, np.int64), np.zeros(1, np.int64)))
    m.take(0, BID, 1)


def _cat(parts: list[np.ndarray], width: int) -> np.ndarray:
    if not parts:
        return np.zeros((0, width), np.int64)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
