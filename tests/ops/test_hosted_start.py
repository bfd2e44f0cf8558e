"""``hftshm start`` with a strategy hosted by execution (``host = "execution"``): no process of
its own, its slot ``strategy-<name>`` runs with execution's pid, the supervisor neither waits for
nor restarts a process of that name; a ``kill -9`` of execution brings both back, and the run
still stops clean (exit 0, the slot stopped, nothing left in /dev/shm)."""

from __future__ import annotations

import json
import os

from tests.runtime.helpers import leftovers, run_config, stop, supervisor, wait_running

EXTRA = """
[sim]
rate = 500
[[strategies]]
name = "momentum"
symbols = ["btcusdt"]
host = "execution"
"""


def test_a_hosted_strategy_runs_in_execution_and_comes_back_with_it(instance, tmp_path):
    cfg = run_config(tmp_path, instance, EXTRA)
    with supervisor("start", "--headless", "--summary", tmp_path / "s.json", "--config", cfg) as sup:
        pids = wait_running(instance)
        assert pids["strategy-momentum"] == pids["execution"]
        os.kill(pids["execution"], 9)
        again = wait_running(instance, gone=(pids["execution"],))
        assert again["strategy-momentum"] == again["execution"] != pids["execution"]
        output = stop(sup)
    data = json.loads((tmp_path / "s.json").read_text())
    assert sup.returncode == 0 and data["exit"]["code"] == 0, (output, data["exit"])
    mine = data["workers"]["strategy-momentum"]
    assert mine["role"] == "strategy" and mine["state"] == "stopped" and mine["restarts"] == 1, mine
    assert mine["counters"]["md_in"] > 0, mine
    assert "worker strategy-momentum" not in output  # never started, restarted or given up as a process
    assert leftovers(instance) == []

