"""Resting orders at stop: with ``[execution] cancel_on_stop`` (the default) a normal stop of
execution cancels every order still open at the venue; with it off they are left, and both are
counted for the summary (``stop_canceled``, ``stop_left``). Forbidden: an order of ours open at
the venue after a cancelling stop; a left order not counted."""

import signal
import time
from pathlib import Path

from hftshm.launch import summary
from hftshm.launch.trading_instance import TradingInstance as Harness

from ._checks import venue_orders, wait_for

HERE = Path(__file__).parent


def open_at_venue(h) -> list[int]:
    placed, _, _ = venue_orders(h)
    return [oid for oid, status, _ in placed if status in ("NEW", "PARTIALLY_FILLED")]


def test_stop_cancels_resting_orders_or_reports_them_left(instance):
    strategies = [{"name": "pas", "kind": "file", "path": str(HERE / "passive_strategy.py"), "class": "Passive",
                   "symbols": ["btcusdt"], "every_ms": 200}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=800, state=False,
                execution={"cancel_on_stop": False})
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        wait_for(lambda: h.counters("execution")["acked"] >= 3, 60, "3 resting orders")
        h.kill("strategy-pas", signal.SIGTERM)  # no new orders from here on
        wait_for(lambda: h.counters("execution")["open"] == len(open_at_venue(h)), 10, "every order answered")
        resting = open_at_venue(h)
        assert len(resting) >= 3
        # cancel_on_stop = false: a stop leaves them, and says how many
        h.kill("execution", signal.SIGTERM)
        assert sorted(open_at_venue(h)) == sorted(resting)
        c = h.counters("execution")
        assert c["stop_left"] == len(resting) and c["stop_canceled"] == 0
        figs = summary.resting_at_stop(h.cfg, h.control)
        assert figs == {"cancel_on_stop": False, "canceled": 0, "left": len(resting)}
        assert "LEFT OPEN" in summary.resting_line(figs)
        # the default: a new execution adopts them (write-ahead slots), and its stop cancels them
        h.cfg.execution.cancel_on_stop = True
        h.spawn("execution")
        h.wait_running(["execution"], timeout=60)
        wait_for(lambda: h.counters("execution")["open"] == len(resting), 30, "the left orders adopted")
        time.sleep(0.5)  # their status asked and answered
        h.kill("execution", signal.SIGTERM)
        assert open_at_venue(h) == [], "an order stayed open at the venue after a cancelling stop"
        c = h.counters("execution")
        assert c["stop_left"] == 0 and c["stop_canceled"] == len(resting)
        figs = summary.resting_at_stop(h.cfg, h.control)
        assert figs == {"cancel_on_stop": True, "canceled": len(resting), "left": 0}
        assert summary.resting_line(figs) == f"resting orders at stop: {len(resting)} cancelled, none left open"
    finally:
        h.stop()
