"""``kill -9`` of execution with orders in flight: the restarted process resolves every one with
the venue and sends none twice. Forbidden: an order at the venue twice, an order left
unresolved (live in the trading area without the venue saying so), a lost terminal report."""

import signal
import time
from pathlib import Path

import numpy as np

from hftshm.layouts import exec_report as F
from hftshm.risk import killswitch
from hftshm.trading import protection
from hftshm.trading.area import TradingArea
from hftshm.launch.trading_instance import TradingInstance as Harness

from ._checks import reports, venue_orders, wait_for

HERE = Path(__file__).parent


def test_kill_9_execution_resolves_in_flight_orders(instance):
    strategies = [{"name": "pas", "kind": "file", "path": str(HERE / "passive_strategy.py"), "class": "Passive",
                   "symbols": ["btcusdt"], "every_ms": 250}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=800,
                risk={"max_orders_per_s": 4, "max_orders_per_s_total": 4},
                execution={"recv_window_ms": 500, "timeout_ms": 300})
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        wait_for(lambda: h.counters("execution")["acked"] >= 3, 60, "3 resting orders")
        sent = h.counters("execution")["sent"]
        wait_for(lambda: h.counters("execution")["sent"] > sent, 30, "a fresh send")
        h.kill("execution", signal.SIGKILL)  # right after a send: likely unanswered
        area = TradingArea(h.control.risk_buffer())
        in_flight = {int(area.slots[i]["order_id"]) for i in area.live()}
        assert len(in_flight) >= 3
        time.sleep(1.0)  # intents queue up in the orders ring meanwhile
        h.spawn("execution")
        h.wait_running(["execution"], timeout=60)
        wait_for(lambda: h.counters("execution")["acked"] >= 1, 30, "trading after the restart")
        assert protection.command(h.control, killswitch.HALT, cancel_open=True).written
        wait_for(lambda: not area.live(), 30, "every order resolved and ended")
        time.sleep(0.3)
        placed, venue_ids, _ = venue_orders(h)
        ours = [oid for oid, _, _ in placed]
        assert len(ours) == len(set(ours)) == len(venue_ids), "an order reached the venue twice"
        assert all(status in ("CANCELED", "FILLED") for _, status, _ in placed)
        reps = reports(h.instance)
        ended = reps[np.isin(reps["state"], list(F.TERMINAL_STATES)) & (reps["exec_type"] != F.EX_CANCEL_REJECTED)]
        for oid in in_flight:  # each one's outcome was resolved and reported
            assert oid in set(ended["order_id"].tolist()), f"order {oid:#x} never reported an end"
        assert set(ours) <= set(ended["order_id"].tolist())
        ends = ended["order_id"].tolist()
        assert len(ends) == len(set(ends)), "an order ended twice"
    finally:
        h.stop()
