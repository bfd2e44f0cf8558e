"""End to end against the simulator: ingest -> strategy -> execution -> venue -> fills.

Forbidden outcomes: an order sent twice, a fill counted twice or lost (positions and PnL must
equal the simulator's own record), an order at the venue that passed its last kill-switch check
after the time a halt returned (and ``hftshm halt`` prints)."""

import time

import numpy as np
import pytest

from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import killswitch
from hftshm.trading import protection
from hftshm.risk import reasons as R
from hftshm.runtime.control import HALTED
from hftshm.trading import snapshot
from hftshm.launch.trading_instance import TradingInstance as Harness

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
    assert protection.command(h.control, killswitch.HALT).written
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
    from hftshm.risk.state import RiskState
    sym = RiskState.attach(h.control.risk_buffer()).symbols[0]
    for _ in range(100):  # md goes on after the halt: the figures and the mid they marked at, read together
        mid_e8 = int(sym["mid_e8"])
        figs = snapshot.figures(h.control)
        if int(sym["mid_e8"]) == mid_e8:
            break
    else:
        pytest.fail("the mid moved during every one of 100 reads of the figures")
    mid = mid_e8 / E8
    assert int(signed.sum()) == venue_pos == round(figs["positions"]["BTCUSDT"] * E8)
    # PnL: cash flow and fees from the venue's record vs. the risk state's average-cost books
    cash = sum((e.quote_e8 if e.side == "SELL" else -e.quote_e8) for e in executions) / E8
    fees = sum(e.commission_e8 * (e.price_e8 / E8 if e.commission_asset == "BTC" else 1) for e in executions) / E8
    venue_total = cash + venue_pos / E8 * mid - fees
    assert figs["pnl"]["total"] == pytest.approx(venue_total, abs=1e-6)
    assert figs["fills"] == len(executions)
    assert figs["orders_by_state"].get("filled", 0) + figs["orders_by_state"].get("expired", 0) >= 1
    # the orders above went out through the wake-up's callback too (workers/execution._orders_now),
    # not the pump alone
    assert h.counters("execution")["wake_orders"] > 0


def test_halt_stops_sends_within_1ms_and_resume_continues(run):
    """``hftshm halt`` prints the time ``killswitch.command`` returns, read once the halt is
    visible. Ordering check on the simulator's own record of the orders it received: each one's
    ``sent_ns`` (execution's clock read just before its last kill-switch load, with no await
    between that load and the socket write) is earlier than that time; whatever execution
    handled after it was refused HALTED."""
    h = run
    assert protection.command(h.control, killswitch.RESUME).written
    before = h.counters("execution")["sent"]
    wait_for(lambda: h.counters("execution")["sent"] >= before + 3, 60, "sends after resume")
    halted = protection.command(h.control, killswitch.HALT)
    halt_ns = halted.visible_ns
    assert halted.written and h.control.trading_state == HALTED
    time.sleep(1.5)
    reps = reports(h.instance)
    sent_ns = {}
    for r in reps[reps["sent_ns"] != 0]:
        sent_ns.setdefault(int(r["order_id"]), int(r["sent_ns"]))
    placed, _, _ = venue_orders(h)
    assert placed
    for oid, _, _ in placed:  # every order the venue received
        assert oid in sent_ns, f"the venue has order {oid:#x} that execution never reported"
        assert sent_ns[oid] < halt_ns, f"order {oid:#x} passed its last check after the halt was visible"
    assert len(placed) <= h.counters("execution")["sent"]
    late = reps[(reps["exec_type"] == F.EX_REJECTED) & (reps["recv_ns"] > halt_ns)]
    ours = late["reason"][late["venue_code"] == 0]
    assert np.isin(ours, [R.HALTED, R.STALE]).all(), ours  # refused by the kill switch (or too old by then)
    n_sent = h.counters("execution")["sent"]
    assert protection.command(h.control, killswitch.RESUME).written
    wait_for(lambda: h.counters("execution")["sent"] > n_sent, 60, "sends after the second resume")
    assert protection.command(h.control, killswitch.HALT).written
