"""State that survives restarts: ``kill -9`` of each trading worker (state, risk, execution, a
strategy) at random points while a strategy trades on the simulator, each restarted at once.

After every restart, and at the end: forbidden are a trade id counted twice or lost in a
position (the strategy's own, the risk state's, the one the persisted fills add up to: all equal
the simulator's record of its executions) and a trade id stored twice (SQLite). The default run
kills each worker once; ``-m stress`` runs 20 kills."""

import os
import random
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from hftshm.layouts import fill as F
from hftshm.risk import killswitch
from hftshm.risk import reasons as R
from hftshm.risk.state import RiskState
from hftshm.state.store import path_for, restore
from hftshm.trading.area import TradingArea
from hftshm.trading.harness import Harness

from ._checks import reports, wait_for

HERE = Path(__file__).parent
VICTIMS = ("state", "risk", "execution", "strategy-churn")


def venue_trades(h) -> dict:
    """trade id -> signed quantity (e8), from the simulator's own record."""
    def grab():
        return {e.trade_id: (e.qty_e8 if e.side == "BUY" else -e.qty_e8) for e in h.sim.sim.venue.engine.executions}
    return h.sim.call(grab)


def strategy_position(h) -> int:
    lines = re.findall(r"^position 0 (-?\d+)$", h.log("strategy-churn"), re.M)
    return int(lines[-1]) if lines else 0


def resume(h) -> None:
    """Trading back on after a restart (a killed risk worker halts it: RISK_DOWN)."""
    def on():
        if h.control.trading_state != R.TS_ACTIVE:
            killswitch.command(h.control, killswitch.RESUME)
        return h.control.trading_state == R.TS_ACTIVE
    wait_for(on, 60, "trading active again")


def settle(h) -> None:
    """Halt, let every order end and the state worker store everything."""
    killswitch.command(h.control, killswitch.HALT, cancel_open=True)
    area = TradingArea(h.control.risk_buffer())
    wait_for(lambda: not area.live(), 30, "every order ended")
    time.sleep(0.3)  # the reports of the last ends
    last = int(reports(h.instance)["seq"][-1])
    try:
        wait_for(lambda: restore(path_for(h.cfg), area.run_tag).fills_seq >= last, 30, "the state stored")
    except TimeoutError:
        raise AssertionError(f"state stored fills up to {restore(path_for(h.cfg), area.run_tag).fills_seq}, "
                             f"the ring holds up to {last}; state log: {h.log('state')[-1500:]}") from None


def check(h, where: str) -> None:
    venue = venue_trades(h)
    pos = sum(venue.values())
    area = TradingArea(h.control.risk_buffer())
    back = restore(path_for(h.cfg), area.run_tag)
    db = sqlite3.connect(path_for(h.cfg))
    try:
        rows = db.execute("SELECT trade_id, COUNT(*) FROM fills GROUP BY symbol, trade_id").fetchall()
    finally:
        db.close()
    twice = [t for t, n in rows if n > 1]
    assert not twice, f"{where}: trade ids stored twice: {twice}"
    assert sorted(t for t, _ in rows) == sorted(venue), f"{where}: stored fills are not the venue's"
    assert back.by_strategy.get(1, {}).get("BTCUSDT", 0) == pos, f"{where}: stored position"
    risk = RiskState.attach(h.control.risk_buffer())
    assert int(risk.symbols[0]["position_e8"]) == pos, f"{where}: risk state position"
    assert int(risk.symbols[0]["fills"]) == len(venue), f"{where}: risk state counted a fill twice or lost one"
    assert strategy_position(h) == pos, f"{where}: the strategy's position"
    print(f"{where}: {len(venue)} venue trades, position {pos}, stored {back.n_fills}")
    reps = reports(h.instance)
    assert set(reps[reps["exec_type"] == F.EX_TRADE]["trade_id"].tolist()) == set(venue), f"{where}: a fill lost"


def run_kills(instance, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    strategies = [{"name": "churn", "kind": "file", "path": str(HERE / "churn_strategy.py"), "class": "Churn",
                   "symbols": ["btcusdt"], "every_ms": 150, "id": 1}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=1500,
                risk={"max_orders_per_s": 6, "max_orders_per_s_total": 6, "max_position": 1},
                execution={"timeout_ms": 300, "recv_window_ms": 500}, orders_per_10s=1000)
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        wait_for(lambda: h.counters("execution")["fills"] >= 3, 90, "3 fills")
        for k in range(kills):
            victim = VICTIMS[k % len(VICTIMS)] if k < len(VICTIMS) else rng.choice(VICTIMS)
            time.sleep(rng.uniform(0.2, 1.5))  # a random point under load
            h.kill(victim, signal.SIGKILL)
            h.spawn(victim)
            h.wait_running([victim], timeout=60)
            resume(h)
            fills = h.counters("execution")["fills"]
            wait_for(lambda: h.counters("execution")["fills"] > fills, 60, f"fills after restarting {victim}")
            settle(h)
            check(h, f"kill {k + 1} ({victim}, seed {seed})")
            resume(h)
    finally:
        h.stop()


def test_kill_9_of_each_trading_worker_keeps_positions(instance):
    run_kills(instance, len(VICTIMS), seed=int(os.environ.get("HFTSHM_TEST_SEED", "1")))


@pytest.mark.stress
def test_kill_9_twenty_times_keeps_positions(instance):
    run_kills(instance, 20, seed=int(os.environ.get("HFTSHM_TEST_SEED", str(time.time_ns() % 10_000))))
