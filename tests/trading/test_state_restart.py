"""State that survives restarts: ``kill -9`` of each trading worker (state, risk, execution, a
strategy) and of the whole instance at random points while a strategy trades on the simulator,
each restarted at once (the whole instance: a new one of the same name and data dir against the
same, still running, simulator).

After every restart, and at the end: forbidden are a trade id counted twice or lost in a
position (the strategy's own, the risk state's, the one the persisted fills add up to: all equal
the simulator's record of its executions) and a trade id stored twice (SQLite). The default run
kills each worker once and the whole instance once; ``-m stress`` runs 20 kills (the seed is
printed; ``HFTSHM_TEST_SEED`` replays one)."""

import os
import random
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from hftshm.layouts import exec_report as F
from hftshm.risk import killswitch
from hftshm.trading import protection
from hftshm.risk import reasons as R
from hftshm.risk.state import RiskState
from hftshm.state.store import path_for, restore
from hftshm.venues import clientid
from hftshm.trading.area import TradingArea
from hftshm.launch.trading_instance import TradingInstance as Harness

from ._checks import reports, wait_for

HERE = Path(__file__).parent
VICTIMS = ("state", "risk", "execution", "strategy-churn", "instance")  # instance: every worker at once


def venue_trades(h) -> dict:
    """trade id -> (signed quantity e8, strategy id), from the simulator's own record."""
    def grab():
        return {e.trade_id: (e.qty_e8 if e.side == "BUY" else -e.qty_e8, int(e.client_id.split("-")[1], 16) >> 40)
                for e in h.sim.sim.venue.engine.executions}
    return h.sim.call(grab)


def strategy_position(h, name="strategy-churn") -> int:
    lines = re.findall(r"^position 0 (-?\d+)$", h.log(name), re.M)
    return int(lines[-1]) if lines else 0


def resume(h) -> None:
    """Trading back on after a restart (a killed risk worker halts it: RISK_DOWN)."""
    def on():
        if h.control.trading_state != R.TS_ACTIVE:
            protection.command(h.control, killswitch.RESUME)
        return h.control.trading_state == R.TS_ACTIVE
    wait_for(on, 60, "trading active again")


def settle(h) -> None:
    """Halt, let every order end and the state worker store everything."""
    protection.command(h.control, killswitch.HALT, cancel_open=True)
    area = TradingArea(h.control.risk_buffer())
    wait_for(lambda: not area.live(), 30, "every order ended")
    time.sleep(0.3)  # the reports of the last ends
    last = int(reports(h.instance)["seq"][-1])
    try:
        wait_for(lambda: restore(path_for(h.cfg), area.run_tag).fills_seq >= last, 30, "the state stored")
    except TimeoutError:
        raise AssertionError(f"state stored fills up to {restore(path_for(h.cfg), area.run_tag).fills_seq}, "
                             f"the ring holds up to {last}; state log: {h.log('state')[-1500:]}") from None


def check_stored_and_risk(h, venue: dict, where: str) -> None:
    """The state holds each of the venue's trades once, and the risk state's position and fill
    count are the venue's."""
    db = sqlite3.connect(path_for(h.cfg))
    try:
        rows = db.execute("SELECT trade_id, COUNT(*) FROM fills GROUP BY symbol, trade_id").fetchall()
    finally:
        db.close()
    twice = [t for t, n in rows if n > 1]
    assert not twice, f"{where}: trade ids stored twice: {twice}"
    assert sorted(t for t, _ in rows) == sorted(venue), f"{where}: stored fills are not the venue's"
    risk = RiskState.attach(h.control.risk_buffer())
    assert int(risk.symbols[0]["position_e8"]) == sum(q for q, _ in venue.values()), f"{where}: risk state position"
    assert int(risk.symbols[0]["fills"]) == len(venue), f"{where}: risk state counted a fill twice or lost one"


def check(h, where: str, whole: bool = False) -> None:
    """``whole``: the instance was restarted, its fills ring holds this run's fills only."""
    venue = venue_trades(h)
    pos = sum(q for q, _ in venue.values())
    by_strategy = {}
    for q, sid in venue.values():
        by_strategy[sid] = by_strategy.get(sid, 0) + q
    area = TradingArea(h.control.risk_buffer())
    back = restore(path_for(h.cfg), area.run_tag)
    check_stored_and_risk(h, venue, where)
    stored = {sid: p.get("BTCUSDT", 0) for sid, p in back.by_strategy.items()}
    assert {k: v for k, v in stored.items() if v} == {k: v for k, v in by_strategy.items() if v}, \
        f"{where}: stored positions"
    assert strategy_position(h) == by_strategy.get(1, 0), f"{where}: the strategy's position"
    if "strategy-pas" in h.roles:
        assert strategy_position(h, "strategy-pas") == by_strategy.get(2, 0), f"{where}: the passive strategy's position"
    print(f"{where}: {len(venue)} venue trades, position {pos}, stored {back.n_fills}")
    if not whole:
        reps = reports(h.instance)
        assert set(reps[reps["exec_type"] == F.EX_TRADE]["trade_id"].tolist()) == set(venue), f"{where}: a fill lost"


def run_kills(instance, kills: int, seed: int) -> None:
    print(f"seed {seed} (HFTSHM_TEST_SEED={seed} replays these kills)")
    rng = random.Random(seed)
    strategies = [{"name": "churn", "kind": "file", "path": str(HERE / "churn_strategy.py"), "class": "Churn",
                   "symbols": ["btcusdt"], "every_ms": 150, "id": 1}]
    kw = dict(symbols=("btcusdt",), sim_rate=1500, orders_per_10s=1000,
              risk={"max_orders_per_s": 6, "max_orders_per_s_total": 6, "max_position": 1},
              execution={"timeout_ms": 300, "recv_window_ms": 500})
    h = Harness(instance, strategies, **kw)
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        wait_for(lambda: h.counters("execution")["fills"] >= 3, 90, "3 fills")
        for k in range(kills):
            victim = VICTIMS[k % len(VICTIMS)] if k < len(VICTIMS) else rng.choice(VICTIMS)
            time.sleep(rng.uniform(0.2, 1.5))  # a random point under load
            if victim == "instance":
                sim = h.crash()  # every worker kill -9'd at once; the venue goes on
                h = Harness(instance, strategies, log_dir=str(h.log_dir), sim=sim, **kw)
                h.start()
                h.wait_running(list(h.roles), timeout=120)
            else:
                h.kill(victim, signal.SIGKILL)
                h.spawn(victim)
                h.wait_running([victim], timeout=60)
            resume(h)
            fills = h.counters("execution")["fills"]
            try:
                wait_for(lambda: h.counters("execution")["fills"] > fills, 60, f"fills after restarting {victim}")
            except TimeoutError:
                raise AssertionError(f"no fills after restarting {victim} (kill {k + 1}, seed {seed}): trading "
                                     f"{R.state_name(h.control.trading_state)} ({R.name(h.control.trading_reason)}), "
                                     f"execution {h.counters('execution')}") from None
            settle(h)
            check(h, f"kill {k + 1} ({victim}, seed {seed})", whole=victim == "instance" or h.reused_sim)
            resume(h)
    finally:
        h.stop()


def test_kill_9_of_each_trading_worker_keeps_positions(instance):
    run_kills(instance, len(VICTIMS), seed=int(os.environ.get("HFTSHM_TEST_SEED", "1")))


@pytest.mark.stress
def test_kill_9_twenty_times_keeps_positions(instance):
    run_kills(instance, 20, seed=int(os.environ.get("HFTSHM_TEST_SEED", str(time.time_ns() % 10_000))))


def fill_while_down(sim, prefix: str) -> int:
    """A taker trades through one of our resting orders (client ids ``prefix...``) while no
    instance runs: the venue fills it whole, with a trade id of its market. Returns the trade id."""
    def fill():
        venue = sim.sim.venue
        order = next(o for o in venue.engine.open_orders() if o.client_id.startswith(prefix))
        market = venue.markets[order.spec.stream_symbol]
        tid = market.next_trade_id
        market.next_trade_id += 1
        now_ms = time.time_ns() // 1_000_000
        venue.engine._fill(order, order.price_px, order.orig_lots - order.exec_lots, tid, True, now_ms)
        venue.engine._finish(order)
        return tid
    return sim.call(fill)


def test_whole_instance_killed_and_restarted_keeps_positions_and_reconciles(instance):
    """Every worker of the instance killed at once with orders resting at the venue; one of them
    fills while nothing runs; a new instance of the same name and data dir, against the same
    (still running) venue: the risk state and the strategies start from the persisted fills,
    the fill made while down is fetched and counted once (risk state, strategy, state), order
    counters go on, the earlier run's other resting orders are cancelled by reconciliation
    before trading, and after more trading everything still equals the venue's record."""
    strategies = [{"name": "churn", "kind": "file", "path": str(HERE / "churn_strategy.py"), "class": "Churn",
                   "symbols": ["btcusdt"], "every_ms": 150, "id": 1},
                  {"name": "pas", "kind": "file", "path": str(HERE / "passive_strategy.py"), "class": "Passive",
                   "symbols": ["btcusdt"], "every_ms": 400, "id": 2}]
    kw = dict(symbols=("btcusdt",), sim_rate=1500, orders_per_10s=1000, execution={"timeout_ms": 300},
              risk={"max_orders_per_s": 6, "max_orders_per_s_total": 8, "max_position": 1})
    h = Harness(instance, strategies, **kw)
    sim = None
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        wait_for(lambda: h.counters("execution")["fills"] >= 4 and h.counters("execution")["acked"] >= 8, 90,
                 "fills and resting orders")
        area = TradingArea(h.control.risk_buffer())
        for _ in range(20):  # crash with a position open and orders resting, so that it means something
            protection.command(h.control, killswitch.HALT)  # no cancel: the GTC orders keep resting
            wait_for(lambda: all(int(area.slots[i]["strategy_id"]) == 2 for i in area.live()), 30, "the IOCs ended")
            time.sleep(0.3)
            if strategy_position(h) and area.live():  # a position, and GTC orders resting
                break
            fills = h.counters("execution")["fills"]
            resume(h)
            wait_for(lambda: h.counters("execution")["fills"] > fills, 60, "another fill")
        assert strategy_position(h), "the strategy never held a position"
        last = int(reports(h.instance)["seq"][-1])
        wait_for(lambda: restore(path_for(h.cfg), area.run_tag).fills_seq >= last, 30, "the state stored")
        first_tag, resting = area.run_tag, len(area.live())
        assert resting >= 1
        check(h, "before the crash")
        sim = h.crash()
    finally:
        if sim is None:
            h.stop()
    prefix = clientid.tag(first_tag) + "-"
    down_tid = fill_while_down(sim, prefix)
    h2 = Harness(instance, strategies, log_dir=str(h.log_dir), sim=sim, **kw)
    try:
        h2.start()
        h2.wait_running(list(h2.roles), timeout=120)
        wait_for(lambda: h2.counters("execution")["reconciled"] == resting - 1, 30, "the earlier run's orders cancelled")
        left = h2.sim.call(lambda: [o.client_id for o in h2.sim.sim.venue.engine.open_orders()])
        assert not [c for c in left if c.startswith(prefix)], "an earlier run's order still rests at the venue"
        assert h2.counters("execution")["recovered_fills"] == 1, "the fill made while down was not fetched once"
        settle(h2)
        check(h2, "after the restart", whole=True)
        db = sqlite3.connect(path_for(h2.cfg))
        try:
            assert db.execute("SELECT COUNT(*) FROM fills WHERE trade_id = ?", (down_tid,)).fetchone()[0] == 1
        finally:
            db.close()
        resume(h2)
        fills = h2.counters("execution")["fills"]
        wait_for(lambda: h2.counters("execution")["fills"] >= fills + 3, 90, "fills in the new run")
        settle(h2)
        check(h2, "after more trading", whole=True)
        db = sqlite3.connect(path_for(h2.cfg))
        try:
            runs = db.execute("SELECT run_tag, MIN(order_id & 0xffffffffff), MAX(order_id & 0xffffffffff)"
                              " FROM orders WHERE strategy_id = 1 GROUP BY run_tag ORDER BY MIN(rowid)").fetchall()
        finally:
            db.close()
        assert len(runs) == 2 and runs[1][1] > runs[0][2], f"order counters did not go on: {runs}"
    finally:
        h2.stop()
