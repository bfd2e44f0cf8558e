"""No risk worker, no kill switch, no trading: execution halts (RISK_DOWN) when the risk
worker's heartbeat is older than ``[risk] protection_timeout_ms``, whether the worker hangs
(SIGSTOP) or is gone (kill -9), and a worker still starting never trips it.

Forbidden outcomes: trading left ACTIVE with the risk worker silent past the bound; an order
sent after the halt; a resume granted while the risk worker is down; a trip at startup."""

import os
import signal
import time

from hftshm.risk import killswitch
from hftshm.trading import protection
from hftshm.risk import reasons as R
from hftshm.launch.trading_instance import TradingInstance as Harness

from ._checks import wait_for

# under the supervisor (the hand-built instance runs with the default, 1000): generous, so that a
# heavily loaded test machine's scheduling pauses are not taken for a dead worker
TIMEOUT_MS = 2000


def test_risk_worker_silent_or_gone_halts_trading(instance):
    strategies = [{"name": "imb", "kind": "imbalance", "symbols": ["btcusdt"], "threshold": 0.2,
                   "max_spread_bps": 50, "cooldown_ms": 150, "max_position": "0.004"}]
    # max_feed_age_s: the risk worker's own FEED_STALE must not halt first on a loaded machine
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=1500,
                risk={"max_orders_per_s": 4, "max_orders_per_s_total": 4, "max_feed_age_s": 60.0})
    try:
        h.start()  # every worker at once: execution may come up before risk has beaten
        h.wait_running(list(h.roles), timeout=120)
        control = h.control
        wait_for(lambda: h.counters("execution")["sent"] >= 2, 90, "orders sent")
        assert (control.trading_state, control.trading_reason) == (R.TS_ACTIVE, R.OK), "tripped at startup"
        assert h.counters("execution")["prot_trips"] == 0 and control.protection_cause == R.OK

        # the risk worker hangs: alive, silent
        pid = h.procs["risk"].pid
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(lambda: control.trading_state == R.TS_HALTED, 30, "a halt after the risk worker stopped")
            assert control.trading_reason == R.RISK_DOWN and control.cancel_open
            assert control.protection_cause == R.RISK_DOWN
            # counted just after the write that made it visible
            wait_for(lambda: h.counters("execution")["prot_trips"] == 1, 5, "the trip counted")
            refused = protection.command(control, killswitch.RESUME)
            assert not refused.written and refused.reason == R.RISK_DOWN and control.trading_state == R.TS_HALTED
            sent = h.counters("execution")["sent"]
            rejects = h.counters("execution")["risk_rejects"]
            wait_for(lambda: h.counters("execution")["risk_rejects"] > rejects, 30, "an order refused while halted")
            assert h.counters("execution")["sent"] == sent, "an order went out while halted"
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_for(lambda: control.protection_cause == R.OK, 30, "protection back once the risk worker beats")
        assert control.trading_state == R.TS_HALTED  # never resumes by itself
        assert protection.command(control, killswitch.RESUME).written
        sent = h.counters("execution")["sent"]
        wait_for(lambda: h.counters("execution")["sent"] > sent, 60, "orders after the resume")

        # the risk worker is gone (nobody restarts it here)
        h.kill("risk", signal.SIGKILL)
        wait_for(lambda: control.trading_state == R.TS_HALTED, 30, "a halt after the risk worker died")
        assert control.trading_reason == R.RISK_DOWN
        wait_for(lambda: h.counters("execution")["prot_trips"] == 2, 5, "the second trip counted")
        sent = h.counters("execution")["sent"]
        time.sleep(0.5)
        assert h.counters("execution")["sent"] == sent
        assert not protection.command(control, killswitch.RESUME).written
        assert "RISK_DOWN" in h.log("execution")
    finally:
        h.stop()


def test_under_the_supervisor_no_journal_or_no_risk_worker_means_no_trading(tmp_path, instance):
    """The real start order (journal, risk, execution, ...; each RUNNING before the next): no
    trip at startup. A silent journal halts trading (JOURNAL_DOWN); a risk worker killed with
    ``restart = false`` (given up) halts it (RISK_DOWN); ``hftshm resume`` is refused while
    either holds, and the summary names the reason."""
    import json
    import subprocess

    from hftshm.runtime.control import ControlBlock
    from runtime.helpers import CLI, leftovers, run_config, stop, supervisor, wait_running

    name = instance + "p"
    cfg = run_config(tmp_path, name, f"""
[venue]
symbols = ["btcusdt"]
[risk]
protection_timeout_ms = {TIMEOUT_MS}
max_feed_age_s = 60.0
[workers.risk]
restart = false
""")

    def resume():
        return subprocess.run(CLI + ["resume", "--instance", name], capture_output=True, text=True, timeout=60)

    with supervisor("start", "--headless", "--config", cfg, "--summary", tmp_path / "s.json") as sup:
        pids = wait_running(name, ["journal", "risk", "execution", "strategy-momentum", "ingest"])
        control = ControlBlock.attach(name)
        try:
            time.sleep(1.5 * TIMEOUT_MS / 1000)
            assert (control.trading_state, control.trading_reason) == (R.TS_ACTIVE, R.OK), "tripped at startup"
            assert control.protection_cause == R.OK

            os.kill(pids["journal"], signal.SIGSTOP)  # the journal hangs: nothing is recorded
            try:
                wait_for(lambda: control.trading_state == R.TS_HALTED, 30, "a halt after the journal stopped")
                assert control.trading_reason == R.JOURNAL_DOWN and control.protection_cause == R.JOURNAL_DOWN
                out = resume()
                assert out.returncode == 1 and "JOURNAL_DOWN" in out.stderr + out.stdout
            finally:
                try:
                    os.kill(pids["journal"], signal.SIGCONT)
                except ProcessLookupError:
                    # stopped past the supervisor's HUNG_S (a loaded machine: the resume command
                    # alone can take seconds to start): it was killed as hung and is restarting
                    pass
            wait_for(lambda: control.protection_cause == R.OK, 30, "protection back once the journal beats")
            out = resume()
            assert out.returncode == 0, out.stderr
            assert control.trading_state == R.TS_ACTIVE

            os.kill(pids["risk"], signal.SIGKILL)  # restart = false: the supervisor gives up on it
            wait_for(lambda: control.trading_state == R.TS_HALTED, 30, "a halt after the risk worker died")
            assert control.trading_reason == R.RISK_DOWN
            out = resume()
            assert out.returncode == 1 and "RISK_DOWN" in out.stderr + out.stdout
        finally:
            control.close()
        output = stop(sup)
    # a worker given up and a run that ended halted: exit 3, and the summary says why (issue 15)
    assert sup.returncode == 3, output
    assert "not restarting" in output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["trading"]["trading_state"] == "halted" and summary["trading"]["trading_reason"] == "RISK_DOWN"
    assert summary["workers"]["execution"]["counters"]["prot_trips"] == 2
    assert summary["exit"]["why"][0].startswith("worker risk was given up")
    assert summary["exit"]["why"][1].startswith("trading ended HALTED (RISK_DOWN")
    assert leftovers(name) == []
