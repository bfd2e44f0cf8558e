"""The venue pushes back: against the simulator's ORDERS limit (4 per 10 s here), execution
reads the ``rateLimits`` and refusals (-1015, 429, retryAfter) of its answers, stops sending new
orders once a window is full (refusing them locally as BACKOFF, counted), and sends again when
the window ends.
Forbidden: more orders in one 10 s window than the venue allows; trading stuck after the window.
(Refusals -1015/-1003/429/418 and the escalation to a halt are covered with literal answers in
test_router.py.)"""

from pathlib import Path

from hftshm.layouts import exec_report as F
from hftshm.risk import reasons as R
from hftshm.launch.trading_instance import TradingInstance as Harness

from ._checks import reports, wait_for

HERE = Path(__file__).parent
LIMIT = 4


def test_a_full_orders_window_pauses_new_orders_until_it_ends(instance):
    strategies = [{"name": "pas", "kind": "file", "path": str(HERE / "passive_strategy.py"), "class": "Passive",
                   "symbols": ["btcusdt"], "every_ms": 150}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=800, state=False, orders_per_10s=LIMIT,
                risk={"max_orders_per_s": 10, "max_orders_per_s_total": 10})
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        wait_for(lambda: h.counters("execution")["backoff_rejects"] >= 3, 60, "orders refused while backing off")
        c = h.counters("execution")
        assert c["backoffs"] >= 1
        first = c["backoffs"]
        wait_for(lambda: h.counters("execution")["backoffs"] > first, 30, "a second window filled after the first ended")
        stamps = h.sim.call(lambda: sorted(o.time_ms for o in h.sim.sim.venue.engine._orders.values()))
        per_window = {}
        for t in stamps:
            per_window[t // 10_000] = per_window.get(t // 10_000, 0) + 1
        assert max(per_window.values()) <= LIMIT, per_window
        assert len(per_window) >= 2, "no order went out after the first window ended"
        reps = reports(h.instance)
        backoff = reps[(reps["exec_type"] == F.EX_REJECTED) & (reps["reason"] == R.BACKOFF)]
        assert len(backoff) == h.counters("execution")["backoff_rejects"]
        assert (backoff["venue_code"] == 0).all()
        # the venue refused at most the orders already on the wire when the window filled (a
        # burst, one push): no halt
        assert h.control.trading_state == R.TS_ACTIVE, R.name(h.control.trading_reason)
        assert h.counters("execution")["rate_halts"] == 0
    finally:
        h.stop()
