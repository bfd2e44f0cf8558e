"""End to end against the simulator: ingest -> strategy -> execution -> venue -> fills.

Forbidden outcomes: an order sent twice, a fill counted twice or lost (positions and PnL must
equal the simulator's own record), an order sent later than 1 ms after a halt."""

import time

import numpy as np
import pytest

from hftshm.layouts import fill as F
from hftshm.layouts import order as O
from hftshm.runtime.control import ACTIVE, HALTED
from hftshm.risk import reasons as R
from hftshm.trading import snapshot
from hftshm.trading.harness import Harness

from ._checks import reports, venue_orders, wait_for

E8 = 100_000_000


@pytest.fixture(scope="module")
def run():
    import os
    inst = f"te{os.getpid()}"
    strategies = [{"name": "imb", "kind": "imbalance", "symbols": ["btcusdt"], "threshold": 0.2,
                   "max_spread_bps": 50, "cooldown_ms": 150, "max_position": "0.004"}]
    h = Harness(inst, strategies, symbols=("btcusdt",), sim_rate=1500,
                risk={"max_orders_per_s": 4, "max_orders_per_s_total": 4})
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        yield h
    finally:
        h.stop()


def test_orders_placed_and_filled_match_the_venue(run):
    h = run
    wait_for(lambda: h.counters("execution")["fills"] >= 6, 90, "6 fills")
    h.control.set_trading(HALTED, R.MANUAL)
    wait_for(lambda: h.counters("execution")["open"] == 0, 30, "no open orders")
    time.sleep(0.3)
    reps = reports(h.instance)
    placed, venue_ids, executions = venue_orders(h)
    ours = [oid for oid, _, _ in placed]
    assert len(ours) == len(set(ours)), "an order reached the venue twice"
    assert len(venue_ids) == len(set(venue_ids)) == len(ours)
    acked = reps[reps["exec_type"] == F.EX_NEW]["order_id"]
    assert sorted(acked.tolist()) == sorted(ours)  # every venue order acknowledged once, no other

    trades = reps[reps["exec_type"] == F.EX_TRADE]
    assert sorted(trades["trade_id"].tolist()) == sorted(e.trade_id for e in executions)  # none lost, none twice
    signed = np.where(trades["side"] == O.BUY, trades["last_qty_e8"], -trades["last_qty_e8"])
    venue_pos = sum(e.qty_e8 if e.side == "BUY" else -e.qty_e8 for e in executions)
    figs = snapshot.figures(h.control)
    assert int(signed.sum()) == venue_pos == round(figs["positions"]["BTCUSDT"] * E8)
    # PnL: cash flow and fees from the venue's record vs. the risk state's average-cost books
    cash = sum((e.quote_e8 if e.side == "SELL" else -e.quote_e8) for e in executions) / E8
    fees = sum(e.commission_e8 * (e.price_e8 / E8 if e.commission_asset == "BTC" else 1) for e in executions) / E8
    mid = None
    from hftshm.risk.state import RiskState
    sym = RiskState.attach(h.control.risk_buffer()).symbols[0]
    mid = sym["mid_e8"] / E8
    venue_total = cash + venue_pos / E8 * mid - fees
    assert figs["pnl"]["total"] == pytest.approx(venue_total, abs=1e-6)
    assert figs["fills"] == len(executions)
    assert figs["orders_by_state"].get("filled", 0) + figs["orders_by_state"].get("expired", 0) >= 1


def test_halt_stops_sends_within_1ms_and_resume_continues(run):
    h = run
    h.control.set_trading(ACTIVE, R.MANUAL)
    before = h.counters("execution")["sent"]
    wait_for(lambda: h.counters("execution")["sent"] >= before + 3, 60, "sends after resume")
    halt_ns = h.control.set_trading(HALTED, R.MANUAL)
    time.sleep(1.5)
    reps = reports(h.instance)
    acks = reps[(reps["exec_type"] == F.EX_NEW) | (reps["exec_type"] == F.EX_REJECTED)]
    sent = reps[reps["exec_type"] == F.EX_NEW]["sent_ns"]
    assert (sent <= halt_ns + 1_000_000).all(), "an order went out more than 1 ms after the halt"
    late = reps[(reps["exec_type"] == F.EX_REJECTED) & (reps["recv_ns"] > halt_ns)]
    assert (late["reason"][late["venue_code"] == 0] == R.HALTED).all()  # refused by the kill switch
    n_sent = h.counters("execution")["sent"]
    h.control.set_trading(ACTIVE, R.MANUAL)
    wait_for(lambda: h.counters("execution")["sent"] > n_sent, 60, "sends after the second resume")
    h.control.set_trading(HALTED, R.MANUAL)
