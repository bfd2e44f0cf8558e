"""The feed run by execution (``[feed] host = "execution"``) on the simulator: no ingest process,
``hftshm status`` shows the slot ``ingest`` with execution's pid and its counters, a hosted
strategy trades on its md, and after ``kill -9`` of execution the restarted one resumes the
feed. Forbidden: an md record lost or duplicated in the journal (its sequence numbers are
consecutive), a trade id published twice (the resumed feed goes on after the killed one's last),
an ingest process, a config that hosts the feed where no execution runs."""

import signal

import numpy as np
import pytest

from hftshm.errors import ConfigError
from hftshm.journal import files
from hftshm.layouts import md
from hftshm.launch.trading_instance import TradingInstance as Harness
from hftshm.runtime import config as config_mod
from hftshm.runtime import group
from hftshm.runtime import plan

from ._checks import wait_for
from .test_hosted import HERE, check_positions, status_workers
from .test_state_restart import resume, settle


def test_feed_hosted_by_execution_trades_and_survives_kill_9(instance):
    strategies = [{"name": "churn", "kind": "file", "path": str(HERE / "churn_strategy.py"), "class": "Churn",
                   "symbols": ["btcusdt"], "every_ms": 150, "id": 1, "host": "execution"}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=1500, orders_per_10s=1000, journal=True,
                risk={"max_orders_per_s": 6, "max_orders_per_s_total": 6, "max_position": 1},
                execution={"timeout_ms": 300, "recv_window_ms": 500}, feed={"host": "execution"})
    try:
        h.start()
        assert "ingest" not in h.roles and "ingest" not in h.procs  # no process of its own
        h.wait_running(list(h.roles) + ["strategy-churn", "ingest"], timeout=120)
        wait_for(lambda: h.counters("execution")["fills"] >= 3, 90, "3 fills")
        feed = status_workers(instance)["ingest"]
        assert feed["role"] == "ingest" and feed["state"] == "running"
        assert feed["pid"] == h.procs["execution"].pid and feed["alive"]
        assert feed["counters"]["records"] > 0 and feed["counters"]["connected"] == 1, feed["counters"]

        records = h.counters("ingest")["records"]
        h.kill("execution", signal.SIGKILL)
        h.spawn("execution")
        h.wait_running(["execution", "strategy-churn", "ingest"], timeout=60)
        resume(h)
        fills = h.counters("execution")["fills"]
        wait_for(lambda: h.counters("execution")["fills"] >= fills + 3, 90, "fills after the restart")
        assert h.counters("ingest")["records"] > records  # the counters go on from the killed one's
        assert status_workers(instance)["ingest"]["restarts"] == 1
        settle(h)
        check_positions(h, "after kill -9 of execution with the feed")
    finally:
        h.stop()
    # the journal (a gating reader, drained at the stop) holds every md record once, in order
    _, recs = files.load_ring(files.ring_dir(h.cfg.run_dir(), "md"))
    assert len(recs) > 100
    assert np.array_equal(recs["seq"], np.arange(recs["seq"][0], recs["seq"][0] + len(recs))), "md lost or reordered"
    trades = recs[recs["kind"] == md.TRADE]["venue_id"]
    assert len(trades) > 10 and len(np.unique(trades)) == len(trades), "a trade published twice"
    assert set(recs["venue"].tolist()) <= {0, md.VENUE_CODES["binance_spot"]}


def _cfg(**over) -> dict:
    base = {"instance": "x", "venue": {"kind": "sim", "symbols": ["btcusdt"]}, "feed": {"host": "execution"}}
    base.update(over)
    return base


def test_the_plan_runs_no_ingest_when_execution_hosts_the_feed():
    cfg = config_mod.from_dict(_cfg())
    names = [w.name for w in plan.workers(cfg)]
    assert "execution" in names and "ingest" not in names and plan.feed_hosted(cfg)
    own = config_mod.from_dict(_cfg(feed={}))
    assert "ingest" in [w.name for w in plan.workers(own)] and not plan.feed_hosted(own)


@pytest.mark.parametrize("over,message", [
    ({"strategies": []}, "runs no execution worker"),
    ({"venue": {"kind": "replay", "replay": "/tmp/x"}, "strategies": []}, 'kind "replay" runs no ingest'),
    ({"feed": {"host": "strategy"}}, "[feed] host"),
])
def test_a_feed_host_that_cannot_run_it_is_refused_by_name(over, message):
    with pytest.raises(ConfigError) as e:
        config_mod.from_dict(_cfg(**over))
    assert message in str(e.value)


def test_a_group_of_venues_refuses_the_hosted_feed_by_name():
    with pytest.raises(ConfigError) as e:
        group.expand({"instance": "g", "feed": {"host": "execution"},
                              "venues": [{"name": "a", "kind": "sim", "symbols": ["btcusdt"]},
                                         {"name": "b", "kind": "sim", "symbols": ["ethusdt"]}]})
    assert '[feed] host = \'execution\' with [[venues]]' in str(e.value)


def test_execution_failing_stops_its_feed_before_the_md_ring_goes(instance):
    """A hosted strategy's fault ends execution while md pours in: execution exits with an error
    (not a signal), its log says why, shows no failed socket read, and shows the feed's connection
    closed by its stop before execution closed: nothing can publish into the md ring after."""
    strategies = [{"name": "bad", "kind": "file", "path": str(HERE / "failing_strategy.py"), "class": "FailsLater",
                   "symbols": ["btcusdt"], "fail_after": 300, "id": 1, "host": "execution"}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=5000, feed={"host": "execution"})
    try:
        h.start()
        proc = h.procs["execution"]
        wait_for(lambda: proc.poll() is not None, 120, "execution to end on the strategy's fault")
        log = h.log("execution")
        assert proc.returncode > 0, (proc.returncode, log[-2000:])
        assert "the strategy's own bug" in log
        assert "data_received" not in log and "Fatal error" not in log, log[-3000:]
        assert h.counters("ingest")["records"] > 300
        # the feed was stopped and its connection closed before execution let go of the md ring
        # (else asyncio's teardown cancels it with its socket still reading into the ring)
        assert "feed connection ended: stop" in log, log[-3000:]
    finally:
        h.stop()
