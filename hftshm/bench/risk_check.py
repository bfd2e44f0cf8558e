"""How long the pre-trade check takes: from numba, and per order from Python. Measures and
reports, asserts nothing (``python -m hftshm.bench.risk_check``).

The setup is a typical order stream: limit orders of alternating side within the price band,
on symbols that hold a position and open orders, so every check runs and every order passes
(the slowest path: a reject returns early). The state and limits stay in cache, as they do on a
busy execution thread; a cold cache adds roughly one memory access per line touched (the order,
the symbol's check line and limits row, the account line, two rate slots).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from ..layouts import order as O
from ..ring.fast import entry_point
from ..risk import reasons as R
from ..risk.checks import check_one, check_order
from ..risk.fills import on_fill
from ..risk.gate import PreTradeGate
from ..risk.limits import Limits
from ..risk.marks import on_mid
from ..risk.orders import on_sent
from ..risk.state import RiskState

E8 = 100_000_000


@njit(cache=True)
def _check_loop(orders, symbols, account, sym_limits, acct_limits, trading_state, now_ns):
    """check_order over every order; returns how many passed (so nothing is optimized away)."""
    passed = 0
    for i in range(orders.shape[0]):
        if check_order(orders[i], symbols, account, sym_limits, acct_limits, trading_state, now_ns + i) == R.OK:
            passed += 1
    return passed


def setup(n_symbols: int = 64, n_orders: int = 100_000, seed: int = 1):
    """A state with mids, positions and open orders on every symbol; limits that every order passes;
    ``n_orders`` limit orders on random symbols within 0.5% of the mid."""
    rng = np.random.default_rng(seed)
    state = RiskState(n_symbols)
    limits = Limits(n_symbols=n_symbols, max_order_qty=10, max_order_notional=1_000_000, max_position=1_000,
                    max_gross_exposure=1e9, price_band_bps=100, max_orders_per_s=64, max_orders_per_s_total=1024)
    sym_limits, acct_limits = limits.arrays()
    mids = rng.integers(100, 100_000, n_symbols) * E8
    for s in range(n_symbols):
        on_mid(state.symbols, state.account, s, int(mids[s]), 0)
        on_fill(state.symbols, state.account, s, O.BUY, int(mids[s]), 2 * E8, 0, 0)
        on_sent(state.symbols, state.account, s, O.SELL, E8)
    orders = np.zeros(n_orders, O.DTYPE)
    sym = rng.integers(0, n_symbols, n_orders)
    orders["order_id"] = np.arange(1, n_orders + 1)
    orders["symbol_id"] = sym
    orders["action"] = O.NEW
    orders["side"] = np.where(np.arange(n_orders) % 2, O.SELL, O.BUY)
    orders["type"] = O.LIMIT
    orders["tif"] = O.GTC
    orders["qty_e8"] = rng.integers(1, 100, n_orders) * (E8 // 100)
    orders["price_e8"] = mids[sym] + (mids[sym] // 10_000) * rng.integers(-50, 51, n_orders)
    return state, sym_limits, acct_limits, orders


def measure(n_symbols: int = 64, n_orders: int = 100_000, python_calls: int = 100_000, repeats: int = 5) -> dict:
    """Per-order nanoseconds (best of ``repeats``) for: ``check_order`` in a numba loop; one order per
    call from Python through the dispatcher, through the compiled entry point with arrays, and
    through ``PreTradeGate.check`` (entry point, state and limits by address)."""
    state, sym_limits, acct_limits, orders = setup(n_symbols, n_orders)
    args = (state.symbols, state.account, sym_limits, acct_limits, R.TS_ACTIVE)
    now = 10**18
    passed = _check_loop(orders, *args, now)  # compile and warm
    if passed != n_orders:
        raise AssertionError(f"setup: only {passed} of {n_orders} orders pass; the loop would time early exits")
    loop = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        _check_loop(orders, *args, now)
        loop.append((time.perf_counter_ns() - t0) / n_orders)

    one = orders[:1].copy()
    entry = entry_point(check_one, one, *args, now)
    gate_check = PreTradeGate(state, (sym_limits, acct_limits)).check
    symbols, account, ts = state.symbols, state.account, R.TS_ACTIVE

    def dispatcher(n):
        for _ in range(n):
            check_one(one, symbols, account, sym_limits, acct_limits, ts, now)

    def entry_arrays(n):
        for _ in range(n):
            entry(one, symbols, account, sym_limits, acct_limits, ts, now)

    def gate(n):
        for _ in range(n):
            gate_check(one, ts, now)

    # execution's gate: kill switch loaded in the call, exposure refreshed, the order counted
    from ..risk.live_gate import LiveGate

    # the control block's trading word, alone on its cache line (the gate loads it per order)
    words = np.zeros(8, np.int64)
    words[0] = R.TS_ACTIVE  # armed: a zeroed word is halted (every order refused early)
    live_state = setup(n_symbols, 1)[0]
    live_admit = LiveGate(live_state, Limits(n_symbols=n_symbols, max_order_qty=10, max_order_notional=1_000_000,
                                             max_position=10**9, max_gross_exposure=4e10, price_band_bps=100,
                                             max_orders_per_s=64, max_orders_per_s_total=1024),
                          words, 0).admit

    def live(n):
        for i in range(n):
            live_admit(one, now + i * 20_000_000)  # 50 orders/s per symbol: every one passes

    out = {"numba_loop_ns": round(min(loop), 1)}
    for name, run in (("python_dispatcher_ns", dispatcher), ("python_entry_point_ns", entry_arrays),
                      ("python_gate_ns", gate), ("python_live_admit_ns", live)):
        out[name] = round(_best_per_call(run, python_calls, repeats), 1)
    out.update(n_symbols=n_symbols, n_orders=n_orders, python_calls=python_calls, repeats=repeats)
    return out


def _best_per_call(run, n: int, repeats: int) -> float:
    """ns per call of ``run(n)``, Python loop overhead (~15 ns) included, best of ``repeats``."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        run(n)
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key:24} {value}")
