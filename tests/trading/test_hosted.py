"""A strategy hosted by execution (``[[strategies]] host = "execution"``) on the simulator: it
trades with no process of its own, ``hftshm status`` shows its slot ``strategy-<name>`` with its
counters, the orders and fills journals hold its orders, and after ``kill -9`` of execution the
restarted one resumes it. Forbidden: an order id used twice (one strategy, one counter), a fill
counted twice or lost in its position (the strategy's, the risk state's, the stored one: all
equal the simulator's record), a trade id stored twice."""

import json
import re
import signal
import subprocess
import sys

import numpy as np

from hftshm.journal import files
from hftshm.layouts import exec_report as F
from hftshm.launch.trading_instance import TradingInstance as Harness
from hftshm.state.store import path_for, restore
from hftshm.trading.area import TradingArea

from ._checks import reports, wait_for
from .test_state_restart import HERE, check_stored_and_risk, resume, settle, strategy_position, venue_trades

CLI = [sys.executable, "-m", "hftshm.cli"]


def status_workers(instance: str) -> dict:
    out = subprocess.run(CLI + ["status", "--json", "--instance", instance], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return {w["name"]: w for w in json.loads(out.stdout)["workers"]}


def check_positions(h, where: str) -> None:
    venue = venue_trades(h)
    area = TradingArea(h.control.risk_buffer())
    back = restore(path_for(h.cfg), area.run_tag)
    check_stored_and_risk(h, venue, where)
    pos = sum(q for q, _ in venue.values())
    assert back.by_strategy.get(1, {}).get("BTCUSDT", 0) == pos, f"{where}: stored position"
    # the hosted strategy prints its position to execution's log (churn_strategy.py)
    assert re.search(r"^position 0 -?\d+$", h.log("execution"), re.M), "no position line in execution's log"
    assert strategy_position(h, "execution") == pos, f"{where}: the strategy's own position"
    reps = reports(h.instance)
    assert set(reps[reps["exec_type"] == F.EX_TRADE]["trade_id"].tolist()) == set(venue), f"{where}: a fill lost"


def test_strategy_hosted_by_execution_trades_and_survives_kill_9(instance):
    strategies = [{"name": "churn", "kind": "file", "path": str(HERE / "churn_strategy.py"), "class": "Churn",
                   "symbols": ["btcusdt"], "every_ms": 150, "id": 1, "host": "execution"}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=1500, orders_per_10s=1000, journal=True,
                risk={"max_orders_per_s": 6, "max_orders_per_s_total": 6, "max_position": 1},
                execution={"timeout_ms": 300, "recv_window_ms": 500})
    try:
        h.start()
        assert "strategy-churn" not in h.roles  # no process of its own
        h.wait_running(list(h.roles) + ["strategy-churn"], timeout=120)
        wait_for(lambda: h.counters("execution")["fills"] >= 3, 90, "3 fills")
        ws = status_workers(instance)
        mine = ws["strategy-churn"]
        assert mine["role"] == "strategy" and mine["state"] == "running"
        assert mine["pid"] == h.procs["execution"].pid and mine["alive"]
        c = mine["counters"]
        assert c["md_in"] > 0 and c["intents"] > 0 and c["fills_in"] > 0 and c["order_ctr"] >= c["intents"], c
        assert set(c) == {"md_in", "intents", "dropped", "fills_in", "md_lost", "order_ctr"}

        ctr = h.counters("strategy-churn")["order_ctr"]
        h.kill("execution", signal.SIGKILL)
        h.spawn("execution")
        h.wait_running(["execution", "strategy-churn"], timeout=60)
        resume(h)
        fills = h.counters("execution")["fills"]
        wait_for(lambda: h.counters("execution")["fills"] >= fills + 3, 90, "fills after the restart")
        assert h.counters("strategy-churn")["order_ctr"] > ctr  # it went on from the killed one's counter
        assert status_workers(instance)["strategy-churn"]["restarts"] == 1
        settle(h)
        check_positions(h, "after kill -9 of execution")
        venue = set(venue_trades(h))
    finally:
        h.stop()
    # the journal (drained at the stop) holds every order the hosted strategy sent and its reports
    _, orders = files.load_ring(files.ring_dir(h.cfg.run_dir(), "orders"))
    _, reps = files.load_ring(files.ring_dir(h.cfg.run_dir(), "fills"))
    ids = orders["order_id"].tolist()
    assert len(ids) > 6 and set(orders["strategy_id"].tolist()) == {1}
    assert len(ids) == len(set(ids)), "an order id was used twice"
    assert set(reps["order_id"].tolist()) <= set(ids)
    assert set(reps[reps["exec_type"] == F.EX_TRADE]["trade_id"].tolist()) == venue
    assert np.all(np.diff(orders["seq"]) > 0)


def test_a_round_ends_at_the_strategy_that_left_an_intent_and_the_next_starts_after_it():
    """The pump sends an intent before the other hosted strategies run; none is skipped for good."""
    from hftshm.trading.hosted_strategies import HostedStrategies

    polled, queued = [], []

    class Core:
        def __init__(self, name, intents):
            self.name, self.intents = name, intents

        def poll(self):
            polled.append(self.name)
            queued.extend([self.name] * self.intents)
            return 1

    class Orders:
        def pending(self):
            return len(queued)

        def read_batch(self, n):
            out = list(queued[:n])
            del queued[:n]
            return out

    h = HostedStrategies.__new__(HostedStrategies)
    h.cores, h.slots, h.reader, h.next, h.next_beat = [Core("a", 0), Core("b", 1), Core("c", 0)], [], Orders(), 0, 1 << 62
    assert h.read_batch(64) == ["b"] and polled == ["a", "b"]  # c waits: b's intent goes first
    polled.clear()
    h.cores[1].intents = 0
    assert h.read_batch(64) == [] and polled == ["c", "a", "b"]  # the next round starts at c
    polled.clear()
    h.cores[0].intents = 2
    assert h.read_batch(64) == ["a", "a"] and polled == ["c", "a"]
