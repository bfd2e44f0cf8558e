"""Stale orders: intents that waited in the orders ring while execution was stopped (SIGSTOP)
or down (kill -9, then a new process) are dropped with reason STALE once they are older than
``[execution] max_order_age_ms``, reported on the fills ring as rejections, counted, and never
sent. Forbidden: an order older than the bound at the venue; a stale order left unreported."""

import signal
import time
from pathlib import Path

import numpy as np

from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.launch.trading_instance import TradingInstance as Harness

from ._checks import intents, reports, venue_orders, wait_for

HERE = Path(__file__).parent
MAX_AGE_MS = 200


def _check_waited(h, t_from: int, t_to: int) -> int:
    """Every new order whose intent lies in (t_from, t_to) was handled after t_to + the bound:
    it must be a STALE rejection and absent at the venue. Returns how many there were."""
    recs = intents(h.instance)
    waited = recs[(recs["action"] == O.NEW) & (recs["intent_ns"] > t_from) & (recs["intent_ns"] < t_to)]
    ids = set(waited["order_id"].tolist())
    reps = reports(h.instance)
    stale = reps[(reps["exec_type"] == F.EX_REJECTED) & (reps["reason"] == R.STALE)]
    assert ids <= set(stale["order_id"].tolist()), "a stale order was not reported as STALE"
    placed, _, _ = venue_orders(h)
    at_venue = {oid for oid, _, _ in placed}
    assert not ids & at_venue, "a stale order reached the venue"
    acked = set(reps[reps["exec_type"] == F.EX_NEW]["order_id"].tolist())
    assert not ids & acked
    return len(ids)


def test_orders_that_waited_for_execution_go_stale(instance):
    strategies = [{"name": "pas", "kind": "file", "path": str(HERE / "passive_strategy.py"), "class": "Passive",
                   "symbols": ["btcusdt"], "every_ms": 400}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=800,
                risk={"max_orders_per_s": 4, "max_orders_per_s_total": 4, "max_feed_age_s": 60.0},
                execution={"max_order_age_ms": MAX_AGE_MS})
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        wait_for(lambda: h.counters("execution")["sent"] >= 2, 60, "orders sent")
        base = h.counters("execution")["stale"]  # (intents from before execution was up may be stale)

        # stopped: intents queue in the orders ring
        pid = h.procs["execution"].pid
        h.procs["execution"].send_signal(signal.SIGSTOP)
        t_stop = time.time_ns()
        time.sleep(2.0)
        t_cont = time.time_ns()
        h.procs["execution"].send_signal(signal.SIGCONT)
        wait_for(lambda: h.counters("execution")["stale"] >= base + 2, 30, "stale orders dropped")
        time.sleep(0.3)
        n = _check_waited(h, t_stop + 50_000_000, t_cont - MAX_AGE_MS * 1_000_000)
        assert n >= 2, f"only {n} orders waited"
        assert h.counters("execution")["stale"] >= base + n
        sent = h.counters("execution")["sent"]
        wait_for(lambda: h.counters("execution")["sent"] > sent, 30, "fresh orders sent after the wait")

        # down: a new execution process finds the queued intents
        before = h.counters("execution")["stale"]  # the slot's counters carry over to the new process
        h.kill("execution", signal.SIGKILL)
        t_kill = time.time_ns()
        time.sleep(1.5)
        h.spawn("execution")
        h.wait_running(["execution"], timeout=60)
        t_up = time.time_ns()  # no order published before this was handled before it
        wait_for(lambda: h.counters("execution")["stale"] >= before + 2, 30, "stale orders dropped after the restart")
        time.sleep(0.3)
        m = _check_waited(h, t_kill + 50_000_000, min(t_up, t_kill + 1_500_000_000) - MAX_AGE_MS * 1_000_000)
        assert m >= 2, f"only {m} orders waited"
        assert pid != h.procs["execution"].pid
    finally:
        h.stop()
