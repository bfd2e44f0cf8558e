"""End to end on the simulator: the instrument rules come from its exchangeInfo. Its BTCUSDT tick
is set to 0.1 by its config (Binance's is 0.01); the momentum strategy's prices follow (all on
0.1) and reach the venue, while a strategy that rounds onto 0.01 by itself is refused by
execution's pre-trade gate (INSTRUMENT_PRICE) before the venue sees it. Forbidden: an order at
the venue off the served tick."""

import json
import os
from pathlib import Path

import pytest

from hftshm.exchange.config import ExchangeConfig
from hftshm.exchange.thread import SimThread
from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.trading import instruments
from hftshm.trading.area import TradingArea
from hftshm.launch.trading_instance import TradingInstance as Harness

from ._checks import intents, reports, wait_for

HERE = Path(__file__).parent
TICK = 10_000_000  # 0.1


@pytest.fixture(scope="module")
def run():
    inst = f"ti{os.getpid()}"
    sim = SimThread(ExchangeConfig(port=0, symbols=("btcusdt",), rate=1500, ticks=(("btcusdt", "0.1"),)))
    strategies = [
        {"name": "mom", "kind": "momentum", "symbols": ["btcusdt"], "short": 3, "long": 12, "cooldown_ms": 50,
         "qty": "0.0002"},
        {"name": "pas", "kind": "file", "path": str(HERE / "passive_strategy.py"), "class": "Passive",
         "every_ms": 40},
    ]
    h = Harness(inst, strategies, symbols=("btcusdt",), sim=sim,
                risk={"max_orders_per_s": 50, "max_orders_per_s_total": 50, "price_band_bps": 200})
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        yield h
    finally:
        h.stop()


def test_rules_come_from_exchange_info_and_orders_follow_them(run):
    h = run
    (rules,) = instruments.load(h.cfg)
    assert (rules.symbol, rules.tick_e8, rules.step_e8) == ("BTCUSDT", TICK, 1_000)  # the served tick, not 0.01
    area = TradingArea(h.control.risk_buffer())
    wait_for(lambda: area.rejects[R.INSTRUMENT_PRICE] >= 3 and h.counters("execution")["acked"] >= 3, 90,
             "3 off-tick orders refused and 3 orders acknowledged")
    orders = intents(h.instance)
    mom = orders[(orders["strategy_id"] == 1) & (orders["action"] == O.NEW)]
    assert len(mom) >= 1 and (mom["price_e8"] % TICK == 0).all()  # the strategy rounded on the venue's tick
    new = orders[orders["action"] == O.NEW]
    off_tick = set(new[new["price_e8"] % TICK != 0]["order_id"].tolist())
    assert off_tick

    def refused():
        reps = reports(h.instance)
        return set(reps[reps["exec_type"] == F.EX_REJECTED]["order_id"].tolist())

    # every off-tick intent refused before the venue: by the rules (INSTRUMENT_PRICE, counted
    # above), or by an earlier check if one refused it first (HALTED on a loaded machine, ...)
    wait_for(lambda: off_tick <= refused(), 60, "every off-tick intent refused")
    reps = reports(h.instance)
    by_rules = set(reps[(reps["exec_type"] == F.EX_REJECTED) & (reps["reason"] == R.INSTRUMENT_PRICE)]["order_id"].tolist())
    seen = set(new["order_id"].tolist())  # the intents read above (more have come since)
    assert len(by_rules & off_tick) >= 3 and by_rules & seen <= off_tick  # the rules refused off-tick orders only
    # ...and none reached the venue: it never had to refuse one with a filter failure (-1013)
    assert not (reps["reason"] == R.VENUE_FILTER).any()
    acked = set(reps[reps["exec_type"] == F.EX_NEW]["order_id"].tolist())
    assert acked and not acked & off_tick


def test_the_rules_refresh_is_counted(run):
    h = run
    c = h.counters("execution")
    assert c["rules_failed"] == 0 and "rules_ok" in c  # default period 300 s: no refresh yet, none failed


def test_start_without_rules_fails_and_names_the_venue_url(tmp_path):
    """``hftshm start`` whose exchangeInfo cannot be fetched does not trade: the start fails
    (exit 1) naming the URL, and leaves nothing in /dev/shm."""
    import subprocess
    import sys

    from hftshm.runtime import verdict

    name = f"tn{os.getpid()}"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'instance = "{name}"\ndata_dir = "{tmp_path / "runs"}"\n'
                   '[venue]\nsymbols = ["btcusdt"]\nrest_url = "http://127.0.0.1:1"\n')
    out = subprocess.run([sys.executable, "-m", "hftshm.cli", "start", "--headless", "--duration", "5",
                          "--config", str(cfg)], capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode == verdict.START_FAILED, text
    assert "instrument rules: GET http://127.0.0.1:1/api/v3/exchangeInfo" in text, text
    assert "no trading without them" in text
    assert not (tmp_path / "runs" / name / "instruments.json").exists()
    assert [f for f in os.listdir("/dev/shm") if f".{name}." in f] == []


def test_execution_refreshes_the_rules_and_keeps_them_when_the_venue_is_gone(tmp_path):
    """``[venue] instruments_refresh_s = 1``: execution refetches (counted ``rules_ok``); once the
    venue is unreachable each refresh fails (``rules_failed``), the last rules stay in the file
    and execution keeps running."""
    inst = f"tr{os.getpid()}"
    h = Harness(inst, [{"name": "mom", "kind": "momentum", "symbols": ["btcusdt"]}], symbols=("btcusdt",),
                venue={"instruments_refresh_s": 1.0}, log_dir=str(tmp_path))
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        wait_for(lambda: h.counters("execution")["rules_ok"] >= 2, 30, "two refreshes")
        before = instruments.load(h.cfg)
        h.sim.close()  # the venue goes away (its REST answer with it)
        h.sim = None
        wait_for(lambda: h.counters("execution")["rules_failed"] >= 2, 30, "two failed refreshes")
        assert instruments.load(h.cfg) == before
        assert h.procs["execution"].poll() is None
        assert "instrument rules refresh failed" in h.log("execution")
    finally:
        h.stop()


def test_start_takes_the_rules_the_simulator_serves_by_config(tmp_path):
    """``hftshm start`` with ``[sim] ticks = "btcusdt=0.1"``: the rules file says 0.1 (fetched
    from the simulator's exchangeInfo), and every order the strategy made is on that tick."""
    import subprocess
    import sys

    from hftshm.journal import files

    name = f"tk{os.getpid()}"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'instance = "{name}"\ndata_dir = "{tmp_path / "runs"}"\n'
                   '[venue]\nsymbols = ["btcusdt"]\n[sim]\nrate = 2000\nticks = "btcusdt=0.1"\n'
                   '[risk]\nmax_feed_age_s = 60.0\n'
                   '[[strategies]]\nname = "m"\nkind = "momentum"\nshort = 3\nlong = 12\ncooldown_ms = 100\n')
    out = subprocess.run([sys.executable, "-m", "hftshm.cli", "start", "--headless", "--duration", "12",
                          "--config", str(cfg)], capture_output=True, text=True, timeout=400)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "BTCUSDT tick 0.1 step 1e-05" in text, text
    rules = json.loads((tmp_path / "runs" / name / "instruments.json").read_text())["symbols"]["BTCUSDT"]
    assert rules["tick_e8"] == TICK
    _, orders = files.load_ring(tmp_path / "runs" / name / "journal" / "orders")
    new = orders[orders["action"] == O.NEW]
    assert len(new) >= 1 and (new["price_e8"] % TICK == 0).all()
    assert [f for f in os.listdir("/dev/shm") if f".{name}." in f] == []
